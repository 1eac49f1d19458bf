/**
 * The JSON Marathon answers for pods: the pod (`podJson`) and its status
 * (`/v2/pods/{id}::status`: RAML `PodStatus` with its instances' `PodInstanceStatus` and their
 * containers' `ContainerStatus`). Pure renderers over a pod and its instances.
 */
import { type Condition, type Instance, isActive, type PodTask } from "../model/instance.ts";
import { configVersion, isHealthy } from "../deployment/reconcile.ts";
import { podJson } from "../pod/parse.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import type { Pod } from "../pod/schema.ts";

const TASK_STATE: Record<Condition, string> = {
  Scheduled: "TASK_STAGING",
  Provisioned: "TASK_STAGING",
  Staging: "TASK_STAGING",
  Starting: "TASK_STARTING",
  Running: "TASK_RUNNING",
  Killing: "TASK_KILLING",
  Unreachable: "TASK_UNREACHABLE",
  UnreachableInactive: "TASK_UNREACHABLE",
  Finished: "TASK_FINISHED",
  Failed: "TASK_FAILED",
  Killed: "TASK_KILLED",
  Error: "TASK_ERROR",
  Gone: "TASK_GONE",
  Dropped: "TASK_DROPPED",
  Unknown: "TASK_UNKNOWN",
  // Marathon's Condition.toMesosTaskStateOrStaging: a reserved instance shows as staging.
  Reserved: "TASK_STAGING",
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Marathon's instance status: PENDING, STAGING, STABLE, DEGRADED or TERMINAL. */
export function instanceStatus(pod: Pod, i: Instance): string {
  if (!isActive(i)) return "TERMINAL";
  if (i.condition === "Scheduled" || i.condition === "Provisioned") return "PENDING";
  if (i.condition === "Staging" || i.condition === "Starting") return "STAGING";
  return isHealthy(podRunSpec(pod), i) ? "STABLE" : "DEGRADED";
}

/** A pod instance's `PodInstanceStatus`. */
export function podInstanceJson(pod: Pod, i: Instance): Record<string, unknown> {
  const placed = hostPortsOf(pod, i);
  return {
    id: i.instanceId,
    status: instanceStatus(pod, i),
    statusSince: iso(i.since),
    ...(i.message !== undefined ? { message: i.message } : {}),
    conditions: [],
    agentHostname: i.hostname ?? "",
    agentId: i.agentId ?? "",
    resources: totalResources(pod),
    networks: i.ipAddress ? [{ addresses: [i.ipAddress] }] : [],
    containers: (i.tasks ?? []).map((t) => containerJson(pod, t, placed.get(t.name) ?? [])),
    specReference: `/v2/pods${pod.id}::versions/${i.version}`,
    localVolumes: [],
    lastUpdated: iso(i.since),
    lastChanged: iso(i.since),
  };
}

function containerJson(pod: Pod, t: PodTask, hostPorts: readonly number[]) {
  const c = pod.containers.find((x) => x.name === t.name);
  let next = 0;
  return {
    name: t.name,
    status: TASK_STATE[t.condition],
    statusSince: iso(t.since),
    ...(t.message !== undefined ? { message: t.message } : {}),
    conditions: t.healthy === undefined ? [] : [{
      name: "healthy",
      value: String(t.healthy),
      lastChanged: iso(t.since),
      lastUpdated: iso(t.since),
    }],
    containerId: t.taskId,
    endpoints: (c?.endpoints ?? []).map((e) => ({
      name: e.name,
      ...(e.hostPort !== undefined ? { allocatedHostPort: hostPorts[next++] } : {}),
      ...(c?.healthCheck && t.healthy !== undefined ? { healthy: t.healthy } : {}),
    })),
    resources: c ? c.resources : {},
    lastUpdated: iso(t.since),
    lastChanged: iso(t.since),
  };
}

/** Per container, the host ports an instance was given (in endpoint order). */
function hostPortsOf(pod: Pod, i: Instance): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let next = 0;
  for (const c of pod.containers) {
    const n = c.endpoints.filter((e) => e.hostPort !== undefined).length;
    out.set(c.name, i.hostPorts.slice(next, next += n));
  }
  return out;
}

/** The resources one instance takes: its containers' and its executor's. */
export function totalResources(pod: Pod): Record<string, number> {
  const sum = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
  for (const c of pod.containers) {
    for (const k of ["cpus", "mem", "disk", "gpus"] as const) sum[k] += c.resources[k];
  }
  for (const k of ["cpus", "mem", "disk"] as const) sum[k] += pod.executorResources[k];
  return sum;
}

/**
 * Marathon's `PodStatus`: SUSPENDED at zero instances, DEPLOYING while a deployment holds the
 * pod, STABLE when every wanted instance runs on the current version and is healthy, DEGRADED
 * otherwise.
 */
export function podStatusJson(
  pod: Pod,
  instances: readonly Instance[],
  options: { deploying: boolean },
): Record<string, unknown> {
  const mine = instances.filter((i) => i.appId === pod.id);
  const active = mine.filter(isActive);
  const spec = podRunSpec(pod);
  const stable = active.length === spec.instances &&
    active.every((i) => i.version === configVersion(spec) && isHealthy(spec, i));
  const status = spec.instances === 0 && active.length === 0
    ? "SUSPENDED"
    : options.deploying
    ? "DEPLOYING"
    : stable
    ? "STABLE"
    : "DEGRADED";
  const since = Math.max(0, ...mine.map((i) => i.since));
  const changed = since > 0 ? iso(since) : pod.version ?? iso(0);
  return {
    id: pod.id,
    spec: podJson(pod),
    status,
    statusSince: changed,
    instances: mine.map((i) => podInstanceJson(pod, i)),
    terminationHistory: [],
    lastUpdated: changed,
    lastChanged: changed,
  };
}
