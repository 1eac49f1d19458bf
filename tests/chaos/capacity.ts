/**
 * Never more live instances of an app than its upgrade strategy allows, sampled all run long.
 *
 * Live instances are counted as Marathon counts them, then checked against what really runs:
 * Marathon's active instances (staged or running; those it has asked to kill, and those on
 * hosts it has written off, do not count), plus task processes found running that Marathon has
 * written off (unreachable, replaced) or does not know at all. Allowed: Marathon's rolling-restart
 * capacity, floor(instances × (1 + maximumOverCapacity)) — one more when minimumHealthCapacity
 * leaves no room, as Marathon allows — the larger of the old and new `instances` while a
 * deployment scales down, plus the live instances on hosts that were unreachable (cut off, or
 * their agent not active at the master) within the last `graceMs`. An excess is a violation
 * when two consecutive samples see it (one sample may read Marathon between a kill and its
 * record).
 */
import type { Snapshot } from "./chaos_cluster.ts";
import type { MarathonApp } from "./views.ts";
import type { Violation } from "./violation.ts";

/** Marathon's capacity bound of a rolling restart (its TaskReplaceActor's). */
export function maxCapacity(app: Pick<MarathonApp, "instances" | "upgradeStrategy">): number {
  const n = app.instances;
  const { minimumHealthCapacity, maximumOverCapacity } = app.upgradeStrategy;
  const minHealthy = Math.ceil(n * minimumHealthCapacity - 1e-9);
  const max = Math.floor(n * (1 + maximumOverCapacity) + 1e-9);
  return n > 0 && minHealthy >= max ? minHealthy + 1 : max;
}

/** One app's count at one sample. */
export interface CapacityRow {
  appId: string;
  live: number;
  onUnreachable: number;
  bound: number;
  allowed: number;
  /** The live instances, as `taskId@host`. */
  liveTasks: string[];
}

/**
 * Counts each app's live instances in a snapshot (see the module's comment). `unreachable`:
 * agents' names (= hosts) unreachable within the grace; `previousInstances`: the largest
 * `instances` the app had recently, while a deployment is in progress.
 */
export function countLive(
  snapshot: Snapshot,
  options: { unreachable: ReadonlySet<string>; previousInstances?: ReadonlyMap<string, number> },
): CapacityRow[] {
  const { apps, marathonTasks } = snapshot;
  if (!apps || !marathonTasks) return [];
  const known = new Map(marathonTasks.map((t) => [t.id, t]));
  return apps.map((app) => {
    const live = new Map<string, string>();
    for (const t of app.tasks) live.set(t.id, t.host);
    for (const r of snapshot.running) {
      if (r.appId !== app.id || live.has(r.taskId)) continue;
      const marathon = known.get(r.taskId);
      // Marathon knows it and keeps it out of its count: it asked to kill it. Not live.
      if (marathon && marathon.state !== "TASK_UNREACHABLE") continue;
      live.set(r.taskId, r.host);
    }
    const onUnreachable = [...live.values()].filter((h) => options.unreachable.has(h)).length;
    let bound = maxCapacity(app);
    if (app.deployments.length > 0) {
      bound = Math.max(bound, options.previousInstances?.get(app.id) ?? 0);
    }
    return {
      appId: app.id,
      live: live.size,
      onUnreachable,
      bound,
      allowed: bound + onUnreachable,
      liveTasks: [...live].map(([id, host]) => `${id}@${host}`),
    };
  });
}

/** Samples fed in order; remembers recent `instances`, unreachable hosts and excesses. */
export class CapacityWatch {
  readonly #unreachableAt = new Map<string, number>();
  /** Per app, the most `instances` seen since it last had no deployment (that one included). */
  readonly #peak = new Map<string, number>();
  readonly #strikes = new Map<string, number>();
  readonly #violations: Violation[] = [];
  /** Apps with a violation in the current episode (reported once until it clears). */
  readonly #reported = new Set<string>();
  samples = 0;
  /** The largest excess seen (live − allowed), 0 if never over. */
  worstExcess = 0;

  constructor(readonly options: { graceMs: number; agents: readonly string[] }) {}

  /**
   * Feeds one snapshot. `cut`: the agents whose host's link is down now; `recent`: per app, the
   * most `instances` the driver's acknowledged changes of the last `graceMs` set or left
   * (a deployment may have come and gone between two samples).
   */
  observe(
    snapshot: Snapshot,
    inputs: { cut: ReadonlySet<string>; recent?: ReadonlyMap<string, number> },
  ): CapacityRow[] {
    const { cut } = inputs;
    const at = snapshot.at;
    for (const name of this.options.agents) {
      const active = snapshot.master?.slaves.find((s) => s.hostname === name)?.active;
      if (cut.has(name) || active === false) this.#unreachableAt.set(name, at);
    }
    const unreachable = new Set(
      [...this.#unreachableAt].filter(([, t]) => at - t <= this.options.graceMs).map(([n]) => n),
    );
    const previousInstances = new Map<string, number>();
    for (const app of snapshot.apps ?? []) {
      const peak = Math.max(this.#peak.get(app.id) ?? 0, inputs.recent?.get(app.id) ?? 0);
      previousInstances.set(app.id, peak);
      this.#peak.set(
        app.id,
        app.deployments.length === 0 ? app.instances : Math.max(peak, app.instances),
      );
    }
    const rows = countLive(snapshot, { unreachable, previousInstances });
    if (rows.length > 0) this.samples++;
    for (const row of rows) {
      const excess = row.live - row.allowed;
      if (excess <= 0) {
        this.#strikes.delete(row.appId);
        this.#reported.delete(row.appId);
        continue;
      }
      const strikes = (this.#strikes.get(row.appId) ?? 0) + 1;
      this.#strikes.set(row.appId, strikes);
      if (strikes < 2) continue;
      this.worstExcess = Math.max(this.worstExcess, excess);
      if (this.#reported.has(row.appId)) continue;
      this.#reported.add(row.appId);
      this.#violations.push({
        check: "capacity",
        message: `${row.appId}: ${row.live} live instances at ${new Date(at).toISOString()}, ` +
          `allowed ${row.allowed} (bound ${row.bound} + ${row.onUnreachable} on unreachable ` +
          `hosts): ${row.liveTasks.join(", ")}`,
      });
    }
    return rows;
  }

  violations(): Violation[] {
    return [...this.#violations];
  }
}
