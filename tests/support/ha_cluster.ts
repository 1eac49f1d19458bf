/**
 * A highly available control plane as real processes on loopback: a real etcd cluster, N masters
 * on it (`--store etcd://…`), and agents given every master's URL. Masters can be killed, paused
 * and resumed; `stop()` ends everything, tasks included, and removes the dirs.
 */
import { freePort, killProcessTasks, TenderProcess, waitFor } from "./cluster.ts";
import { EtcdCluster } from "./etcd_cluster.ts";
import { killStrays } from "./strays.ts";

/** `/health` of a master on etcd. */
interface Health {
  role: "leader" | "standby";
  leader: string | null;
}

/** etcd, masters and agents. */
export class HaCluster {
  readonly masters: TenderProcess[] = [];
  readonly masterUrls: string[] = [];
  readonly agents: TenderProcess[] = [];

  private constructor(readonly root: string, readonly etcd: EtcdCluster) {}

  /** The comma-separated list clients are given. */
  get masterList(): string {
    return this.masterUrls.join(",");
  }

  /** Starts etcd (3 members unless told) and `masters` masters, and waits for a leader. */
  static async start(
    options: { masters?: number; etcdMembers?: number; masterArgs?: string[]; dnsPort?: number } =
      {},
  ): Promise<HaCluster> {
    const root = await Deno.makeTempDir({ prefix: "tender-ha-" });
    const etcd = await EtcdCluster.start({ size: options.etcdMembers ?? 3 });
    const cluster = new HaCluster(root, etcd);
    try {
      for (let i = 0; i < (options.masters ?? 3); i++) {
        const port = freePort();
        const url = `http://127.0.0.1:${port}`;
        cluster.masterUrls.push(url);
        cluster.masters.push(
          new TenderProcess(`master-${i}`, "master/main.ts", [
            ...["--port", String(port), "--work-dir", `${root}/master-${i}`],
            ...["--store", etcd.url("tender"), "--registry-port", "off"],
            // Every master names the same DNS port: only the leader binds it.
            ...["--dns-port", String(options.dnsPort ?? "off")],
            ...["--log-level", "info", ...(options.masterArgs ?? [])],
          ]),
        );
      }
      for (const m of cluster.masters) m.start();
      // Three masters and etcd starting at once on a loaded 2-core machine: give them time.
      await cluster.waitForLeader({ timeoutMs: 60_000 });
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** A master's `/health`, or undefined when it does not answer. */
  async health(i: number): Promise<Health | undefined> {
    try {
      const r = await fetch(`${this.masterUrls[i]}/health`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? await r.json() : (await r.body?.cancel(), undefined);
    } catch {
      return undefined;
    }
  }

  /** The index of the one master that says it leads (and that the others follow), if any. */
  async leader(): Promise<number | undefined> {
    const healths = await Promise.all(this.masterUrls.map((_, i) => this.health(i)));
    const leaders = healths.flatMap((h, i) => (h?.role === "leader" ? [i] : []));
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  /** Waits until exactly one master leads (other than `not`), and returns its index. */
  async waitForLeader(options: { not?: number; timeoutMs?: number } = {}): Promise<number> {
    return await waitFor("one leading master", async () => {
      const i = await this.leader();
      return i !== undefined && i !== options.not ? i : undefined;
    }, options.timeoutMs ?? 30_000);
  }

  /**
   * Starts an agent that knows every master (or, given `master`, finds them so: e.g. the
   * masters' `etcd://…` store), and waits until the leader lists it active.
   */
  async addAgent(extraArgs: string[] = [], master = this.masterList): Promise<TenderProcess> {
    const n = this.agents.length;
    const agent = new TenderProcess(`agent-${n}`, "agent/main.ts", [
      ...["--master", master, "--port", String(freePort())],
      ...["--work-dir", `${this.root}/agent-${n}`, "--hostname", `agent-${n}.test`],
      ...["--containerizer", "process", ...extraArgs],
    ]);
    agent.start();
    this.agents.push(agent);
    await waitFor(`agent-${n} to register`, async () => {
      const state = await this.state();
      return state?.slaves.some((s: { hostname: string; active: boolean }) =>
        s.hostname === `agent-${n}.test` && s.active
      );
    });
    return agent;
  }

  /** The last lines each master logged, for the message of a failed wait. */
  logs(lines = 20): string {
    return this.masters.map((m) =>
      `--- ${m.name}\n${m.log.join("").split("\n").slice(-lines).join("\n")}`
    ).join("\n");
  }

  /** The leading master's `/master/state` (undefined while none leads). */
  // deno-lint-ignore no-explicit-any -- the Mesos-shaped state is read loosely by tests
  async state(): Promise<any> {
    const i = await this.leader();
    if (i === undefined) return undefined;
    const r = await fetch(`${this.masterUrls[i]}/master/state`, {
      signal: AbortSignal.timeout(10_000),
    });
    return await r.json();
  }

  async stop(): Promise<void> {
    for (const a of this.agents) await a.kill("SIGKILL");
    for (const m of this.masters) {
      try {
        m.signal("SIGCONT"); // a paused master must wake to die
      } catch { /* it exited by itself */ }
      await m.kill("SIGKILL");
    }
    await this.etcd.close();
    await killProcessTasks(this.root);
    await killStrays(this.root);
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
