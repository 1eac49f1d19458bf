/**
 * Injects a planned fault into the running cluster and repairs it, as an operator's supervisor
 * would: the role is resolved to a node when the fault starts (who leads now), a killed process
 * is started again after the planned delay, a paused one resumed, a cut link restored. While the
 * fault aims at a leader (or cuts its host), the time until another one leads is measured.
 * Faults run one at a time, so at most one etcd member is ever down.
 */
import type { Node } from "../support/host_cluster.ts";
import type { Host } from "../support/hosts.ts";
import { type ChaosCluster, stopped } from "./chaos_cluster.ts";
import { describeFault, type PlannedFault, type Role } from "./fault_plan.ts";
import { killTask, runningTasks } from "./ground_truth.ts";
import { getJson } from "./views.ts";
import type { Violation } from "./violation.ts";

/** What one fault did. */
export interface FaultResult {
  index: number;
  /** The fault with its resolved target, e.g. `SIGKILL leading-master master-2 on h2, …`. */
  description: string;
  injectedAt: number;
  /** When the repair began (restart, SIGCONT, link up; the injection for a task kill). */
  repairedAt: number;
  /** ms until another master led, when the fault hit the leading master. */
  masterFailoverMs?: number;
  /** ms until another Marathon led, when the fault hit the leading one. */
  marathonFailoverMs?: number;
  /** What went wrong while repairing (a node that did not start again). */
  problems: Violation[];
}

/** A target: a Tender node, an etcd member, a host's link, or a task. */
type Target =
  | { kind: "node"; node: Node }
  | { kind: "etcd"; member: number; host: Host }
  | { kind: "host"; host: Host };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs faults against a chaos cluster. */
export class FaultInjector {
  /** Agents (by name) whose host's link is cut now; the capacity check reads it. */
  readonly cutAgents = new Set<string>();

  constructor(readonly chaos: ChaosCluster) {}

  /** Injects `planned`, holds it, repairs it; `onRepair` runs as the repair begins. */
  async run(planned: PlannedFault, onRepair?: () => void): Promise<FaultResult> {
    const { spec } = planned;
    const problems: Violation[] = [];
    const leaders = {
      master: await this.chaos.leadingMaster(),
      marathon: await this.chaos.marathonLeader(),
    };
    let target: Target | undefined;
    let description = describeFault(spec);
    let repairedAt = 0;
    const repair = () => {
      repairedAt = Date.now();
      onRepair?.();
    };
    const injectedAt = Date.now();
    let watches: Promise<[number | undefined, number | undefined]> = Promise.resolve([
      undefined,
      undefined,
    ]);
    /** Starts measuring failovers once the fault is in (a leader it hits must be replaced). */
    const watch = (t: Target, holdMs: number, kill: boolean) => {
      const options = {
        injectedAt,
        deadline: injectedAt + holdMs + 30_000,
        kill,
        repaired: () => repairedAt > 0,
      };
      const hits = (leader: Node | undefined): leader is Node =>
        leader !== undefined &&
        ((t.kind === "node" && t.node === leader) ||
          (t.kind === "host" && t.host.name === leader.host.name));
      watches = Promise.all([
        hits(leaders.master) ? this.#failover("master", leaders.master, options) : undefined,
        hits(leaders.marathon) ? this.#failover("marathon", leaders.marathon, options) : undefined,
      ]);
    };

    switch (spec.kind) {
      case "kill": {
        target = this.#resolve(spec.role, spec.pick, leaders);
        description = `SIGKILL ${spec.role} ${this.#name(target)}, restarted after ` +
          `${(spec.restartAfterMs / 1000).toFixed(1)} s`;
        await this.#kill(target);
        watch(target, spec.restartAfterMs, true);
        await sleep(spec.restartAfterMs);
        repair();
        const restarted = await this.#restart(target).catch((e: Error) => e);
        if (restarted instanceof Error) {
          problems.push({ check: "availability", message: restarted.message });
        }
        break;
      }
      case "pause": {
        target = this.#resolve(spec.role, spec.pick, leaders);
        description = `SIGSTOP ${spec.role} ${this.#name(target)} for ` +
          `${(spec.pauseMs / 1000).toFixed(1)} s, then SIGCONT`;
        this.#pause(target, true);
        watch(target, spec.pauseMs, false);
        await sleep(spec.pauseMs);
        repair();
        this.#pause(target, false);
        break;
      }
      case "partition": {
        const hosts = spec.hosts === "agent" ? this.chaos.agentHosts : this.chaos.controlHosts;
        const host = hosts[spec.pick % hosts.length]!;
        target = { kind: "host", host };
        const agent = this.chaos.agentOn(host);
        description = `link of ${host.name} (${this.#onHost(host)}) down for ` +
          `${(spec.holdMs / 1000).toFixed(1)} s, then up`;
        await this.chaos.cluster.cut(host);
        watch(target, spec.holdMs, false);
        if (agent) this.cutAgents.add(agent.name);
        await sleep(spec.holdMs);
        repair();
        await this.chaos.cluster.restore(host);
        if (agent) this.cutAgents.delete(agent.name);
        break;
      }
      case "task-kill": {
        const netns = new Map(this.chaos.agents.map((a) => [a.name, a.host.netns!] as const));
        const tasks = (await runningTasks(netns)).sort((a, b) => a.taskId.localeCompare(b.taskId));
        const task = tasks.length > 0 ? tasks[spec.pick % tasks.length] : undefined;
        if (task) killTask(task);
        description = task
          ? `SIGKILL of task ${task.taskId}'s processes on ${task.host}`
          : "SIGKILL of a task's processes (none ran)";
        repair();
        break;
      }
    }
    const [masterFailoverMs, marathonFailoverMs] = await watches;
    return {
      index: planned.index,
      description,
      injectedAt,
      repairedAt,
      ...(masterFailoverMs !== undefined ? { masterFailoverMs } : {}),
      ...(marathonFailoverMs !== undefined ? { marathonFailoverMs } : {}),
      problems,
    };
  }

