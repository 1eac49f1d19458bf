/** The dashboard's view of the master's books: one JSON document, pushed every second. */
import { isTerminalState } from "../../protocol/mod.ts";
import type { MasterView } from "../core/master_view.ts";
import type { FrameworkRecord, TaskRecord } from "../core/records.ts";
import type { JobSummary } from "./metronome_jobs.ts";
import { addMesos, agentBooks, type Amounts, clusterBooks } from "../metrics/mod.ts";

/** Used and total of one resource. */
export interface Usage {
  used: number;
  offered: number;
  total: number;
}

/** One app, as a service framework (Marathon) reports it. */
export interface AppSummary {
  id: string;
  instances: number;
  running: number;
  healthy: number;
  /** 0-1 while a deployment runs; absent when none does. */
  deployment?: { progress: number; step?: string };
}

/** A task as the dashboard lists it. */
export interface TaskSummary {
  id: string;
  name: string;
  frameworkId: string;
  framework: string;
  agentId: string;
  agent: string;
  state: string;
  healthy?: boolean;
  cpus: number;
  mem: number;
  /** Seconds since the epoch of the latest status. */
  updated?: number;
  completed: boolean;
}

/** Everything the dashboard shows at one instant. */
export interface DashboardSummary {
  /** Milliseconds since the epoch. */
  time: number;
  masterId: string;
  cluster: Record<"cpus" | "mem" | "disk" | "ports", Usage>;
  agents: {
    id: string;
    hostname: string;
    port: number;
    status: string;
    tasks: number;
    resources: Record<"cpus" | "mem" | "disk" | "ports", Usage>;
  }[];
  frameworks: {
    id: string;
    name: string;
    role: string;
    connected: boolean;
    share: number;
    tasks: number;
    cpus: number;
    mem: number;
  }[];
  tasks: TaskSummary[];
  apps: AppSummary[] | null;
  /** Jobs and their active runs, when a jobs framework is attached. */
  jobs: JobSummary[] | null;
}

const NAMES = ["cpus", "mem", "disk", "ports"] as const;
/** How many live and completed tasks the summary carries at most. */
const MAX_TASKS = 500;
const MAX_COMPLETED = 50;

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function usage(b: { total: Amounts; used: Amounts; offered: Amounts }): Record<
  (typeof NAMES)[number],
  Usage
> {
  const one = (n: string) => ({
    used: round(b.used[n] ?? 0),
    offered: round(b.offered[n] ?? 0),
    total: round(b.total[n] ?? 0),
  });
  return { cpus: one("cpus"), mem: one("mem"), disk: one("disk"), ports: one("ports") };
}

/**
 * The summary as a caller may see it: frameworks and tasks their view ACLs hide are left out
 * (the cluster's totals stay, as in `/master/state`).
 */
export function visibleSummary<S extends DashboardSummary>(
  summary: S,
  ctx: MasterView,
  view: { framework(f: FrameworkRecord): boolean; task(t: TaskRecord): boolean },
): S {
  const framework = (id: string) =>
    ctx.frameworks.get(id) ?? ctx.completedFrameworks.find((c) => c.framework.id === id)?.framework;
  const task = (t: TaskSummary) =>
    ctx.getTask(t.frameworkId, t.id) ??
      ctx.completedTasks.find((c) =>
        c.frameworkId === t.frameworkId && c.info.task_id.value === t.id
      );
  return {
    ...summary,
    frameworks: summary.frameworks.filter((f) => {
      const record = framework(f.id);
      return record !== undefined && view.framework(record);
    }),
    tasks: summary.tasks.filter((t) => {
      const record = task(t);
      return record !== undefined && view.task(record);
    }),
  };
}

/** Builds the summary from the books; `apps` comes from a service framework when one is attached. */
export function dashboardSummary(
  ctx: MasterView,
  apps: AppSummary[] | null = null,
  jobs: JobSummary[] | null = null,
): DashboardSummary {
  const agents = agentBooks(ctx);
  const shares = ctx.allocator.shares().frameworks;
  const frameworkName = (id: string) => ctx.frameworks.get(id)?.info.name ?? id;
  const hostname = (id: string) => ctx.agents.get(id)?.info.hostname ?? id;
  const task = (t: TaskRecord, completed: boolean): TaskSummary => {
    const r = addMesos({}, t.resources);
    const latest = t.statuses.at(-1);
    return {
      id: t.info.task_id.value,
      name: t.info.name,
      frameworkId: t.frameworkId,
      framework: frameworkName(t.frameworkId),
      agentId: t.agentId,
      agent: hostname(t.agentId),
      state: t.state,
      healthy: latest?.healthy,
      cpus: round(r.cpus ?? 0),
      mem: round(r.mem ?? 0),
      updated: latest?.timestamp,
      completed,
    };
  };
  const live = [...ctx.tasks.values()].slice(-MAX_TASKS).map((t) =>
    task(t, isTerminalState(t.state))
  );
  const done = ctx.completedTasks.slice(-MAX_COMPLETED).reverse().map((t) => task(t, true));
  const frameworkUse = new Map<string, { tasks: number; used: Amounts }>();
  for (const t of ctx.tasks.values()) {
    if (isTerminalState(t.state)) continue;
    let u = frameworkUse.get(t.frameworkId);
    if (!u) frameworkUse.set(t.frameworkId, u = { tasks: 0, used: {} });
    u.tasks += 1;
    addMesos(u.used, t.resources);
  }
  return {
    time: ctx.now(),
    masterId: ctx.masterId,
    cluster: usage(clusterBooks(agents.filter((a) => a.status === "active"))),
    agents: agents.map((a) => ({
      id: a.id,
      hostname: a.hostname,
      port: a.port,
      status: a.status,
      tasks: a.tasks,
      resources: usage(a),
    })),
    frameworks: [...ctx.frameworks.values()].map((f) => {
      const use = frameworkUse.get(f.id);
      return {
        id: f.id,
        name: f.info.name,
        role: f.roles.join(","),
        connected: ctx.frameworkConnections.has(f.id),
        share: shares[f.id] ?? 0,
        tasks: use?.tasks ?? 0,
        cpus: round(use?.used.cpus ?? 0),
        mem: round(use?.used.mem ?? 0),
      };
    }),
    tasks: [...live, ...done],
    apps,
    jobs,
  };
}
