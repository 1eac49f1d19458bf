/**
 * Marathon's `/v2/queue` entries (RAML `QueueApp` | `QueuePod`): a run spec with instances left
 * to launch or a launch delay still running, how many, since when, and why the last offers did
 * not fit it. Read from the store; pods are queued as apps are (same backoff, same reasons).
 */
import type { Backoff } from "../deployment/backoff.ts";
import { configVersion } from "../deployment/reconcile.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import { isActive } from "../model/instance.ts";
import { podJson } from "../pod/parse.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import type { MarathonStore } from "../store/store.ts";

/** What a queue view reads. */
export interface QueueDeps {
  store: MarathonStore;
  backoff: Backoff;
  now: number;
  /** Why the last offers did not fit each run spec (`InsufficientMemory: …`). */
  offerReasons?: (id: string) => readonly string[] | undefined;
  /** Whether the caller may see a run spec (its view ACL); all when not given. */
  visible?: (id: string) => boolean;
}

/** Marathon's `QueueObject`: what every queue entry holds besides its app or pod. */
export interface QueueObject {
  count: number;
  role: string;
  delay: { timeLeftSeconds: number; overdue: boolean };
  since: string;
  processedOffersSummary: Record<string, unknown>;
}

/** The queue entry of a run spec, or undefined when none of it waits (all launched, no delay). */
export async function queueObject(
  spec: RunSpec & { role?: string },
  deps: QueueDeps,
): Promise<QueueObject | undefined> {
  const { store, backoff, now } = deps;
  const active = (await store.state()).instances(spec.id).filter(isActive).length;
  const state = (await store.state()).backoff(spec.id);
  const allowedAt = backoff.launchAllowedAt(spec, configVersion(spec), state, now);
  const left = Math.max(0, spec.instances - active);
  if (left === 0 && allowedAt <= now) return undefined;
  return {
    count: left,
    role: spec.role ?? "*",
    delay: {
      timeLeftSeconds: Math.max(0, Math.ceil((allowedAt - now) / 1000)),
      overdue: allowedAt <= now,
    },
    since: new Date(state?.lastFailureAt ?? now).toISOString(),
    processedOffersSummary: offerSummary(deps.offerReasons?.(spec.id) ?? []),
  };
}

/** The pods in the queue: Marathon's `QueuePod` (`{pod, count, delay, …}`) for each. */
export async function queuedPods(deps: QueueDeps): Promise<Record<string, unknown>[]> {
  const queued = [];
  const visible = deps.visible ?? (() => true);
  for (const pod of (await deps.store.state()).pods().filter((p) => visible(p.id))) {
    const entry = await queueObject({ ...podRunSpec(pod), role: pod.role ?? "*" }, deps);
    if (entry) queued.push({ pod: podJson(pod), ...entry });
  }
  return queued;
}

/** Marathon's `processedOffersSummary` from the reasons the last offers were declined. */
export function offerSummary(reasons: readonly string[]): Record<string, unknown> {
  const counts = new Map<string, number>();
  for (const r of reasons) {
    const name = r.split(":")[0]!;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return {
    processedOffersCount: reasons.length,
    unusedOffersCount: reasons.length,
    rejectSummaryLastOffers: [...counts].map(([reason, declined]) => ({
      reason,
      declined,
      processed: reasons.length,
    })),
  };
}
