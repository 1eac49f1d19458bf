/**
 * The parts of Marathon's, the master's and an agent's JSON the chaos checks read, parsed once
 * where they come in (what else a reply holds passes through unread).
 */
import { z } from "zod";

/** A task as Marathon's `/v2/tasks` and an AppInfo's `tasks` show it. */
export const MarathonTaskSchema = z.object({
  id: z.string(),
  appId: z.string(),
  /** The agent's hostname (the node's name here). */
  host: z.string().default(""),
  state: z.string(),
  version: z.string().optional(),
});
export type MarathonTask = z.infer<typeof MarathonTaskSchema>;

export const MarathonTasksSchema = z.object({ tasks: z.array(MarathonTaskSchema) });

/** An AppInfo (`/v2/apps?embed=apps.tasks`): its `tasks` are the active instances only. */
export const MarathonAppSchema = z.object({
  id: z.string(),
  version: z.string(),
  versionInfo: z.object({ lastConfigChangeAt: z.string().optional() }).optional(),
  instances: z.number().int(),
  env: z.record(z.unknown()).default({}),
  upgradeStrategy: z.object({
    minimumHealthCapacity: z.number(),
    maximumOverCapacity: z.number(),
  }),
  deployments: z.array(z.object({ id: z.string() })),
  tasksRunning: z.number().int().default(0),
  tasks: z.array(MarathonTaskSchema).default([]),
});
export type MarathonApp = z.infer<typeof MarathonAppSchema>;

export const MarathonAppsSchema = z.object({ apps: z.array(MarathonAppSchema) });

/** `/v2/deployments` entries. */
export const MarathonDeploymentsSchema = z.array(z.object({
  id: z.string(),
  version: z.string().optional(),
  affectedApps: z.array(z.string()).default([]),
  currentStep: z.number().optional(),
  totalSteps: z.number().optional(),
}));
export type MarathonDeployment = z.infer<typeof MarathonDeploymentsSchema>[number];

/** A group of `/v2/groups` (apps not read). */
export interface MarathonGroup {
  id: string;
  groups: MarathonGroup[];
}
export const MarathonGroupSchema: z.ZodType<MarathonGroup, z.ZodTypeDef, unknown> = z.lazy(() =>
  z.object({ id: z.string(), groups: z.array(MarathonGroupSchema).default([]) })
);

/** A task in the master's state. */
export const MasterTaskSchema = z.object({
  id: z.string(),
  state: z.string(),
  slave_id: z.string(),
  framework_id: z.string(),
});
export type MasterTask = z.infer<typeof MasterTaskSchema>;

/** The leading master's `/master/state`, the parts compared. */
export const MasterStateSchema = z.object({
  slaves: z.array(z.object({ id: z.string(), hostname: z.string(), active: z.boolean() })),
  frameworks: z.array(z.object({
    id: z.string(),
    name: z.string(),
    connected: z.boolean().optional(),
    tasks: z.array(MasterTaskSchema).default([]),
    unreachable_tasks: z.array(MasterTaskSchema).default([]),
    /** Finished tasks, with the states they went through (to tell what became of an orphan). */
    completed_tasks: z.array(MasterTaskSchema.extend({
      statuses: z.array(z.object({ state: z.string(), timestamp: z.number().optional() }))
        .default([]),
    })).default([]),
  })),
});
export type MasterState = z.infer<typeof MasterStateSchema>;

/** An agent's own `/state`: the tasks it holds (until their terminal update is acknowledged). */
export const AgentStateSchema = z.object({
  id: z.string().nullable(),
  hostname: z.string(),
  connected: z.boolean().optional(),
  tasks: z.array(z.object({ id: z.string(), state: z.string(), framework_id: z.string() })),
});
export type AgentState = z.infer<typeof AgentStateSchema>;

/** Mesos' terminal task states. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_ERROR",
  "TASK_LOST",
  "TASK_DROPPED",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
  "TASK_UNKNOWN",
]);

/** GETs JSON with a deadline; undefined when it does not answer 200 in time. */
export async function getJson(url: string, timeoutMs = 3000): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) return (await r.body?.cancel(), undefined);
    return await r.json();
  } catch {
    return undefined;
  }
}
