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
  /**
   * Reads standard input (`auth hash`) up to `maxBytes` (more is not read: the answer is then
   * longer than `maxBytes`); absent where there is none.
   */
  stdin?(maxBytes: number): Promise<string>;
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
    stdin: (maxBytes) => readLimited(Deno.stdin.readable, maxBytes),
  };
}

/** The text of `stream` up to a little past `maxBytes`, then the stream is let go. */
async function readLimited(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    while (size <= maxBytes) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}
