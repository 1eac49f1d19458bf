/**
 * `deno task jobs` as a real child process for tests: started on a free port (port 0, the URL
 * read from the line it prints), killed with a signal, started again on the same work dir.
 */
import { TenderProcess, waitFor } from "./cluster.ts";

/** One jobs framework process. */
export class JobsProcess {
  readonly process: TenderProcess;
  /** The API's base URL once started (`http://127.0.0.1:port`). */
  url = "";

  /** `args` are passed on (`--master`, `--work-dir`, …); the port is a free one. */
  constructor(name: string, args: string[], options: { port?: number } = {}) {
    this.process = new TenderProcess(
      name,
      "frameworks/jobs/main.ts",
      ["--port", String(options.port ?? 0), ...args],
    );
  }

  /** Starts the process; resolves with its URL once it answers `/ping`. */
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

  /** Sends the signal (default SIGKILL) and waits for the process to exit. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    await this.process.kill(signal);
  }
}