  /** Restores every cut link and resumes every node (a run that stops half-way). */
  async heal(): Promise<void> {
    for (const host of [...this.chaos.agentHosts, ...this.chaos.controlHosts]) {
      await this.chaos.cluster.restore(host).catch(() => {});
    }
    this.cutAgents.clear();
  }

  #resolve(
    role: Role,
    pick: number,
    leaders: { master: Node | undefined; marathon: Node | undefined },
  ): Target {
    const of = <T>(list: readonly T[]): T => list[pick % list.length]!;
    const node = (n: Node): Target => ({ kind: "node", node: n });
    const others = (list: Node[], leader: Node | undefined) =>
      list.filter((n) => n !== leader).length > 0 ? list.filter((n) => n !== leader) : list;
    switch (role) {
      case "leading-master":
        return node(leaders.master ?? of(this.chaos.masters));
      case "standby-master":
        return node(of(others(this.chaos.masters, leaders.master)));
      case "marathon-leader":
        return node(leaders.marathon ?? of(this.chaos.marathons));
      case "marathon-standby":
        return node(of(others(this.chaos.marathons, leaders.marathon)));
      case "agent":
        return node(of(this.chaos.agents));
      case "router":
        return node(of(this.chaos.routers));
      case "etcd": {
        const member = pick % this.chaos.controlHosts.length;
        return { kind: "etcd", member, host: this.chaos.controlHosts[member]! };
      }
    }
  }

  #name(t: Target): string {
    if (t.kind === "node") return `${t.node.name} on ${t.node.host.name}`;
    if (t.kind === "etcd") return `etcd m${t.member} on ${t.host.name}`;
    return t.host.name;
  }

  /** What runs on a host, e.g. `etcd m0, master-1, marathon-1`. */
  #onHost(host: Host): string {
    const nodes = this.chaos.cluster.nodes.filter((n) => n.host.name === host.name).map((n) =>
      n.name
    );
    const member = this.chaos.controlHosts.findIndex((h) => h.name === host.name);
    return [...(member >= 0 ? [`etcd m${member}`] : []), ...nodes].join(", ");
  }

  async #kill(t: Target): Promise<void> {
    if (t.kind === "node") await stopped(t.node);
    else if (t.kind === "etcd") await this.chaos.cluster.etcd!.kill(t.member);
  }

  async #restart(t: Target): Promise<void> {
    if (t.kind === "node") await this.chaos.restart(t.node);
    else if (t.kind === "etcd") await this.chaos.cluster.etcd!.restart(t.member, 30_000);
  }

  #pause(t: Target, stop: boolean): void {
    if (t.kind === "node") {
      try {
        t.node.process.signal(stop ? "SIGSTOP" : "SIGCONT");
      } catch { /* it ended by itself: supervise() reports it */ }
    } else if (t.kind === "etcd") {
      if (stop) this.chaos.cluster.etcd!.stop(t.member);
      else this.chaos.cluster.etcd!.cont(t.member);
    }
  }

  /**
   * ms from `injectedAt` until a master (or Marathon) other than `old` answers as leader — or,
   * after a kill, any (the old one restarted counts: leadership passed to a new process).
   * Undefined when `old` still leads once the fault is repaired (a pause shorter than its
   * lease), or nothing leads before the deadline.
   */
  async #failover(
    kind: "master" | "marathon",
    old: Node,
    options: { injectedAt: number; deadline: number; kill: boolean; repaired: () => boolean },
  ): Promise<number | undefined> {
    const candidates = kind === "master" ? this.chaos.masters : this.chaos.marathons;
    while (Date.now() < options.deadline) {
      const repaired = options.repaired();
      const polled = candidates.filter((n) => options.kill || n !== old || repaired);
      const leads = await Promise.all(polled.map((n) => this.#leads(kind, n)));
      const leader = polled.find((_, i) => leads[i]);
      if (leader && (options.kill || leader !== old)) return Date.now() - options.injectedAt;
      if (leader === old) return undefined;
      await sleep(100);
    }
    return undefined;
  }

  /** Whether `node` answers, within 500 ms, that it leads. */
  async #leads(kind: "master" | "marathon", node: Node): Promise<boolean> {
    if (kind === "master") {
      const health = await getJson(`${node.url}/health`, 500);
      return typeof health === "object" && health !== null && "role" in health &&
        health.role === "leader";
    }
    const leader = await getJson(`${node.url}/v2/leader`, 500);
    return typeof leader === "object" && leader !== null && "leader" in leader &&
      leader.leader === new URL(node.url).host;
  }
}
