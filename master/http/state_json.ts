/** The Mesos-shaped views of the master's books: `/master/state` (v0) and operator GET_* (v1). */
import { isTerminalState, reservationViews, Resources } from "../../protocol/mod.ts";
import { lazyArray } from "../../base/mod.ts";
import { agentTimeoutMs } from "../core/context.ts";
import type { MasterView } from "../core/master_view.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "../core/records.ts";
import { executorIdOf } from "../core/records.ts";

export const VERSION = "1.11.0-tender-0.1.0";

/** Which frameworks and tasks a caller may see (the ACLs' view_frameworks and view_tasks). */
export interface Visibility {
  framework(f: FrameworkRecord): boolean;
  task(t: TaskRecord): boolean;
}

/** Everything is visible (no ACLs). */
export const SEE_ALL: Visibility = { framework: () => true, task: () => true };

function flat(resources: Resources): Record<string, number | string> {
  return resources.toFlat();
}

function taskResources(task: TaskRecord): Resources {
  return Resources.fromMesos(task.resources);
}

function taskJson(task: TaskRecord) {
  return {
    id: task.info.task_id.value,
    name: task.info.name,
    framework_id: task.frameworkId,
    executor_id: executorIdOf(task) ?? "",
    slave_id: task.agentId,
    state: task.state,
    resources: flat(taskResources(task)),
    role: task.role,
    statuses: task.statuses.map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      healthy: s.healthy,
      container_status: s.container_status,
      labels: s.labels?.labels,
    })),
    labels: task.info.labels?.labels,
    discovery: task.info.discovery,
    container: task.info.container,
    health_check: task.info.health_check,
  };
}

/** Resources summed per agent and per framework. */
interface Sums {
  agent: Map<string, Resources>;
  framework: Map<string, Resources>;
}

/** What live tasks use and what offers tender, summed per agent and framework in one pass each. */
interface Ledger {
  used: Sums;
  offered: Sums;
}

function sums(items: Iterable<{ agentId: string; frameworkId: string; resources: Resources }>) {
  const out: Sums = { agent: new Map(), framework: new Map() };
  const add = (into: Map<string, Resources>, key: string, r: Resources) =>
    into.set(key, (into.get(key) ?? Resources.empty()).add(r));
  for (const item of items) {
    add(out.agent, item.agentId, item.resources);
    add(out.framework, item.frameworkId, item.resources);
  }
  return out;
}

function ledger(ctx: MasterView): Ledger {
  const live = [...ctx.tasks.values()].filter((t) => !isDone(t)).map((t) => ({
    agentId: t.agentId,
    frameworkId: t.frameworkId,
    resources: taskResources(t),
  }));
  return { used: sums(live), offered: sums(ctx.offers.all()) };
}

function sum(of: Map<string, Resources>, id: string): Resources {
  return of.get(id) ?? Resources.empty();
}

function isDone(t: TaskRecord): boolean {
  return isTerminalState(t.state);
}

/** Mesos' name of an agent: `slave(1)@IP:PORT`, by its address (its hostname until known). */
export function agentPid(agent: AgentRecord): string {
  return `slave(1)@${agent.ip ?? agent.info.hostname}:${agent.info.port}`;
}

function agentJson(ctx: MasterView, books: Ledger, agent: AgentRecord) {
  const total = Resources.fromMesos(agent.info.resources);
  return {
    id: agent.id,
    pid: agentPid(agent),
    hostname: agent.info.hostname,
    port: agent.info.port,
    attributes: Object.fromEntries(agent.info.attributes.map((a) => [
      a.name,
      a.text?.value ?? a.scalar?.value ?? a.ranges?.range.map((r) =>
        `${r.begin}-${r.end}`
      ).join(",") ??
        a.set?.item.join(","),
    ])),
    registered_time: agent.registeredTime / 1000,
    reregistered_time: agent.reregisteredTime === undefined
      ? undefined
      : agent.reregisteredTime / 1000,
    resources: flat(total),
    used_resources: flat(sum(books.used.agent, agent.id)),
    offered_resources: flat(sum(books.offered.agent, agent.id)),
    ...reservationViews(total),
    active: ctx.agentConnections.has(agent.id),
    deactivated: agent.deactivated,
    ...(agent.drain ? { drain_info: { state: agent.drain.state } } : {}),
    version: VERSION,
    capabilities: ["MULTI_ROLE"],
  };
}

