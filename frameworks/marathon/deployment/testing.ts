/** Test helpers for the deployment core: instances built in one line, a tiny cluster simulator. */
import type { App } from "../app/normalize.ts";
import { instanceIdFor } from "../app/path_id.ts";
import { taskIdFor } from "../app/task_info.ts";
import type { Condition, Instance } from "../model/instance.ts";
import { configVersion, isHealthy, reconcileApp } from "./reconcile.ts";

let seq = 0;

/** An instance of `app` at `version` (default: the app's config version). */
export function instance(
  app: App,
  overrides: Partial<Instance> & { condition?: Condition } = {},
): Instance {
  seq++;
  const instanceId = instanceIdFor(app.id, `0000-${String(seq).padStart(6, "0")}`);
  return {
    instanceId,
    taskId: taskIdFor(instanceId),
    appId: app.id,
    version: configVersion(app),
    condition: "Running",
    goal: "Running",
    attributes: [],
    hostPorts: [],
    healthy: app.healthChecks.length > 0 ? true : undefined,
    stagedAt: seq * 1000,
    startedAt: seq * 1000 + 500,
    since: seq * 1000,
    ...overrides,
  };
}

/** One observation of the simulated app after a reconcile round. */
export interface Round {
  active: number;
  healthy: number;
  oldActive: number;
  newActive: number;
}

/**
 * Runs the reconciler round by round: kills take effect at once (goal Stopped, then Killed),
 * launches start Staging, and instances progress Staging → Running → healthy one step per
 * round, with `slow` ids progressing only every other round. Returns the rounds observed.
 */
export function simulate(app: App, start: Instance[], options: { maxRounds?: number } = {}): {
  rounds: Round[];
  instances: Instance[];
} {
  let list = [...start];
  const rounds: Round[] = [];
  const version = configVersion(app);
  for (let r = 0; r < (options.maxRounds ?? 100); r++) {
    const actions = reconcileApp(app, list);
    const killed = new Set(actions.kill.map((i) => i.instanceId));
    list = list.map((i) => (killed.has(i.instanceId) ? { ...i, goal: "Stopped" } : i));
    for (let k = 0; k < actions.launch; k++) {
      list.push(instance(app, { condition: "Staging", healthy: undefined, startedAt: undefined }));
    }
    const active = list.filter((i) => i.goal === "Running");
    rounds.push({
      active: active.length,
      healthy: active.filter((i) => isHealthy(app, i)).length,
      oldActive: active.filter((i) => i.version !== version).length,
      newActive: active.filter((i) => i.version === version).length,
    });
    if (actions.settled) break;
    list = list.flatMap((i): Instance[] => {
      if (i.goal !== "Running") return [];
      if ((Number(i.instanceId.slice(-6)) + r) % 2 === 0) return [i];
      if (i.condition === "Staging") return [{ ...i, condition: "Running", startedAt: r }];
      if (i.condition === "Running" && i.healthy === undefined && app.healthChecks.length > 0) {
        return [{ ...i, healthy: true }];
      }
      return [i];
    });
  }
  return { rounds, instances: list };
}
