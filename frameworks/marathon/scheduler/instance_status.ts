/**
 * Pure instance bookkeeping from Mesos status updates: condition, health, start time; and the
 * unreachable strategy (Unreachable → UnreachableInactive after `inactiveAfterSeconds`,
 * expunged after `expungeAfterSeconds`).
 */
import type { TaskStatus } from "../../../protocol/mod.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import { conditionOf, type Instance } from "../model/instance.ts";

/** The instance after `status` arrived at `now`. */
export function applyStatus(instance: Instance, status: TaskStatus, now: number): Instance {
  const condition = conditionOf(status.state);
  const next: Instance = {
    ...instance,
    since: condition === instance.condition ? instance.since : now,
    condition,
  };
  if (condition === "Running" && instance.startedAt === undefined) next.startedAt = now;
  if (status.healthy !== undefined) next.healthy = status.healthy;
  if (status.agent_id) next.agentId = status.agent_id.value;
  if (status.message !== undefined) next.message = status.message;
  const ip = status.container_status?.network_infos?.[0]?.ip_addresses?.[0]?.ip_address;
  if (ip) next.ipAddress = ip;
  if (condition !== "Running") delete next.healthy;
  return next;
}

/** What the unreachable strategy makes of an instance at `now`. */
export type UnreachableVerdict = "keep" | "inactive" | "expunge";

/** Applies `app.unreachableStrategy` to an instance that is (or was) unreachable. */
export function unreachableVerdict(
  app: RunSpec | undefined,
  instance: Instance,
  now: number,
): UnreachableVerdict {
  if (instance.condition !== "Unreachable" && instance.condition !== "UnreachableInactive") {
    return "keep";
  }
  const strategy = app?.unreachableStrategy ?? { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 };
  if (strategy === "disabled") return "keep";
  const elapsed = now - instance.since;
  if (instance.condition === "UnreachableInactive") {
    return elapsed >= (strategy.expungeAfterSeconds - strategy.inactiveAfterSeconds) * 1000
      ? "expunge"
      : "keep";
  }
  return elapsed >= strategy.inactiveAfterSeconds * 1000 ? "inactive" : "keep";
}
