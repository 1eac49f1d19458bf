/**
 * Apps for the dashboard from a Marathon REST API (v2), read over HTTP: the master does not
 * import the framework, it asks it like any client would.
 */
import { z } from "zod";
import type { AppSummary } from "./summary.ts";

const AppsSchema = z.object({
  apps: z.array(z.object({
    id: z.string(),
    instances: z.number(),
    tasksRunning: z.number().default(0),
    tasksHealthy: z.number().default(0),
    healthChecks: z.array(z.unknown()).default([]),
    deployments: z.array(z.object({ id: z.string() })).default([]),
  })),
});

const DeploymentsSchema = z.array(z.object({
  id: z.string(),
  currentStep: z.number().default(0),
  totalSteps: z.number().default(0),
  currentActions: z.array(z.object({ action: z.string(), app: z.string().optional() }))
    .default([]),
}));

/**
 * A source for `mountDashboard({ apps })`: each call reads `/v2/apps` and `/v2/deployments`.
 * Progress of a running deployment is its finished steps plus the app's share of instances up.
 */
export function marathonApps(
  url: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): () => Promise<AppSummary[]> {
  const get = async (path: string) => {
    const r = await (options.fetch ?? fetch)(`${url}${path}`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 2000),
    });
    if (!r.ok) throw new Error(`Marathon answered ${path} with ${r.status}`);
    return await r.json();
  };
  return async () => {
    const [apps, deployments] = await Promise.all([
      get("/v2/apps").then((b) => AppsSchema.parse(b).apps),
      get("/v2/deployments").then((b) => DeploymentsSchema.parse(b)),
    ]);
    const byId = new Map(deployments.map((d) => [d.id, d]));
    return apps.map((a) => {
      const up = a.instances === 0 ? 1 : Math.min(1, a.tasksRunning / a.instances);
      const d = a.deployments.map((x) => byId.get(x.id)).find((x) => x !== undefined);
      const action = d?.currentActions.find((x) => x.app === a.id)?.action;
      return {
        id: a.id,
        instances: a.instances,
        running: a.tasksRunning,
        healthy: a.healthChecks.length > 0 ? a.tasksHealthy : a.tasksRunning,
        ...(d
          ? {
            deployment: {
              progress: d.totalSteps === 0
                ? up
                : Math.min(1, (Math.max(0, d.currentStep - 1) + up) / d.totalSteps),
              ...(action ? { step: action } : {}),
            },
          }
          : {}),
      };
    });
  };
}
