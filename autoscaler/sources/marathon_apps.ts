/**
 * The Marathon API as the autoscaler uses it: apps with their labels, instances, tasks and
 * deployments (`GET /v2/apps?embed=apps.tasks`), and scaling (`PUT /v2/apps/{id}` with
 * `instances`, so Marathon's deployments, health checks and upgrade rules apply).
 */
import { z } from "zod";

const AppSchema = z.object({
  id: z.string(),
  instances: z.number(),
  cpus: z.number().default(0),
  labels: z.record(z.string()).default({}),
  healthChecks: z.array(z.unknown()).default([]),
  deployments: z.array(z.object({ id: z.string() })).default([]),
  tasks: z.array(z.object({
    id: z.string(),
    slaveId: z.string().optional(),
    host: z.string().default(""),
    state: z.string().optional(),
    healthCheckResults: z.array(z.object({ alive: z.boolean() })).default([]),
  })).default([]),
});
/** An app as the autoscaler reads it. */
export type MarathonApp = z.infer<typeof AppSchema>;

/** The tasks of an app that count: running, and healthy when the app has health checks. */
export function servingTasks(app: MarathonApp): MarathonApp["tasks"] {
  return app.tasks.filter((t) =>
    t.state === "TASK_RUNNING" &&
    (app.healthChecks.length === 0 ||
      (t.healthCheckResults.length > 0 && t.healthCheckResults.every((h) => h.alive)))
  );
}

/** A Marathon client. */
export class MarathonApps {
  readonly #base: string;
  readonly #fetch: typeof fetch;

  constructor(base: string, options: { fetch?: typeof fetch } = {}) {
    this.#base = base.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? fetch;
  }

  /** Every app with its tasks. */
  async list(): Promise<MarathonApp[]> {
    const r = await this.#fetch(`${this.#base}/v2/apps?embed=apps.tasks`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!r.ok) throw new Error(`Marathon at ${this.#base} answered /v2/apps with ${r.status}`);
    return z.object({ apps: z.array(AppSchema) }).parse(await r.json()).apps;
  }

  /** Asks Marathon to run `instances` of the app; answers the deployment id, or why not. */
  async scale(
    appId: string,
    instances: number,
  ): Promise<{ ok: true; deploymentId?: string } | { ok: false; reason: string }> {
    const path = `/v2/apps${appId.split("/").map(encodeURIComponent).join("/")}`;
    const r = await this.#fetch(`${this.#base}${path}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ instances }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await r.text();
    if (!r.ok) return { ok: false, reason: `Marathon answered ${r.status}: ${text.slice(0, 300)}` };
    const body = z.object({ deploymentId: z.string().optional() }).safeParse(JSON.parse(text));
    return {
      ok: true,
      ...(body.success && body.data.deploymentId ? { deploymentId: body.data.deploymentId } : {}),
    };
  }
}
