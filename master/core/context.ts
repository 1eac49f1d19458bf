/**
 * The master's in-memory books and the two queues the shell drains after each operation:
 * `changes` (records to persist before anything is acknowledged) and `outbox` (events to send).
 */
import type { AgentEvent, Event } from "../../protocol/mod.ts";
import type { Clock, Ids } from "../../base/mod.ts";
import { ServerSecurity } from "../../security/mod.ts";
import { Allocator } from "../allocator/allocator.ts";
import { OfferBook } from "../allocator/offer_book.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "./records.ts";
import type { MaintenanceBooks, MaintenanceRecord } from "./machines.ts";
import { emptyMaintenance } from "./machines.ts";
import type { QuotaRecord, WeightRecord } from "./roles.ts";
import { taskKey } from "./records.ts";
import type { MasterView } from "./master_view.ts";

/** A record to write to or delete from the store. */
export type Change =
  | { kind: "agent"; id: string; value: AgentRecord | null }
  | { kind: "framework"; id: string; value: FrameworkRecord | null }
  | { kind: "task"; frameworkId: string; taskId: string; value: TaskRecord | null }
  | { kind: "removed_framework"; id: string }
  /** MARK_AGENT_GONE: the id may never register again. */
  | { kind: "gone_agent"; id: string }
  | { kind: "quota"; role: string; value: QuotaRecord | null }
  | { kind: "weight"; role: string; value: WeightRecord | null }
  | { kind: "maintenance"; value: MaintenanceRecord };

/** A message for the shell to deliver. */
export type Outgoing =
  | { to: "framework"; frameworkId: string; event: Event }
  | { to: "agent"; agentId: string; event: AgentEvent }
  /** Ends a framework's event stream, optionally with an ERROR event first. */
  | { to: "close_framework"; frameworkId: string; streamId?: string; error?: string }
  | { to: "close_agent"; agentId: string; streamId?: string; error?: string };

/** Master settings, all durations in milliseconds. */
export interface MasterOptions {
  hostname: string;
  port: number;
  heartbeatIntervalMs: number;
  /**
   * Mesos' `agent_ping_timeout`: each this long without a word from an agent (its HEARTBEAT,
   * which it posts every heartbeat interval, or any other call) is one missed ping.
   */
  agentPingTimeoutMs: number;
  /**
   * Mesos' `max_agent_ping_timeouts`: an agent that missed this many pings in a row (silent for
   * `agentPingTimeoutMs × maxAgentPingTimeouts`) is marked unreachable.
   */
  maxAgentPingTimeouts: number;
  /** Agents recovered from the store get this long to re-register after a master restart. */
  agentReregisterTimeoutMs: number;
  /** Outstanding offers older than this are rescinded (0: never). */
  offerTimeoutMs: number;
  /** The batch allocation interval. */
  allocationIntervalMs: number;
  /**
   * How long a running task with host ports is drained from service discovery before its
   * kill is sent, so routers stop sending it requests first (0: kill at once).
   */
  drainMs: number;
  /** Weighted DRF: each role's share is divided by its weight (default 1). */
  weights: Record<string, number>;
  /**
   * An agent unreachable this long is forgotten: its record and its tasks' are deleted, as
   * Mesos' registry GC does with `--registry_max_agent_age` (default two weeks, as there).
   */
  agentMaxAgeMs: number;
  /**
   * The cluster id to take when the store has none yet (`--cluster-id`): to adopt the agents of
   * a store that was lost for good. Ignored once the store has one.
   */
  clusterId?: string;
}

/** How long an agent may be silent before it is marked unreachable (75 s by default). */
export function agentTimeoutMs(
  options: Pick<MasterOptions, "agentPingTimeoutMs" | "maxAgentPingTimeouts">,
): number {
  return options.agentPingTimeoutMs * options.maxAgentPingTimeouts;
}

