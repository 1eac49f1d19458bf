/**
 * Pure bookkeeping of pod instances from Mesos status updates: each container's task keeps its
 * own condition and health, and the instance's follow from them all (Marathon's instance state
 * of a pod): terminal once every task is, going down (Killing) once one failed or was killed
 * while others still run, otherwise as far as its least advanced task; healthy when every
 * container with a health check reported healthy.
 */
import type { TaskStatus } from "../../../protocol/mod.ts";
import {
  type Condition,
  conditionOf,
  type Instance,
  isTerminal,
  type PodTask,
} from "../model/instance.ts";

/** Terminal conditions, the one the instance takes first. */
const WORST: readonly Condition[] = [
  "Failed",
  "Error",
  "Gone",
  "Dropped",
  "Unknown",
  "Killed",
  "Finished",
];
/** Live conditions, least advanced first. */
const LEAST: readonly Condition[] = [
  "Unreachable",
  "Scheduled",
  "Provisioned",
  "Staging",
  "Starting",
  "Killing",
  "Running",
];

/** The condition of a pod instance with these tasks. */
export function podCondition(tasks: readonly PodTask[]): Condition {
  const ended = tasks.filter((t) => isTerminal(t.condition));
  if (ended.length === tasks.length) {
    return WORST.find((c) => ended.some((t) => t.condition === c)) ?? "Finished";
  }
  // A task that finishes leaves its group running; one that fails or is killed ends it.
  if (ended.some((t) => t.condition !== "Finished")) return "Killing";
  const live = tasks.filter((t) => !isTerminal(t.condition));
  return LEAST.find((c) => live.some((t) => t.condition === c)) ?? "Running";
}

/** Whether the instance is healthy: every container with a check (`checked`) says so. */
export function podHealth(
  tasks: readonly PodTask[],
  checked: ReadonlySet<string>,
): boolean | undefined {
  const reports = tasks.filter((t) => checked.has(t.name)).map((t) => t.healthy);
  if (reports.length === 0) return undefined;
  if (reports.some((h) => h === false)) return false;
  return reports.every((h) => h === true) ? true : undefined;
}

/** The pod instance after `status` (of one of its tasks) arrived at `now`. */
export function applyPodStatus(
  instance: Instance,
  status: TaskStatus,
  now: number,
  checked: ReadonlySet<string>,
): Instance {
  const condition = conditionOf(status.state);
  const tasks = (instance.tasks ?? []).map((t): PodTask => {
    if (t.taskId !== status.task_id.value) return t;
    const next: PodTask = {
      ...t,
      condition,
      since: condition === t.condition ? t.since : now,
    };
    if (condition === "Running" && t.startedAt === undefined) next.startedAt = now;
    if (status.healthy !== undefined) next.healthy = status.healthy;
    if (condition !== "Running") delete next.healthy;
    if (status.message !== undefined) next.message = status.message;
    return next;
  });
  const aggregate = podCondition(tasks);
  const next: Instance = {
    ...instance,
    tasks,
    condition: aggregate,
    since: aggregate === instance.condition ? instance.since : now,
  };
  if (aggregate === "Running" && instance.startedAt === undefined) next.startedAt = now;
  const healthy = aggregate === "Running" ? podHealth(tasks, checked) : undefined;
  if (healthy === undefined) delete next.healthy;
  else next.healthy = healthy;
  if (status.agent_id) next.agentId = status.agent_id.value;
  if (status.message !== undefined) next.message = status.message;
  const ip = status.container_status?.network_infos?.[0]?.ip_addresses?.[0]?.ip_address;
  if (ip) next.ipAddress = ip;
  return next;
}
