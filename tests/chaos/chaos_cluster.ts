/**
 * The chaos suite's cluster on namespace hosts (tests/support/host_cluster.ts): three control
 * hosts, each with an etcd member and a master on it (`--store etcd://…`, a short
 * `--agent-timeout`), Marathons on the first two (on etcd too), the router on the third, and
 * four agent hosts with the process containerizer. It knows who leads, restarts what a fault
 * killed (as a supervisor would) and reads every view the checks compare: Marathon's, the
 * leading master's, each agent's own, and what really runs (ground_truth.ts).
 *
 * ```
 *   h1: etcd m0, master-1, marathon-1     h4: agent-1
 *   h2: etcd m1, master-2, marathon-2     h5: agent-2
 *   h3: etcd m2, master-3, router-1       h6: agent-3      h7: agent-4
 * ```
 */
import { waitFor } from "../support/cluster.ts";
import { HostCluster, type Node } from "../support/host_cluster.ts";
import type { Host } from "../support/hosts.ts";
import { z } from "zod";
import { type RunningTask, runningTasks } from "./ground_truth.ts";
import type { Violation } from "./violation.ts";
import {
  type AgentState,
  AgentStateSchema,
  getJson,
  type MarathonApp,
  MarathonAppsSchema,
  type MarathonTask,
  MarathonTasksSchema,
  type MasterState,
  MasterStateSchema,
} from "./views.ts";

const LeaderSchema = z.object({ leader: z.string() });
const InfoSchema = z.object({ frameworkId: z.string().nullable().optional() });

/** Options of `ChaosCluster.start()`. */
export interface ChaosClusterOptions {
  /** The masters' `--agent-timeout`, in seconds (agents heartbeat every second). */
  agentTimeoutSeconds: number;
}

/** Everything the checks compare, read at about one moment (ground truth first). */
export interface Snapshot {
  /** `Date.now()` when the reading started. */
  at: number;
  /** Task processes on each agent host (`host` is the agent's name). */
  running: RunningTask[];
  /** Every instance Marathon knows (`/v2/tasks`), or undefined when no Marathon answered. */
  marathonTasks?: MarathonTask[];
  /** `/v2/apps?embed=apps.tasks` (tasks: the active instances), read after `marathonTasks`. */
  apps?: MarathonApp[];
  /** The leading master's `/master/state`, or undefined while none answers as leader. */
  master?: MasterState;
  /** Each agent's own `/state` by name (undefined: it did not answer); only when asked. */
  agents?: Map<string, AgentState | undefined>;
}

const CONTROL = ["h1", "h2", "h3"] as const;
const AGENT_HOSTS = ["h4", "h5", "h6", "h7"] as const;

/** The chaos topology, started. */
export class ChaosCluster {
  #leader: Node | undefined;

  private constructor(readonly cluster: HostCluster, readonly options: ChaosClusterOptions) {}

