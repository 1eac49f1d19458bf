/**
 * `deno task marathon` as a real child process for tests: started on a free port (port 0, the
 * URL read from the line it prints), killed with a signal, started again with the same flags.
 */
import { TenderProcess, waitFor } from "./cluster.ts";
import { call } from "./marathon_api.ts";

/** One Marathon process. */
export class MarathonProcess {
  readonly process: TenderProcess;
  /** The API's base URL once started (`http://127.0.0.1:port`). */
  url = "";

  /** `port` defaults to 0 (a free one); `wrap` prefixes the command (see `TenderProcess`). */
  constructor(
    name: string,
    args: string[],
    options: { port?: number; wrap?: readonly string[] } = {},
  ) {
    this.process = new TenderProcess(
      name,
      "frameworks/marathon/main.ts",
      ["--port", String(options.port ?? 0), ...args],
      { wrap: options.wrap },
    );
  }

  /** Starts the process and resolves with its URL once it prints it and answers `/ping`. */
  async start(timeoutMs = 60_000): Promise<string> {
    const seen = this.process.log.length;
    this.process.start();
    this.url = await waitFor(`${this.process.name} to print its URL`, () => {
      const m = /API on (http:\/\/\S+),/.exec(this.process.log.slice(seen).join(""));
      return m?.[1];
    }, timeoutMs);
    await waitFor(`${this.process.name} to answer /ping`, async () => {
      const r = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(2000) });
      return (await r.text()) === "pong";
    }, timeoutMs);
    return this.url;
  }

  /** `host:port`, as `/v2/leader` names a Marathon. */
  get hostPort(): string {
    return new URL(this.url).host;
  }

  /** Who this Marathon says leads (`host:port`), or undefined while it knows none. */
  async leader(): Promise<string | undefined> {
    const r = await call(`${this.url}/v2/leader`);
    return r.status === 200 ? r.json.leader : undefined;
  }

  /** Sends the signal (default SIGKILL) and waits for the process to exit. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    await this.process.kill(signal);
  }
}

/**
 * Waits until every Marathon names the same leader, and answers it (which one of `marathons`,
 * and the others).
 */
export async function agreedLeader(
  marathons: readonly MarathonProcess[],
  timeoutMs = 30_000,
): Promise<{ leader: MarathonProcess; standbys: MarathonProcess[] }> {
  return await waitFor("the Marathons to agree on a leader", async () => {
    const named = await Promise.all(marathons.map((m) => m.leader()));
    const first = named[0];
    if (first === undefined || named.some((n) => n !== first)) return false;
    const leader = marathons.find((m) => m.hostPort === first);
    return leader ? { leader, standbys: marathons.filter((m) => m !== leader) } : false;
  }, timeoutMs);
}
