/** The parts of Marathon's REST API v2 the CLI reads: apps, their tasks, and deployments. */
import { z } from "zod";
import type { Api } from "./api.ts";

const MarathonTaskSchema = z.object({
  id: z.string(),
  appId: z.string().optional(),
  host: z.string().default(""),
  slaveId: z.string().optional(),
  ports: z.array(z.number()).default([]),
  state: z.string().optional(),
  startedAt: z.string().nullable().optional(),
  version: z.string().optional(),
  healthCheckResults: z.array(z.object({ alive: z.boolean() })).default([]),
});
export type MarathonTask = z.infer<typeof MarathonTaskSchema>;

const AppSchema = z.object({
  id: z.string(),
  cmd: z.string().nullable().optional(),
  container: z.object({ docker: z.object({ image: z.string() }).optional() }).nullable()
    .optional(),
  instances: z.number(),
  cpus: z.number().default(0),
  mem: z.number().default(0),
  version: z.string().optional(),
  tasksRunning: z.number().default(0),
  tasksStaged: z.number().default(0),
  tasksHealthy: z.number().default(0),
  tasksUnhealthy: z.number().default(0),
  healthChecks: z.array(z.unknown()).default([]),
  deployments: z.array(z.object({ id: z.string() })).default([]),
  tasks: z.array(MarathonTaskSchema).optional(),
  labels: z.record(z.string()).default({}),
});
export type MarathonApp = z.infer<typeof AppSchema>;

export const AppsSchema = z.object({ apps: z.array(AppSchema) });
export const AppOneSchema = z.object({ app: AppSchema });
export const TasksSchema = z.object({ tasks: z.array(MarathonTaskSchema) });

const ActionSchema = z.object({ action: z.string(), app: z.string().optional() });
export const DeploymentSchema = z.object({
  id: z.string(),
  version: z.string().optional(),
  affectedApps: z.array(z.string()).default([]),
  currentActions: z.array(ActionSchema).default([]),
  currentStep: z.number().default(0),
  totalSteps: z.number().default(0),
});
export type Deployment = z.infer<typeof DeploymentSchema>;
export const DeploymentsSchema = z.array(DeploymentSchema);

/** What a mutation answers: the deployment it started. */
export const DeployedSchema = z.object({
  deploymentId: z.string().optional(),
  version: z.string().optional(),
  deployments: z.array(z.object({ id: z.string() })).optional(),
}).transform((r) => ({
  deploymentId: r.deploymentId ?? r.deployments?.[0]?.id,
  version: r.version,
}));

/** An app id as Marathon writes it: with a leading slash. */
export function appId(id: string): string {
  return id.startsWith("/") ? id : `/${id}`;
}

/** The app's path under `/v2/apps`, each segment escaped. */
export function appPath(id: string): string {
  return `/v2/apps${appId(id).split("/").map(encodeURIComponent).join("/")}`;
}

/** Every deployment running now. */
export function fetchDeployments(marathon: Api): Promise<Deployment[]> {
  return marathon.json("/v2/deployments", DeploymentsSchema);
}