  /** Starts every node; on a failure half-way, closes what it started. */
  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const cluster = await HostCluster.start({ names: [...CONTROL, ...AGENT_HOSTS] });
    const chaos = new ChaosCluster(cluster, options);
    try {
      await cluster.startEtcd(CONTROL);
      const masterArgs = [
        ...["--agent-timeout", String(options.agentTimeoutSeconds), "--heartbeat-interval", "1"],
      ];
      await Promise.all(CONTROL.map((h) => cluster.master(h, { etcd: true, args: masterArgs })));
      await cluster.waitForLeader();
      await Promise.all(AGENT_HOSTS.map((h) =>
        cluster.agent(h, {
          args: ["--resources", "cpus:8;mem:8192;disk:8192;ports:[31000-31999]"],
        })
      ));
      await Promise.all(["h1", "h2"].map((h) => cluster.marathon(h, { etcd: true })));
      await cluster.router("h3");
      await waitFor("a Marathon to lead and subscribe", async () => {
        const leader = await chaos.marathonLeader();
        if (!leader) return false;
        const info = InfoSchema.safeParse(await getJson(`${leader.url}/v2/info`));
        return info.success && info.data.frameworkId;
      }, 60_000);
      return chaos;
    } catch (e) {
      await chaos.close();
      throw e;
    }
  }

  get masters(): Node[] {
    return this.cluster.masters;
  }

  get agents(): Node[] {
    return this.cluster.agents;
  }

  get marathons(): Node[] {
    return this.cluster.nodes.filter((n) => n.kind === "marathon");
  }

  get routers(): Node[] {
    return this.cluster.nodes.filter((n) => n.kind === "router");
  }

  /** The Marathons' URLs, for the API client. */
  get marathonUrls(): string[] {
    return this.marathons.map((m) => m.url);
  }

  /** The hosts that run control nodes (etcd member i runs on `controlHosts[i]`). */
  get controlHosts(): Host[] {
    return CONTROL.map((h) => this.cluster.host(h));
  }

  get agentHosts(): Host[] {
    return AGENT_HOSTS.map((h) => this.cluster.host(h));
  }

  /** The agent running on a host (undefined for control hosts). */
  agentOn(host: Host): Node | undefined {
    return this.agents.find((a) => a.host.name === host.name);
  }

  /** The master that leads now, if exactly one says so. */
  async leadingMaster(): Promise<Node | undefined> {
    const leader = await this.cluster.leader();
    if (leader) this.#leader = leader;
    return leader;
  }

  /** The Marathon every answering Marathon names as leader, if they agree. */
  async marathonLeader(): Promise<Node | undefined> {
    const named = await Promise.all(this.marathons.map(async (m) => {
      const body = LeaderSchema.safeParse(await getJson(`${m.url}/v2/leader`, 2000));
      return body.success ? body.data.leader : undefined;
    }));
    const answers = named.filter((n) => n !== undefined);
    if (answers.length === 0 || answers.some((n) => n !== answers[0])) return undefined;
    return this.marathons.find((m) => new URL(m.url).host === answers[0]);
  }

  /** Reads every view; `agents` only with `withAgents` (the final checks). */
  async snapshot(options: { withAgents?: boolean } = {}): Promise<Snapshot> {
    const at = Date.now();
    const netns = new Map(
      this.agents.map((a) => [a.name, a.host.netns!] as const),
    );
    const running = await runningTasks(netns);
    const marathonTasks = await this.#marathon("/v2/tasks", MarathonTasksSchema);
    const apps = await this.#marathon("/v2/apps?embed=apps.tasks", MarathonAppsSchema);
    const master = await this.masterState();
    const snapshot: Snapshot = {
      at,
      running,
      ...(marathonTasks ? { marathonTasks: marathonTasks.tasks } : {}),
      ...(apps ? { apps: apps.apps } : {}),
      ...(master ? { master } : {}),
    };
    if (options.withAgents) {
      snapshot.agents = new Map(
        await Promise.all(this.agents.map(async (a) => [a.name, await agentState(a)] as const)),
      );
    }
    return snapshot;
  }

  /** The leading master's state (the last one seen leading is asked first). */
  async masterState(): Promise<MasterState | undefined> {
    const last = this.#leader;
    if (last && (await this.cluster.health(last))?.role === "leader") {
      const state = MasterStateSchema.safeParse(await getJson(`${last.url}/master/state`, 5000));
      if (state.success) return state.data;
    }
    const leader = await this.leadingMaster();
    if (!leader || leader === last) return undefined;
    const state = MasterStateSchema.safeParse(await getJson(`${leader.url}/master/state`, 5000));
    return state.success ? state.data : undefined;
  }

  /**
   * Starts a node again after a fault killed it (as a supervisor would) and waits until it
   * answers: an agent its `/health`, others their API. Retries a start that fails; throws
   * after three.
   */
  async restart(node: Node): Promise<void> {
    let last: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await stopped(node);
        const marathon = this.cluster.marathons.get(node);
        if (marathon) {
          await marathon.start(30_000);
          return;
        }
        node.process.start();
        if (node.kind === "agent") {
          await waitFor(`${node.name} to answer`, async () => {
            const r = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(1000) });
            await r.body?.cancel();
            return r.ok;
          }, 30_000);
        } else await this.cluster.waitAnswering(node);
        return;
      } catch (e) {
        last = e;
      }
    }
    throw new Error(
      `${node.name} did not start again: ${
        last instanceof Error ? last.message.split("\n")[0] : last
      }`,
    );
  }

  /**
   * Nodes whose process ended by itself (no fault kills a node without restarting it): each is
   * reported with its exit and last log lines, and started again, as a supervisor would.
   */
  async supervise(): Promise<Violation[]> {
    const found: Violation[] = [];
    for (const node of this.cluster.nodes) {
      const exit = node.process.exited;
      if (!exit) continue;
      const tail = node.process.log.join("").trimEnd().split("\n").slice(-8).join("\n    ");
      const how = exit.signal ? `by ${exit.signal}` : `with status ${exit.code}`;
      const restarted = await this.restart(node).then(
        () => "started again",
        (e: Error) => e.message,
      );
      found.push({
        check: "availability",
        message:
          `${node.name} on ${node.host.name} exited by itself ${how} (${restarted}); its last lines:\n    ${tail}`,
      });
    }
    for (let i = 0; i < CONTROL.length; i++) {
      // A member that is not healthy after every fault was repaired is down for good.
      const healthy = await this.cluster.etcd!.waitHealthy(i, 5000).then(() => true, () => false);
      if (!healthy) {
        const restarted = await this.cluster.etcd!.restart(i, 30_000).then(
          () => "started again",
          (e: Error) => e.message.split("\n")[0],
        );
        found.push({
          check: "availability",
          message: `etcd m${i} on ${CONTROL[i]} was not healthy (${restarted})`,
        });
      }
    }
    return found;
  }

  /** Every node's log, for a run that found violations. */
  logs(): Map<string, string> {
    const out = new Map<string, string>();
    for (const n of this.cluster.nodes) out.set(`${n.name}.log`, n.process.log.join(""));
    return out;
  }

  /** Ends everything (see `HostCluster.close`). */
  async close(): Promise<void> {
    await this.cluster.close();
  }

  /** GETs from the first Marathon that answers (a standby proxies to the leader). */
  async #marathon<T>(
    path: string,
    schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  ): Promise<T | undefined> {
    for (const m of this.marathons) {
      const parsed = schema.safeParse(await getJson(`${m.url}${path}`, 4000));
      if (parsed.success) return parsed.data;
    }
    return undefined;
  }
}

/** Ends a node's process (paused or not, alive or already gone). */
export async function stopped(node: Node): Promise<void> {
  try {
    node.process.signal("SIGCONT");
  } catch { /* it is gone already */ }
  await node.process.kill("SIGKILL");
}

/** An agent's own `/state`, or undefined when it does not answer in 2 s. */
async function agentState(agent: Node): Promise<AgentState | undefined> {
  const state = AgentStateSchema.safeParse(await getJson(`${agent.url}/state`, 2000));
  return state.success ? state.data : undefined;
}
