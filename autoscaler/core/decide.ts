/**
 * The autoscaler's decision for one app, pure: from what was observed (instances, the metric per
 * running instance) and what it remembers (when it last scaled, its recent recommendations) to
 * scale or hold, with the reason. Kubernetes' HPA rule — desired = ceil(running × value /
 * target), nothing within the tolerance — bounded by min/max, steps and cooldowns; a scale-down
 * never goes below the highest recommendation of its cooldown window, so a steady load that
 * wavers around the target never flaps.
 */
import type { Policy } from "./policy.ts";

/** What the shell saw of an app at one instant. */
export interface Observation {
  appId: string;
  /** Marathon's `instances` (what it is asked to run). */
  instances: number;
  /** Instances running (healthy, for apps with health checks). */
  running: number;
  /** A Marathon deployment of the app is under way. */
  deploying: boolean;
  /** The metric per running instance, or undefined when there is no sample yet. */
  value: number | undefined;
}

/** What the core remembers of an app between decisions. */
export interface Memory {
  lastUpAt?: number;
  lastScaleAt?: number;
  /** Recommendations of the last `downCooldownMs`, oldest first. */
  recommendations: { at: number; desired: number }[];
}

/** A decision: change `instances`, or leave them. */
export type Decision =
  | { kind: "scale"; appId: string; from: number; to: number; reason: string }
  | { kind: "hold"; appId: string; instances: number; desired: number; reason: string };

/** An empty memory. */
export function freshMemory(): Memory {
  return { recommendations: [] };
}

/** Decides for one app; returns the decision and the memory to keep. */
export function decide(
  policy: Policy,
  seen: Observation,
  memory: Memory,
  now: number,
): { decision: Decision; memory: Memory } {
  const { appId, instances } = seen;
  const hold = (desired: number, reason: string, m: Memory = memory) => ({
    decision: { kind: "hold" as const, appId, instances, desired, reason },
    memory: m,
  });
  const scale = (to: number, reason: string, m: Memory) => ({
    decision: { kind: "scale" as const, appId, from: instances, to, reason },
    memory: {
      ...m,
      lastScaleAt: now,
      ...(to > instances ? { lastUpAt: now } : {}),
    },
  });
  if (seen.deploying) return hold(instances, "a deployment is under way");
  if (instances < policy.min) {
    return scale(policy.min, `below the minimum of ${policy.min}`, memory);
  }
  if (instances > policy.max) {
    return scale(policy.max, `above the maximum of ${policy.max}`, memory);
  }
  if (seen.value === undefined) return hold(instances, "no metric sample yet");
  if (seen.running === 0) return hold(instances, "no instance is running yet");

  const ratio = seen.value / policy.target;
  const within = Math.abs(ratio - 1) <= policy.tolerance;
  const raw = within ? instances : Math.ceil(seen.running * ratio - 1e-9);
  const desired = Math.min(policy.max, Math.max(policy.min, raw));
  const recent = [
    ...memory.recommendations.filter((r) => r.at > now - policy.downCooldownMs),
    { at: now, desired },
  ];
  const remembered: Memory = { ...memory, recommendations: recent };
  const measured = `${formatValue(seen.value)} per instance against a target of ` +
    `${formatValue(policy.target)} (${policy.metric})`;

  if (desired > instances) {
    const since = memory.lastUpAt === undefined ? Infinity : now - memory.lastUpAt;
    if (since < policy.upCooldownMs) {
      return hold(
        desired,
        `scale-up cooling down (${since} ms of ${policy.upCooldownMs})`,
        remembered,
      );
    }
    const to = Math.min(desired, instances + policy.upStep);
    return scale(to, `${measured}: wants ${desired}`, remembered);
  }
  if (desired < instances) {
    // The highest recommendation of the window: a dip in load does not remove instances.
    const floor = Math.max(...recent.map((r) => r.desired));
    if (floor >= instances) {
      return hold(desired, `stabilizing: wanted ${floor} within the scale-down window`, remembered);
    }
    const since = memory.lastScaleAt === undefined ? Infinity : now - memory.lastScaleAt;
    if (since < policy.downCooldownMs) {
      return hold(
        desired,
        `scale-down cooling down (${since} ms of ${policy.downCooldownMs})`,
        remembered,
      );
    }
    const to = Math.max(floor, instances - policy.downStep);
    return scale(to, `${measured}: wants ${desired}`, remembered);
  }
  return hold(
    desired,
    within ? `${measured}: within tolerance` : `${measured}: at the bound`,
    remembered,
  );
}

function formatValue(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
