/**
 * The parts of the master's `GET /master/state` the CLI reads (Mesos' v0 shape, so a Mesos
 * master answers too), and the rows the commands print.
 */
import { z } from "zod";
import type { Api } from "./api.ts";

const FlatResourcesSchema = z.record(z.union([z.number(), z.string()])).default({});

const TaskSchema = z.object({
  id: z.string(),
  name: z.string().default(""),
  framework_id: z.string(),
  slave_id: z.string(),
  state: z.string(),
  resources: FlatResourcesSchema,
  statuses: z.array(z.object({
    state: z.string(),
    timestamp: z.number().optional(),
    healthy: z.boolean().optional(),
  })).default([]),
});
export type StateTask = z.infer<typeof TaskSchema>;

const AgentSchema = z.object({
  id: z.string(),
  hostname: z.string(),
  port: z.number().default(5051),
  pid: z.string().optional(),
  attributes: z.record(z.unknown()).default({}),
  registered_time: z.number().optional(),
  resources: FlatResourcesSchema,
  used_resources: FlatResourcesSchema,
  offered_resources: FlatResourcesSchema,
  active: z.boolean(),
  /** Mesos: no offers from a deactivated agent (maintenance). */
  deactivated: z.boolean().default(false),
  /** Mesos: set while an agent drains (`DRAINING`) and once drained (`DRAINED`). */
  drain_info: z.object({ state: z.string() }).optional(),
  version: z.string().optional(),
});
export type StateAgent = z.infer<typeof AgentSchema>;

const FrameworkSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string().optional(),
  roles: z.array(z.string()).optional(),
  active: z.boolean(),
  connected: z.boolean().optional(),
  hostname: z.string().optional(),
  registered_time: z.number().optional(),
  used_resources: FlatResourcesSchema,
  offered_resources: FlatResourcesSchema,
  tasks: z.array(TaskSchema).default([]),
  unreachable_tasks: z.array(TaskSchema).default([]),
  completed_tasks: z.array(TaskSchema).default([]),
  dominant_share: z.number().optional(),
});
export type StateFramework = z.infer<typeof FrameworkSchema>;

export const MasterStateSchema = z.object({
  version: z.string().default(""),
  id: z.string(),
  hostname: z.string().optional(),
  start_time: z.number().optional(),
  activated_slaves: z.number().default(0),
  deactivated_slaves: z.number().default(0),
  unreachable_slaves: z.number().default(0),
  slaves: z.array(AgentSchema).default([]),
  frameworks: z.array(FrameworkSchema).default([]),
  /** Removed (torn down) frameworks, with their finished tasks. */
  completed_frameworks: z.array(FrameworkSchema).default([]),
});
export type MasterState = z.infer<typeof MasterStateSchema>;

/** Fetches and parses `/master/state`. */
export function fetchState(master: Api): Promise<MasterState> {
  return master.json("/master/state", MasterStateSchema);
}

/** A scalar of a flat resource map (0 when absent or not a number). */
export function scalar(resources: Record<string, number | string>, name: string): number {
  const v = resources[name];
  return typeof v === "number" ? v : 0;
}

/** How many ports a flat `ports` value like `[31000-31009, 31020-31020]` holds. */
export function portCount(resources: Record<string, number | string>): number {
  const v = resources.ports;
  if (typeof v !== "string") return 0;
  let n = 0;
  for (const m of v.matchAll(/(\d+)-(\d+)/g)) n += Number(m[2]) - Number(m[1]) + 1;
  return n;
}

/** A task with where it lives, as `tasks list` and `logs` see it. */
export interface TaskRow {
  task: StateTask;
  framework: StateFramework;
  agent: StateAgent | undefined;
  /** Terminal and acknowledged (from `completed_tasks`). */
  completed: boolean;
}

/** Every task the master knows, live ones first. */
export function allTasks(state: MasterState): TaskRow[] {
  const agents = new Map(state.slaves.map((a) => [a.id, a]));
  const rows = (f: StateFramework, list: StateTask[], completed: boolean) =>
    list.map((task) => ({ task, framework: f, agent: agents.get(task.slave_id), completed }));
  return [
    ...state.frameworks.flatMap((f) => [
      ...rows(f, f.tasks, false),
      ...rows(f, f.unreachable_tasks, false),
    ]),
    ...[...state.frameworks, ...state.completed_frameworks].flatMap((f) =>
      rows(f, f.completed_tasks, true)
    ),
  ];
}

/** Finds one agent by id, id prefix or hostname; throws a message listing the candidates. */
export function findAgent(state: MasterState, key: string): StateAgent | string {
  const exact = state.slaves.find((a) => a.id === key);
  if (exact) return exact;
  const hits = state.slaves.filter((a) =>
    a.id.startsWith(key) || a.hostname === key || `${a.hostname}:${a.port}` === key
  );
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) {
    return `no agent "${key}": \`tender agents list\` shows the ${state.slaves.length} registered`;
  }
  return `"${key}" matches ${hits.length} agents (${
    hits.map((a) => a.id).join(", ")
  }): give the full id`;
}

/**
 * Finds a framework by id, id prefix or name: among the registered ones, else among the removed
 * ones the master still lists (their finished tasks can be listed and read).
 */
export function findFramework(state: MasterState, key: string): StateFramework | string {
  const found = findAmong(state.frameworks, key);
  if (typeof found !== "string") return found;
  const removed = findAmong(state.completed_frameworks, key);
  return typeof removed === "string" ? found : removed;
}

function findAmong(frameworks: StateFramework[], key: string): StateFramework | string {
  const exact = frameworks.find((f) => f.id === key);
  if (exact) return exact;
  const hits = frameworks.filter((f) => f.id.startsWith(key) || f.name === key);
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) return `no framework "${key}": \`tender frameworks list\` shows them`;
  return `"${key}" matches ${hits.length} frameworks (${
    hits.map((f) => `${f.name} ${f.id}`).join(", ")
  }): give the id`;
}