export const DEFAULT_MASTER_OPTIONS: MasterOptions = {
  hostname: "127.0.0.1",
  port: 5050,
  heartbeatIntervalMs: 15_000,
  agentPingTimeoutMs: 15_000,
  maxAgentPingTimeouts: 5,
  agentReregisterTimeoutMs: 60_000,
  offerTimeoutMs: 0,
  allocationIntervalMs: 1_000,
  drainMs: 1_000,
  weights: {},
  agentMaxAgeMs: 14 * 24 * 60 * 60 * 1000,
};

/**
 * What the core asks about callers: whether they authenticate at all (identities bind to
 * principals then) and whether the ACLs allow an action. `ServerSecurity` is one; its
 * `allows` counts each denial for `/metrics`.
 */
export type Authorizer = Pick<ServerSecurity, "authenticating" | "allows">;

/** Live (not persisted) facts about a connected party. */
export interface Connection {
  streamId: string;
  lastSeen: number;
}

/** Counters for metrics and /master/state. */
export interface Counters {
  offersSent: number;
  offersDeclined: number;
  offersRescinded: number;
  offersAccepted: number;
  tasksLaunched: number;
  statusUpdates: number;
  invalidCalls: number;
}

/**
 * Everything the master's core operations share. Readers outside the core get it as a read-only
 * `MasterView`.
 */
export class MasterContext implements MasterView {
  readonly agents = new Map<string, AgentRecord>();
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly removedFrameworks = new Set<string>();
  /** Agents the operator marked gone (MARK_AGENT_GONE): refused for good, durable. */
  readonly goneAgents = new Set<string>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly tasksByAgent = new Map<string, Set<string>>();
  readonly tasksByFramework = new Map<string, Set<string>>();
  /** Tasks with a kill held back while they drain. */
  readonly draining = new Set<string>();
  /** Terminal, acknowledged tasks, newest last (bounded, memory only, as in Mesos). */
  readonly completedTasks: TaskRecord[] = [];
  /**
   * Removed (torn down) frameworks with when they went, newest last: Mesos' bounded, memory-only
   * `completed_frameworks` (`--max_completed_frameworks` 50), whose tasks stay in
   * `completedTasks`.
   */
  readonly completedFrameworks: { framework: FrameworkRecord; removedTime: number }[] = [];
  readonly agentConnections = new Map<string, Connection>();
  readonly frameworkConnections = new Map<string, Connection>();
  /**
   * Status updates forwarded and not yet acknowledged, by uuid: the framework stream they went
   * to and when (memory only). An agent's retry of one is not forwarded on the same stream
   * again within `RETRY_FORWARD_MS` (see `recordUpdate`).
   */
  readonly forwarded = new Map<string, { streamId: string; at: number }>();
  /** When each disconnected agent was last heard from (recovered agents: the recovery time). */
  readonly silentSince = new Map<string, number>();
  readonly offers = new OfferBook();
  /** Quotas by role (UPDATE_QUOTA), durable. */
  readonly quotas = new Map<string, QuotaRecord>();
  /** Weights set by UPDATE_WEIGHTS, durable; they win over `options.weights`. */
  readonly weights = new Map<string, number>();
  /** The maintenance schedule, machines down, inverse offers and their answers. */
  readonly maintenance: MaintenanceBooks = emptyMaintenance();
  readonly allocator = new Allocator();
  readonly changes: Change[] = [];
  readonly outbox: Outgoing[] = [];
  readonly counters: Counters = {
    offersSent: 0,
    offersDeclined: 0,
    offersRescinded: 0,
    offersAccepted: 0,
    tasksLaunched: 0,
    statusUpdates: 0,
    invalidCalls: 0,
  };
  /** Agents whose resources changed since the last allocation run. */
  readonly allocationCandidates = new Set<string>();
  allocateAll = false;
  readonly masterId: string;
  /** The cluster the store belongs to (set by the shell once the store is read). */
  clusterId: string | undefined = undefined;
  readonly startTime: number;
  #offerSeq = 0;
  #frameworkSeq = 0;
  #agentSeq = 0;

  /** The ACLs (default: no credentials, every action allowed but those off unless allowed). */
  readonly authorizer: Authorizer;

