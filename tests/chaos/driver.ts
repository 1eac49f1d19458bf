/**
 * The workload of a chaos run: rolling deployments and scale changes of the apps, without end,
 * through Marathon's API (any Marathon, riding failovers: marathon_client.ts). Each step picks
 * an app with no deployment in progress and scales it, changes its config (a rolling restart),
 * restarts it, or creates or deletes an extra app; every acknowledged change goes in the ledger.
 */
import { z } from "zod";
import { APP_IDS, appSpec, EXTRA_GROUP, GROUPS, groupSpec } from "./apps.ts";
import type { Ledger } from "./ledger.ts";
import type { MarathonClient, Outcome } from "./marathon_client.ts";
import type { Prng } from "./prng.ts";
import { type MarathonApp, MarathonAppsSchema } from "./views.ts";

/** What the driver did. */
export interface DriverStats {
  steps: number;
  acked: number;
  refused: number;
  failed: number;
  unknown: number;
}

const AnswerSchema = z.object({ version: z.string(), deploymentId: z.string().optional() });
const CreatedSchema = z.object({
  version: z.string(),
  deployments: z.array(z.object({ id: z.string() })).default([]),
});

/** The gen of an app (its `env.GEN`, 0 when missing). */
function genOf(app: MarathonApp): number {
  const gen = Number(app.env.GEN);
  return Number.isInteger(gen) ? gen : 0;
}

/** Drives Marathon; `run()` until the signal aborts, after the step in flight. */
export class Driver {
  readonly stats: DriverStats = { steps: 0, acked: 0, refused: 0, failed: 0, unknown: 0 };
  #extra = 0;

  constructor(
    readonly client: MarathonClient,
    readonly ledger: Ledger,
    readonly prng: Prng,
    readonly options: { log?: (line: string) => void } = {},
  ) {}

  /** Creates the groups and apps (two instances each) and waits until they run. */
  async setUp(): Promise<void> {
    const outcome = await this.client.mutate("POST", "/v2/groups", groupSpec(2));
    if (outcome.kind !== "acked") {
      throw new Error(`Cannot create the chaos apps: ${JSON.stringify(outcome)}`);
    }
    for (const g of GROUPS) this.ledger.group(g);
    const deploymentId = AnswerSchema.parse(outcome.json).deploymentId;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const apps = await this.#apps();
      const ready = apps?.filter((a) => APP_IDS.includes(a.id)) ?? [];
      if (
        ready.length === APP_IDS.length &&
        ready.every((a) => a.deployments.length === 0 && a.tasksRunning === a.instances)
      ) {
        for (const a of ready) {
          this.ledger.acked(a.id, {
            version: a.version,
            instances: a.instances,
            gen: genOf(a),
            at: Date.now(),
            op: "create",
            ...(deploymentId ? { deploymentId } : {}),
          });
        }
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("The chaos apps did not all run within 60 s");
  }

  /** Steps every 0.5–2.5 s until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await new Promise((r) => setTimeout(r, this.prng.int(500, 2500)));
      if (signal.aborted) break;
      await this.step().catch((e) => this.options.log?.(`driver: ${e}`));
    }
  }

  /** One change (or none, when every app is deploying or Marathon does not answer). */
  async step(): Promise<void> {
    const apps = await this.#apps();
    if (!apps) return;
    this.stats.steps++;
    const idle = apps.filter((a) => APP_IDS.includes(a.id) && a.deployments.length === 0);
    const op = this.prng.weighted(
      [["scale", 45], ["config", 35], ["restart", 10], ["extra", 10]] as const,
    );
    if (op === "extra") return await this.#extraApp(apps);
    if (idle.length === 0) return;
    const app = this.prng.pick(idle);
    const path = `/v2/apps${app.id}`;
    switch (op) {
      case "scale": {
        const choices = [1, 2, 3, 4].filter((n) => n !== app.instances);
        const instances = this.prng.pick(choices);
        const outcome = await this.client.mutate("PUT", path, { instances });
        this.#record(app.id, outcome, { op, instances, gen: genOf(app) });
        return;
      }
      case "config": {
        const gen = genOf(app) + 1;
        const outcome = await this.client.mutate("PUT", path, { env: { GEN: String(gen) } });
        this.#record(app.id, outcome, { op, instances: app.instances, gen });
        return;
      }
      case "restart": {
        const outcome = await this.client.mutate("POST", `${path}/restart`);
        this.#record(app.id, outcome, { op, instances: app.instances, gen: genOf(app) });
        return;
      }
    }
  }

  /** Creates an extra app when none exists, else deletes the one there is. */
  async #extraApp(apps: MarathonApp[]): Promise<void> {
    const existing = apps.find((a) => a.id.startsWith(`${EXTRA_GROUP}/`));
    if (existing) {
      if (existing.deployments.length > 0) return;
      const outcome = await this.client.mutate("DELETE", `/v2/apps${existing.id}`);
      this.#record(existing.id, outcome, {
        op: "delete",
        instances: existing.instances,
        gen: genOf(existing),
      });
      return;
    }
    const id = `${EXTRA_GROUP}/x${++this.#extra}`;
    const instances = this.prng.int(1, 3);
    const outcome = await this.client.mutate("POST", "/v2/apps", appSpec(id, instances, 1));
    this.#record(id, outcome, { op: "create", instances, gen: 1 });
  }

  #record(
    appId: string,
    outcome: Outcome,
    change: {
      op: "create" | "scale" | "config" | "restart" | "delete";
      instances: number;
      gen: number;
    },
  ): void {
    this.stats[outcome.kind]++;
    if (outcome.kind === "unknown" || (outcome.kind === "refused" && outcome.unsure)) {
      this.ledger.unsure(appId);
      this.options.log?.(
        `driver: ${change.op} ${appId}: outcome unknown (${
          "error" in outcome ? outcome.error : outcome.status
        })`,
      );
      return;
    }
    if (outcome.kind !== "acked") return;
    const at = Date.now();
    if (change.op === "create") {
      const created = CreatedSchema.parse(outcome.json);
      const deploymentId = created.deployments[0]?.id;
      this.ledger.acked(appId, {
        ...change,
        version: created.version,
        at,
        ...(deploymentId ? { deploymentId } : {}),
      });
      return;
    }
    const answer = AnswerSchema.parse(outcome.json);
    this.ledger.acked(appId, {
      ...change,
      version: answer.version,
      at,
      ...(answer.deploymentId ? { deploymentId: answer.deploymentId } : {}),
    });
  }

  async #apps(): Promise<MarathonApp[] | undefined> {
    const body = await this.client.get("/v2/apps", { deadlineMs: 10_000 });
    const parsed = MarathonAppsSchema.safeParse(body);
    return parsed.success ? parsed.data.apps : undefined;
  }
}