/** How a task list is written: shaped now, or taken now and shaped as it is streamed. */
type TaskList<L> = (records: TaskRecord[]) => L;

/**
 * A framework in `/master/state`; `removedTime` (ms) for one in `completed_frameworks`; its task
 * lists as `shaped` writes them.
 */
function frameworkJson<L>(
  ctx: MasterView,
  books: Ledger,
  f: FrameworkRecord,
  shaped: TaskList<L>,
  removedTime: number | undefined,
  view: Visibility,
) {
  const tasks = removedTime === undefined ? ctx.tasksOfFramework(f.id).filter(view.task) : [];
  const connected = ctx.frameworkConnections.has(f.id);
  return {
    id: f.id,
    name: f.info.name,
    pid: "",
    user: f.info.user,
    failover_timeout: f.info.failover_timeout ?? 0,
    checkpoint: f.info.checkpoint ?? false,
    hostname: f.info.hostname ?? "",
    webui_url: f.info.webui_url ?? "",
    principal: f.info.principal,
    role: f.roles[0],
    roles: f.roles,
    active: connected,
    connected,
    recovered: false,
    registered_time: f.registeredTime / 1000,
    reregistered_time: f.reregisteredTime === undefined ? undefined : f.reregisteredTime / 1000,
    unregistered_time: (removedTime ?? f.disconnectedTime ?? 0) / 1000,
    capabilities: (f.info.capabilities ?? []).map((c) => c.type),
    used_resources: flat(sum(books.used.framework, f.id)),
    offered_resources: flat(sum(books.offered.framework, f.id)),
    resources: flat(sum(books.used.framework, f.id).add(sum(books.offered.framework, f.id))),
    tasks: shaped(tasks.filter((t) => t.state !== "TASK_UNREACHABLE")),
    unreachable_tasks: shaped(tasks.filter((t) => t.state === "TASK_UNREACHABLE")),
    completed_tasks: shaped(
      ctx.completedTasks.filter((t) => t.frameworkId === f.id && view.task(t)),
    ),
    offers: ctx.offers.forFramework(f.id).map((o) => ({
      id: o.id,
      framework_id: o.frameworkId,
      slave_id: o.agentId,
      resources: flat(o.resources),
    })),
    executors: [],
    labels: f.info.labels?.labels ?? [],
    dominant_share: ctx.allocator.shares().frameworks[f.id] ?? 0,
  };
}

/** `GET /master/state`, shaped as Mesos renders it. */
export function masterState(ctx: MasterView, view: Visibility = SEE_ALL) {
  return stateWith(ctx, view, (records) => records.map(taskJson));
}

/**
 * `masterState` for `jsonStream`: the task lists are taken now (the records as they are) and each
 * task shaped as it is written — the same bytes, never one string or object of every task.
 */
export function masterStateStreamed(ctx: MasterView, view: Visibility = SEE_ALL) {
  return stateWith(ctx, view, (records) => lazyArray(records, taskJson));
}

