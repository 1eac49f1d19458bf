/**
 * What the scheduler core does to instances, as small pure steps: kill an instance's tasks (at most
 * every 10 s each), reconcile task states with the master, resume a resident app's suspended
 * reservations, and whether an ended task keeps its reservation.
 */
import type { App } from "../app/normalize.ts";
import { configVersion } from "../deployment/reconcile.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import { type Instance, isTerminal } from "../model/instance.ts";
import type { Pod } from "../pod/schema.ts";
import type { Outcome } from "./changes.ts";
import type { InstanceDraft } from "./instance_draft.ts";

/** A kill is sent again after this long without a terminal status. */
const RESEND_KILL_MS = 10_000;

/** Every task id of an instance (a pod instance has one per container). */
export function taskIdsOf(i: Instance): string[] {
  return i.tasks ? i.tasks.map((t) => t.taskId) : [i.taskId];
}

/**
 * Asks the master for the state of every task Marathon knows (explicit), then of every task it
 * runs for Marathon (implicit): the answers correct what Marathon missed, and a task it does not
 * know is killed when its status arrives (`update()`).
 */
export function reconcileInto(
  out: Outcome & { memo: { reconciledAt: number | undefined } },
  instances: readonly Instance[],
  now: number,
): void {
  out.memo.reconciledAt = now;
  const known = instances.filter((i) => !isTerminal(i.condition));
  out.driver.push({
    type: "reconcile",
    tasks: known.flatMap((i) =>
      taskIdsOf(i).map((taskId) => ({ taskId, ...(i.agentId ? { agentId: i.agentId } : {}) }))
    ),
  });
  out.driver.push({ type: "reconcile", tasks: [] });
}

/** Kills an instance's tasks (each of a pod instance's, with its container's grace), at most every 10 s. */
export function killInto(
  out: Outcome,
  killSentAt: Map<string, number>,
  i: Instance,
  spec: App | Pod | undefined,
  now: number,
): void {
  const tasks = i.tasks
    ? i.tasks.filter((t) => !isTerminal(t.condition)).map((t) => ({
      taskId: t.taskId,
      grace: spec && "containers" in spec
        ? spec.containers.find((c) => c.name === t.name)?.lifecycle?.killGracePeriodSeconds
        : undefined,
    }))
    : [{
      taskId: i.taskId,
      grace: spec && !("containers" in spec) ? spec.taskKillGracePeriodSeconds : undefined,
    }];
  for (const { taskId, grace } of tasks) {
    const sent = killSentAt.get(taskId);
    if (sent !== undefined && now - sent < RESEND_KILL_MS) continue;
    killSentAt.set(taskId, now);
    out.driver.push({
      type: "kill",
      taskId,
      ...(i.agentId ? { agentId: i.agentId } : {}),
      ...(grace !== undefined ? { graceMs: grace * 1000 } : {}),
    });
  }
}

/**
 * Scaling a resident app up takes back its suspended reservations first (Marathon relaunches on
 * them rather than reserve anew): up to `wanted` of them are wanted running again, on the app's
 * current config.
 */
export function resume(
  draft: InstanceDraft,
  app: RunSpec,
  mine: readonly Instance[],
  wanted: number,
) {
  const suspended = mine.filter((i) => i.condition === "Reserved" && i.goal === "Stopped");
  for (const i of suspended.slice(0, wanted)) {
    draft.update(i.appId, i.instanceId, (c) => ({
      ...c,
      goal: "Running",
      version: configVersion(app),
    }));
  }
}

/**
 * Whether an instance keeps its reservation when its task ends: a resident one whose reservation
 * was made (a first launch that never started may have reserved nothing), unless it is being
 * decommissioned (its app deleted).
 */
export function keepsReservation(i: Instance): boolean {
  return i.reservation !== undefined && i.reservation.state !== "New" &&
    i.goal !== "Decommissioned";
}
