/**
 * Scale-down victim choice (Marathon's `ScalingProposition`): explicitly named instances
 * first, then instances that rebalance GROUP_BY constraints, then by condition (Unreachable,
 * Staging, Starting, Running, others) and, within one condition, by age per `killSelection`.
 */
import { parseConstraints } from "../app/constraint.ts";
import type { RunSpec } from "./run_spec.ts";
import { fieldValue } from "../placement/agent_values.ts";
import type { Instance } from "../model/instance.ts";

const CONDITION_WEIGHT: Partial<Record<Instance["condition"], number>> = {
  Unreachable: 0,
  Staging: 1,
  Starting: 2,
  Running: 3,
};

/** Orders candidates from first-to-kill to last, per the app's killSelection. */
export function killOrder(app: RunSpec, candidates: readonly Instance[]): Instance[] {
  const time = (i: Instance) => i.startedAt ?? i.stagedAt;
  return [...candidates].sort((a, b) => {
    const wa = CONDITION_WEIGHT[a.condition] ?? 4, wb = CONDITION_WEIGHT[b.condition] ?? 4;
    if (wa !== wb) return wa - wb;
    const dt = app.killSelection === "YOUNGEST_FIRST" ? time(b) - time(a) : time(a) - time(b);
    return dt !== 0 ? dt : a.instanceId.localeCompare(b.instanceId);
  });
}

/**
 * Picks `count` victims among `active`: `sentenced` ids first, then for apps with a GROUP_BY
 * constraint always from the currently largest group, else in `killOrder`.
 */
export function selectVictims(
  app: RunSpec,
  active: readonly Instance[],
  count: number,
  sentenced: ReadonlySet<string> = new Set(),
): Instance[] {
  const named = active.filter((i) => sentenced.has(i.instanceId));
  const rest = killOrder(app, active.filter((i) => !sentenced.has(i.instanceId)));
  const n = Math.max(count, named.length);
  const victims = [...named];
  const groupBy = parseConstraints(app.constraints).find((c) => c.operator === "GROUP_BY");
  while (victims.length < n && rest.length > 0) {
    let idx = 0;
    if (groupBy) {
      const remaining = active.filter((i) => !victims.includes(i));
      const value = (i: Instance) =>
        i.hostname === undefined
          ? ""
          : fieldValue({ hostname: i.hostname, attributes: i.attributes }, groupBy.field) ?? "";
      const counts = new Map<string, number>();
      for (const i of remaining) counts.set(value(i), (counts.get(value(i)) ?? 0) + 1);
      const largest = Math.max(...rest.map((i) => counts.get(value(i)) ?? 0));
      idx = rest.findIndex((i) => (counts.get(value(i)) ?? 0) === largest);
    }
    victims.push(...rest.splice(idx, 1));
  }
  return victims;
}
