/** A pod as the deployment core sees it: the `RunSpec` an app also is. */
import type { RunSpec } from "../deployment/run_spec.ts";
import type { Pod } from "./schema.ts";

/** The run spec of a pod: its scaling, upgrade, placement, backoff and health checks. */
export function podRunSpec(pod: Pod): RunSpec {
  const { scheduling } = pod;
  return {
    id: pod.id,
    instances: pod.scaling.instances,
    ...(pod.version !== undefined ? { version: pod.version } : {}),
    ...(pod.versionInfo !== undefined ? { versionInfo: pod.versionInfo } : {}),
    upgradeStrategy: scheduling.upgrade,
    unreachableStrategy: scheduling.unreachableStrategy,
    killSelection: scheduling.killSelection,
    constraints: scheduling.placement.constraints.map((c) => [
      c.fieldName,
      c.operator,
      ...(c.value !== undefined ? [c.value] : []),
    ]),
    healthChecks: pod.containers.flatMap((c) => (c.healthCheck ? [c.healthCheck] : [])),
    readinessChecks: [],
    backoffSeconds: scheduling.backoff.backoff,
    backoffFactor: scheduling.backoff.backoffFactor,
    maxLaunchDelaySeconds: scheduling.backoff.maxLaunchDelay,
  };
}

/** Whether two versions of a pod differ in anything but their scale and version. */
export function isPodConfigChange(a: Pod, b: Pod): boolean {
  const canonical = (p: Pod) =>
    JSON.stringify(sortKeys({ ...p, scaling: { ...p.scaling, instances: 0 } }, true));
  return canonical(a) !== canonical(b);
}

const IGNORED = new Set(["version", "versionInfo"]);

function sortKeys(value: unknown, top: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, false));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if ((top && IGNORED.has(key)) || v === undefined) continue;
    out[key] = sortKeys(v, false);
  }
  return out;
}
