/**
 * What the deployment core reads of an app or a pod: Marathon's RunSpec. An `App` is one as it
 * is; a pod is seen through `podRunSpec` (pod/run_spec.ts).
 */
import type { UnreachableStrategy, UpgradeStrategy } from "../app/schema.ts";

/** The fields of an app or a pod that scaling, restarts, kills and backoff depend on. */
export interface RunSpec {
  id: string;
  instances: number;
  version?: string;
  versionInfo?: { lastScalingAt: string; lastConfigChangeAt: string };
  upgradeStrategy: UpgradeStrategy;
  unreachableStrategy: UnreachableStrategy;
  killSelection: "YOUNGEST_FIRST" | "OLDEST_FIRST";
  /** Marathon's `[field, OPERATOR, value?]` constraints. */
  constraints: readonly (readonly string[])[];
  /** Non-empty when instances must report healthy (any container's check, for a pod). */
  healthChecks: readonly unknown[];
  readinessChecks: readonly unknown[];
  backoffSeconds: number;
  backoffFactor: number;
  maxLaunchDelaySeconds: number;
  /** Persistent volumes make a run spec resident (apps only). */
  container?: { volumes: readonly { persistent?: unknown }[] };
}