function stateWith<L>(ctx: MasterView, view: Visibility, shaped: TaskList<L>) {
  const agents = [...ctx.agents.values()];
  const books = ledger(ctx);
  return {
    version: VERSION,
    git_sha: "",
    start_time: ctx.startTime / 1000,
    elected_time: ctx.startTime / 1000,
    id: ctx.masterId,
    pid: `master@${ctx.options.hostname}:${ctx.options.port}`,
    hostname: ctx.options.hostname,
    capabilities: ["AGENT_UPDATE", "MULTI_ROLE"],
    activated_slaves: agents.filter((a) => ctx.agentConnections.has(a.id)).length,
    deactivated_slaves:
      agents.filter((a) =>
        a.deactivated || (!ctx.agentConnections.has(a.id) && a.unreachableTime === undefined)
      )
        .length,
    unreachable_slaves: agents.filter((a) => a.unreachableTime !== undefined).length,
    leader: `master@${ctx.options.hostname}:${ctx.options.port}`,
    leader_info: { id: ctx.masterId, hostname: ctx.options.hostname, port: ctx.options.port },
    flags: {
      agent_timeout: `${agentTimeoutMs(ctx.options) / 1000}secs`,
      agent_ping_timeout: `${ctx.options.agentPingTimeoutMs / 1000}secs`,
      max_agent_ping_timeouts: String(ctx.options.maxAgentPingTimeouts),
      allocation_interval: `${ctx.options.allocationIntervalMs / 1000}secs`,
      offer_timeout: ctx.options.offerTimeoutMs ? `${ctx.options.offerTimeoutMs / 1000}secs` : "",
    },
    slaves: agents.map((a) => agentJson(ctx, books, a)),
    recovered_slaves: [],
    frameworks: [...ctx.frameworks.values()].filter(view.framework).map((f) =>
      frameworkJson(ctx, books, f, shaped, undefined, view)
    ),
    completed_frameworks: ctx.completedFrameworks.filter((c) => view.framework(c.framework)).map(
      (c) => frameworkJson(ctx, books, c.framework, shaped, c.removedTime, view),
    ),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

/** Operator API (v1) GET_* answers, built from the v0 view. */
export function operatorView(
  ctx: MasterView,
  type: string,
  view: Visibility = SEE_ALL,
): unknown {
  let cached: Ledger | undefined;
  const books = () => cached ??= ledger(ctx);
  const visible = () => [...ctx.tasks.values()].filter(view.task);
  const tasks = () => ({
    tasks: visible().filter((t) => t.state !== "TASK_UNREACHABLE").map(v1Task),
    unreachable_tasks: visible().filter((t) => t.state === "TASK_UNREACHABLE").map(v1Task),
    completed_tasks: ctx.completedTasks.filter(view.task).map(v1Task),
  });
  const agents = () => ({
    agents: [...ctx.agents.values()].map((a) => ({
      agent_info: a.info,
      pid: agentPid(a),
      active: ctx.agentConnections.has(a.id),
      deactivated: a.deactivated,
      ...(a.drain ? { drain_info: { state: a.drain.state } } : {}),
      version: VERSION,
      registered_time: { nanoseconds: a.registeredTime * 1e6 },
      total_resources: a.info.resources,
      allocated_resources: sum(books().used.agent, a.id).toMesos(),
      offered_resources: sum(books().offered.agent, a.id).toMesos(),
    })),
    recovered_agents: [],
  });
  // A removed framework has no connection and nothing allocated or offered.
  const v1Framework = (f: FrameworkRecord) => ({
    framework_info: f.info,
    active: ctx.frameworkConnections.has(f.id),
    connected: ctx.frameworkConnections.has(f.id),
    recovered: false,
    registered_time: { nanoseconds: f.registeredTime * 1e6 },
    allocated_resources: sum(books().used.framework, f.id).toMesos(),
    offered_resources: sum(books().offered.framework, f.id).toMesos(),
  });
  const frameworks = () => ({
    frameworks: [...ctx.frameworks.values()].filter(view.framework).map(v1Framework),
    completed_frameworks: ctx.completedFrameworks.filter((c) => view.framework(c.framework)).map((
      { framework },
    ) => v1Framework(framework)),
  });
  switch (type) {
    case "GET_HEALTH":
      return { type, get_health: { healthy: true } };
    case "GET_VERSION":
      return { type, get_version: { version_info: { version: VERSION } } };
    case "GET_TASKS":
      return { type, get_tasks: tasks() };
    case "GET_AGENTS":
      return { type, get_agents: agents() };
    case "GET_FRAMEWORKS":
      return { type, get_frameworks: frameworks() };
    case "GET_STATE":
      return {
        type,
        get_state: {
          get_tasks: tasks(),
          get_executors: { executors: [] },
          get_frameworks: frameworks(),
          get_agents: agents(),
        },
      };
    default:
      return undefined;
  }
}

/** A task as the v1 operator API shows it (GET_TASKS, the SUBSCRIBE events). */
export function v1Task(t: TaskRecord) {
  return {
    name: t.info.name,
    task_id: t.info.task_id,
    framework_id: { value: t.frameworkId },
    agent_id: { value: t.agentId },
    state: t.state,
    resources: t.resources,
    statuses: t.statuses,
    labels: t.info.labels,
    discovery: t.info.discovery,
    container: t.info.container,
    health_check: t.info.health_check,
  };
}
