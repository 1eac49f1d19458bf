/**
 * Deployment plans: the diff of two sets of apps as Marathon's steps. Step 1 stops removed
 * apps, step 2 starts new ones, then one step per dependency depth (dependencies first) with
 * ScaleApplication for new and scale-only changes and RestartApplication for config changes.
 * A plan's revert is the plan from its target back to its original.
 */
import { z } from "zod";
import type { App } from "../app/normalize.ts";
import { isChildOf } from "../app/path_id.ts";

export const DeploymentActionSchema = z.object({
  action: z.enum(["StartApplication", "StopApplication", "ScaleApplication", "RestartApplication"]),
  app: z.string(),
});
/** One action of a step. */
export type DeploymentAction = z.infer<typeof DeploymentActionSchema>;

export const DeploymentPlanSchema = z.object({
  id: z.string(),
  version: z.string(),
  affectedApps: z.array(z.string()),
  steps: z.array(z.object({ actions: z.array(DeploymentActionSchema) })),
});
/** A deployment plan, the shape `/v2/deployments` shows. */
export type DeploymentPlan = z.infer<typeof DeploymentPlanSchema>;

/** Inputs of `planDeployment`. */
export interface PlanInput {
  id: string;
  version: string;
  original: ReadonlyMap<string, App>;
  target: ReadonlyMap<string, App>;
  /** Apps to restart even without a config change (`POST /v2/apps/{id}/restart`). */
  restart?: ReadonlySet<string>;
  /** An app's dependencies, app or group ids (default: its own; groups' are inherited). */
  dependencies?: (app: App) => readonly string[];
}

const IGNORED_FOR_CONFIG = new Set(["instances", "version", "versionInfo"]);

/** Whether two versions of an app differ in anything but instances and version. */
export function isConfigChange(a: App, b: App): boolean {
  return canonical(a) !== canonical(b);
}

function canonical(app: App): string {
  return JSON.stringify(sortKeys(app, true));
}

function sortKeys(value: unknown, top: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, false));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (top && IGNORED_FOR_CONFIG.has(key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v, false);
  }
  return out;
}

/**
 * Longest dependency path below each app (deps outside `apps` are ignored; cycles cut). A
 * dependency on a group is one on every app below it.
 */
export function dependencyDepths(
  apps: ReadonlyMap<string, App>,
  dependencies: (app: App) => readonly string[] = (app) => app.dependencies ?? [],
): Map<string, number> {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const app = apps.get(id);
    const deps = (app ? dependencies(app) : []).flatMap((d) =>
      apps.has(d) ? [d] : [...apps.keys()].filter((other) => isChildOf(other, d))
    );
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(visit));
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const id of apps.keys()) visit(id);
  return depth;
}

/** The plan that takes `original` to `target`. Steps with no actions are left out. */
export function planDeployment(input: PlanInput): DeploymentPlan {
  const { original, target } = input;
  const steps: DeploymentAction[][] = [];
  const removed = [...original.keys()].filter((id) => !target.has(id)).sort();
  const added = [...target.keys()].filter((id) => !original.has(id)).sort();
  if (removed.length > 0) {
    const depths = dependencyDepths(original, input.dependencies);
    const byDepth = groupBy(removed, (id) => depths.get(id) ?? 0);
    for (const d of [...byDepth.keys()].sort((a, b) => b - a)) {
      steps.push(byDepth.get(d)!.map((app) => ({ action: "StopApplication", app })));
    }
  }
  if (added.length > 0) steps.push(added.map((app) => ({ action: "StartApplication", app })));

  const depths = dependencyDepths(target, input.dependencies);
  const changes: [string, DeploymentAction["action"]][] = [];
  for (const [id, app] of target) {
    const before = original.get(id);
    if (!before) changes.push([id, "ScaleApplication"]);
    else if (isConfigChange(before, app) || input.restart?.has(id)) {
      changes.push([id, "RestartApplication"]);
    } else if (before.instances !== app.instances) changes.push([id, "ScaleApplication"]);
  }
  const byDepth = groupBy(changes, ([id]) => depths.get(id) ?? 0);
  for (const d of [...byDepth.keys()].sort((a, b) => a - b)) {
    const actions = byDepth.get(d)!.sort(([a], [b]) => a.localeCompare(b));
    steps.push(actions.map(([app, action]) => ({ action, app })));
  }
  const affected = new Set(steps.flat().map((a) => a.app));
  return {
    id: input.id,
    version: input.version,
    affectedApps: [...affected].sort(),
    steps: steps.map((actions) => ({ actions })),
  };
}

/** The plan that undoes `plan`: from its target back to its original. */
export function revertPlan(input: PlanInput): DeploymentPlan {
  return planDeployment({ ...input, original: input.target, target: input.original });
}

function groupBy<T>(items: readonly T[], key: (t: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    out.set(k, [...(out.get(k) ?? []), item]);
  }
  return out;
}

/** Inputs of `planPodDeployment`: one pod before and after (either may be absent). */
export interface PodPlanInput {
  id: string;
  version: string;
  podId: string;
  before?: { instances: number };
  after?: { instances: number };
  /** Whether the pod's configuration changed (or a restart was asked for). */
  configChanged: boolean;
}

/**
 * The plan of a change to one pod, in the steps an app's would have: a removed pod stops, a new
 * one starts then scales, a changed one restarts (rolling, under its upgrade strategy), a
 * rescaled one scales. Marathon names pod actions as app ones (the JSON says `pod`).
 */
export function planPodDeployment(input: PodPlanInput): DeploymentPlan {
  const app = input.podId;
  const steps: DeploymentAction[][] = [];
  if (!input.after) steps.push([{ action: "StopApplication", app }]);
  else if (!input.before) {
    steps.push([{ action: "StartApplication", app }], [{ action: "ScaleApplication", app }]);
  } else if (input.configChanged) steps.push([{ action: "RestartApplication", app }]);
  else if (input.before.instances !== input.after.instances) {
    steps.push([{ action: "ScaleApplication", app }]);
  }
  return {
    id: input.id,
    version: input.version,
    affectedApps: [app],
    steps: steps.map((actions) => ({ actions })),
  };
}
