/** What a command may touch: its output streams, the environment and the network. */

/** The effects a command runs with; tests pass their own. */
export interface Io {
  /** Writes to standard output, as is (add the line feed). */
  out(text: string): void;
  /** Writes to standard error, as is. */
  err(text: string): void;
  env(name: string): string | undefined;
  fetch: typeof fetch;
  /** Aborted on Ctrl-C, so `--follow` ends cleanly. */
  signal: AbortSignal;
  /** Whether standard error is a terminal (progress bars redraw in place). */
  isTerminal(): boolean;
  /** Reads all of standard input (`auth hash`); absent where there is none. */
  stdin?(): Promise<string>;
}

/** The real process's effects. */
export function processIo(signal: AbortSignal): Io {
  const encoder = new TextEncoder();
  return {
    out: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
    err: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
    env: (name) => Deno.env.get(name),
    fetch: globalThis.fetch,
    signal,
    isTerminal: () => Deno.stderr.isTerminal(),
    stdin: () => new Response(Deno.stdin.readable).text(),
  };
}
