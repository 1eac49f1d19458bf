/**
 * The per-app (and per-pod) reconciler: from a run spec's target and its instances, what to kill and
 * how many to launch now. Scaling when every active instance runs the target config version;
 * a rolling restart (Marathon's TaskReplaceActor) honouring minimumHealthCapacity and
 * maximumOverCapacity otherwise. Level-triggered: call it again after every change.
 */
import { isResident } from "../app/normalize.ts";
import type { RunSpec } from "./run_spec.ts";
import { type Instance, isActive } from "../model/instance.ts";
import { killOrder, selectVictims } from "./kill_selection.ts";

/** What to do for one app right now. */
export interface AppActions {
  kill: Instance[];
  launch: number;
  /** Whether the app has reached its target: enough new, healthy, ready instances, no old. */
  settled: boolean;
}

/** The config version instances are compared against (a scale-only change keeps it). */
export function configVersion(app: RunSpec): string {
  return app.versionInfo?.lastConfigChangeAt ?? app.version ?? "";
}

/** Whether an instance counts as healthy: running, health checks passed (if any), ready. */
export function isHealthy(app: RunSpec, i: Instance): boolean {
  if (!isActive(i) || i.condition !== "Running") return false;
  if (app.healthChecks.length > 0 && i.healthy !== true) return false;
  if (app.readinessChecks.length > 0 && i.ready !== true) return false;
  return true;
}

/** The capacity bounds of a rolling restart for `app`. */
export function restartBounds(app: RunSpec): { minHealthy: number; maxCapacity: number } {
  const n = app.instances;
  const { minimumHealthCapacity, maximumOverCapacity } = app.upgradeStrategy;
  const minHealthy = Math.ceil(n * minimumHealthCapacity - 1e-9);
  let maxCapacity = Math.floor(n * (1 + maximumOverCapacity) + 1e-9);
  if (n > 0 && minHealthy >= maxCapacity && !isResident(app)) maxCapacity = minHealthy + 1;
  return { minHealthy, maxCapacity };
}

/** What to kill and launch for `app` given all its instances (any version, any condition). */
export function reconcileApp(app: RunSpec, instances: readonly Instance[]): AppActions {
  const version = configVersion(app);
  const active = instances.filter(isActive);
  const old = active.filter((i) => i.version !== version);
  const current = active.filter((i) => i.version === version);
  if (old.length === 0) return scale(app, current);
  return restart(app, old, current);
}

function scale(app: RunSpec, current: Instance[]): AppActions {
  const n = app.instances;
  if (current.length > n) {
    return { kill: selectVictims(app, current, current.length - n), launch: 0, settled: false };
  }
  const launch = n - current.length;
  const settled = launch === 0 && current.every((i) => isHealthy(app, i));
  return { kill: [], launch, settled };
}

function restart(app: RunSpec, old: Instance[], current: Instance[]): AppActions {
  const n = app.instances;
  const { minHealthy, maxCapacity } = restartBounds(app);
  const healthyOld = old.filter((i) => isHealthy(app, i));
  const unhealthyOld = old.filter((i) => !isHealthy(app, i));
  const healthyNew = current.filter((i) => isHealthy(app, i));
  const kill: Instance[] = [];

  // Extra new instances beyond the target are surplus whatever happens.
  if (current.length > n) kill.push(...selectVictims(app, current, current.length - n));
  const currentKept = current.length - Math.max(0, current.length - n);

  // Old instances that are not healthy do not hold up capacity: replace them first.
  kill.push(...killOrder(app, unhealthyOld));
  const healthyNewKept = Math.min(healthyNew.length, currentKept);
  let budget = healthyOld.length + healthyNewKept - minHealthy;
  if (isResident(app) && minHealthy >= maxCapacity && budget <= 0 && healthyOld.length > 0) {
    budget = 1;
  }
  const killOld = killOrder(app, healthyOld).slice(
    0,
    Math.max(0, Math.min(budget, healthyOld.length)),
  );
  kill.push(...killOld);

  const oldLeft = old.length - unhealthyOld.length - killOld.length;
  const launch = Math.max(0, Math.min(n - currentKept, maxCapacity - oldLeft - currentKept));
  return { kill, launch, settled: false };
}
