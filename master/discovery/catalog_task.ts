/** Builds a `CatalogTask` from the Mesos shapes the master keeps per task. */
import type { Resource, TaskInfo, TaskState, TaskStatus } from "../../protocol/mod.ts";
import type { CatalogTask } from "./catalog.ts";

/** What `catalogTaskOf()` needs: the task's info, state and statuses, and where it runs. */
export interface CatalogTaskSource {
  frameworkName: string;
  info: TaskInfo;
  state: TaskState;
  /** Statuses, oldest first; the latest one carrying `healthy` decides health. */
  statuses: readonly TaskStatus[];
  agentHostname: string;
  /** The agent's IPv4 address (e.g. the remote address of its connection to the master). */
  agentIp: string;
  /** Resources to read `ports` from when `info.resources` has none (e.g. charged resources). */
  resources?: readonly Resource[];
  draining?: boolean;
  /** The framework's user: the task's user unless its command names one (view ACLs ask). */
  frameworkUser?: string;
}

/** Host ports of a task: its `ports` resource ranges, expanded in order. */
export function hostPortsOf(resources: readonly Resource[]): number[] {
  const ports: number[] = [];
  for (const r of resources) {
    if (r.name !== "ports" || r.type !== "RANGES") continue;
    for (const range of r.ranges?.range ?? []) {
      for (let p = range.begin; p <= range.end && ports.length < 1024; p++) ports.push(p);
    }
  }
  return ports;
}

/** Maps one master task onto the catalog's input. */
export function catalogTaskOf(source: CatalogTaskSource): CatalogTask {
  const { info } = source;
  const labels: Record<string, string> = {};
  for (const l of info.labels?.labels ?? []) labels[l.key] = l.value ?? "";
  const health = [...source.statuses].reverse().find((s) => s.healthy !== undefined);
  const fromInfo = hostPortsOf(info.resources);
  const task: CatalogTask = {
    frameworkName: source.frameworkName,
    taskId: info.task_id.value,
    taskName: info.name,
    state: source.state,
    hasHealthCheck: info.health_check !== undefined,
    agentHostname: source.agentHostname,
    agentIp: source.agentIp,
    hostPorts: fromInfo.length > 0 ? fromInfo : hostPortsOf(source.resources ?? []),
    labels,
  };
  if (health?.healthy !== undefined) task.healthy = health.healthy;
  if (info.discovery !== undefined) task.discovery = info.discovery;
  if (source.draining === true) task.draining = true;
  const user = info.command?.user ?? source.frameworkUser;
  if (user !== undefined) task.user = user;
  if (source.frameworkUser !== undefined) task.frameworkUser = source.frameworkUser;
  return task;
}
