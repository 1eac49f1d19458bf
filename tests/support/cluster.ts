/**
 * Real Tender processes for integration tests: a master and agents as child processes on
 * loopback, on free ports, with temporary work dirs; each can be killed with a signal and
 * restarted on the same work dir. Everything is stopped by `stop()`.
 */

/** A port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Polls `check` until it returns a value (not undefined, null or false) or the deadline passes.
 * null counts as not yet: JSON answers say "not set" with it (`/v2/info`'s `frameworkId`).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      // A check that hangs (a peer that accepts but never answers) must not outlive the deadline.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      });
      const value = await Promise.race([check(), expired]).finally(() => clearTimeout(timer));
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ""}`,
  );
}

/**
 * One Tender process (master or agent) that can be killed and started again. `wrap` prefixes
 * its command (e.g. `ip netns exec NS`, which execs it: the pid and signals are the process's).
 */
export class TenderProcess {
  #child: Deno.ChildProcess | undefined;
  #output: Promise<void> | undefined;
  #exit: Deno.CommandStatus | undefined;
  readonly log: string[] = [];
  readonly wrap: readonly string[];

  constructor(
    readonly name: string,
    readonly script: string,
    readonly args: string[],
    options: { wrap?: readonly string[] } = {},
  ) {
    this.wrap = options.wrap ?? [];
  }

  start(): void {
    const [command, ...args] = [
      ...this.wrap,
      ...[Deno.execPath(), "run", "-A", "--unstable-kv", this.script, ...this.args],
    ];
    this.#child = new Deno.Command(command!, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const child = this.#child;
    this.#exit = undefined;
    child.status.then((status) => {
      if (this.#child === child) this.#exit = status;
    });
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const line of stream.pipeThrough(new TextDecoderStream())) this.log.push(line);
    };
    this.#output = Promise.all([collect(this.#child.stdout), collect(this.#child.stderr)]).then(
      () => {},
    );
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How the process last started ended (undefined while it runs): a crash, or a kill. */
  get exited(): Deno.CommandStatus | undefined {
    return this.#exit;
  }

  signal(signal: Deno.Signal): void {
    this.#child?.kill(signal);
  }

  /** Sends the signal and waits for the process to exit. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
    await this.#output;
    this.#child = undefined;
  }
}

/** A master plus agents, as real processes. */
export class Cluster {
  readonly masterPort = freePort();
  readonly masterUrl = `http://127.0.0.1:${this.masterPort}`;
  readonly master: TenderProcess;
  readonly agents: TenderProcess[] = [];
  readonly #dirs: string[] = [];

  private constructor(readonly root: string, masterArgs: string[]) {
    this.#dirs.push(root);
    this.master = new TenderProcess("master", "master/main.ts", [
      "--port",
      String(this.masterPort),
      "--work-dir",
      `${root}/master`,
      "--dns-port",
      "0",
      "--registry-port",
      "off",
      ...masterArgs,
    ]);
  }

  /** Starts a master (with extra flags) and waits until it answers. */
  static async start(masterArgs: string[] = []): Promise<Cluster> {
    const cluster = new Cluster(await Deno.makeTempDir({ prefix: "tender-test-" }), masterArgs);
    cluster.master.start();
    await cluster.waitForMaster();
    return cluster;
  }

  async waitForMaster(): Promise<void> {
    await waitFor("the master to answer", async () => {
      const r = await fetch(`${this.masterUrl}/health`, { signal: AbortSignal.timeout(5000) });
      await r.body?.cancel();
      return r.ok;
    });
  }

  /** Starts an agent (with extra flags) and waits until the master lists it as active. */
  async addAgent(extraArgs: string[] = []): Promise<TenderProcess> {
    const n = this.agents.length;
    const port = freePort();
    const agent = new TenderProcess(`agent-${n}`, "agent/main.ts", [
      "--master",
      this.masterUrl,
      "--port",
      String(port),
      "--work-dir",
      `${this.root}/agent-${n}`,
      "--hostname",
      `agent-${n}.test`,
      ...extraArgs,
    ]);
    agent.start();
    this.agents.push(agent);
    await waitFor(`agent-${n} to register`, async () => {
      const state = await this.state();
      return state.slaves.some((s: { hostname: string; active: boolean }) =>
        s.hostname === `agent-${n}.test` && s.active
      );
    });
    return agent;
  }

  // deno-lint-ignore no-explicit-any -- the Mesos-shaped state is read loosely by tests
  async state(): Promise<any> {
    const r = await fetch(`${this.masterUrl}/master/state`, {
      signal: AbortSignal.timeout(10_000),
    });
    return await r.json();
  }

  async stop(): Promise<void> {
    for (const a of this.agents) await a.kill("SIGKILL");
    await this.master.kill("SIGKILL");
    await killProcessTasks(this.root);
    for (const d of this.#dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

/** Tasks of the process containerizer run in their own process groups: end every group. */
export async function killProcessTasks(root: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path).catch(() => {});
      else if (entry.name === "meta.json") {
        const meta = JSON.parse(await Deno.readTextFile(path));
        if (typeof meta.pid === "number") {
          try {
            Deno.kill(-meta.pid, "SIGKILL");
          } catch { /* already gone */ }
        }
      }
    }
  };
  await walk(root).catch(() => {});
}