  constructor(
    readonly deps: { clock: Clock; ids: Ids; authorizer?: Authorizer },
    readonly options: MasterOptions,
  ) {
    this.authorizer = deps.authorizer ?? ServerSecurity.off();
    this.masterId = deps.ids.uuid();
    this.startTime = deps.clock.now();
    for (const [role, weight] of Object.entries(options.weights)) {
      this.allocator.setWeight(role, weight);
    }
  }

  now(): number {
    return this.deps.clock.now();
  }

  nextFrameworkId(): string {
    return `${this.masterId}-${String(this.#frameworkSeq++).padStart(4, "0")}`;
  }

  nextAgentId(): string {
    return `${this.masterId}-S${this.#agentSeq++}`;
  }

  nextOfferId(): string {
    this.#offerSeq += 1;
    return `${this.masterId}-O${this.#offerSeq}`;
  }

  sendToFramework(frameworkId: string, event: Event): void {
    if (this.frameworkConnections.has(frameworkId)) {
      this.outbox.push({ to: "framework", frameworkId, event });
    }
  }

  sendToAgent(agentId: string, event: AgentEvent): boolean {
    if (!this.agentConnections.has(agentId)) return false;
    this.outbox.push({ to: "agent", agentId, event });
    return true;
  }

  putAgent(agent: AgentRecord): void {
    this.agents.set(agent.id, agent);
    this.changes.push({ kind: "agent", id: agent.id, value: agent });
  }

  putFramework(framework: FrameworkRecord): void {
    this.frameworks.set(framework.id, framework);
    this.changes.push({ kind: "framework", id: framework.id, value: framework });
  }

  deleteFramework(id: string): void {
    const framework = this.frameworks.get(id);
    if (framework) {
      this.completedFrameworks.push({ framework, removedTime: this.now() });
      if (this.completedFrameworks.length > 50) this.completedFrameworks.shift();
    }
    this.frameworks.delete(id);
    this.removedFrameworks.add(id);
    this.changes.push({ kind: "framework", id, value: null });
    this.changes.push({ kind: "removed_framework", id });
  }

  getTask(frameworkId: string, taskId: string): TaskRecord | undefined {
    return this.tasks.get(taskKey(frameworkId, taskId));
  }

  putTask(task: TaskRecord): void {
    const key = taskKey(task.frameworkId, task.info.task_id.value);
    this.tasks.set(key, task);
    if (task.drainingKill && !task.drainingKill.sent) this.draining.add(key);
    else this.draining.delete(key);
    index(this.tasksByAgent, task.agentId).add(key);
    index(this.tasksByFramework, task.frameworkId).add(key);
    this.changes.push({
      kind: "task",
      frameworkId: task.frameworkId,
      taskId: task.info.task_id.value,
      value: task,
    });
  }

  /** Forgets a task (terminal and acknowledged, or its framework is gone). */
  removeTask(task: TaskRecord): void {
    const key = taskKey(task.frameworkId, task.info.task_id.value);
    this.tasks.delete(key);
    this.draining.delete(key);
    this.tasksByAgent.get(task.agentId)?.delete(key);
    this.tasksByFramework.get(task.frameworkId)?.delete(key);
    this.changes.push({
      kind: "task",
      frameworkId: task.frameworkId,
      taskId: task.info.task_id.value,
      value: null,
    });
    this.completedTasks.push(task);
    if (this.completedTasks.length > 1000) this.completedTasks.shift();
  }

  tasksOfAgent(agentId: string): TaskRecord[] {
    return [...(this.tasksByAgent.get(agentId) ?? [])].map((k) => this.tasks.get(k)!);
  }

  tasksOfFramework(frameworkId: string): TaskRecord[] {
    return [...(this.tasksByFramework.get(frameworkId) ?? [])].map((k) => this.tasks.get(k)!);
  }

  /** Asks for an allocation run over these agents (all when omitted) at the next chance. */
  wantAllocation(agentId?: string): void {
    if (agentId === undefined) this.allocateAll = true;
    else this.allocationCandidates.add(agentId);
  }
}

function index(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  return set;
}
