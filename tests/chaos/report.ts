/**
 * The end of a chaos run as text: figures as `metric value unit` lines, how live instances are
 * counted, then `chaos: F faults, V violations` followed by the violations, one a line.
 */
import type { Violation } from "./violation.ts";

/** One `metric value unit` line. */
export interface Figure {
  metric: string;
  value: number | undefined;
  unit: string;
}

/** What a run measured. */
export interface RunFigures {
  seed: number;
  faultsInjected: number;
  /** Faults after which the cluster converged (before the next fault). */
  faultsSurvived: number;
  /** Per fault that converged: ms from its repair to convergence. */
  convergenceMs: number[];
  /** ms from the last fault's repair to convergence; undefined if it never converged. */
  finalConvergenceMs: number | undefined;
  masterFailoverMs: number[];
  marathonFailoverMs: number[];
  changesAcked: number;
  changesUnknown: number;
  deployments: number;
  capacitySamples: number;
  durationMs: number;
}

/** The p-th percentile (0–100) by nearest rank; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/** The figures of a run. */
export function figures(f: RunFigures, violations: number): Figure[] {
  return [
    { metric: "chaos_seed", value: f.seed, unit: "seed" },
    { metric: "chaos_faults_injected", value: f.faultsInjected, unit: "faults" },
    { metric: "chaos_faults_survived", value: f.faultsSurvived, unit: "faults" },
    { metric: "chaos_violations", value: violations, unit: "violations" },
    {
      metric: "chaos_convergence_after_fault_p50",
      value: seconds(percentile(f.convergenceMs, 50)),
      unit: "s",
    },
    {
      metric: "chaos_convergence_after_fault_max",
      value: seconds(percentile(f.convergenceMs, 100)),
      unit: "s",
    },
    {
      metric: "chaos_convergence_after_last_fault",
      value: seconds(f.finalConvergenceMs),
      unit: "s",
    },
    { metric: "chaos_master_failovers", value: f.masterFailoverMs.length, unit: "failovers" },
    {
      metric: "chaos_master_failover_p50",
      value: seconds(percentile(f.masterFailoverMs, 50)),
      unit: "s",
    },
    {
      metric: "chaos_master_failover_max",
      value: seconds(percentile(f.masterFailoverMs, 100)),
      unit: "s",
    },
    { metric: "chaos_marathon_failovers", value: f.marathonFailoverMs.length, unit: "failovers" },
    {
      metric: "chaos_marathon_failover_p50",
      value: seconds(percentile(f.marathonFailoverMs, 50)),
      unit: "s",
    },
    {
      metric: "chaos_marathon_failover_max",
      value: seconds(percentile(f.marathonFailoverMs, 100)),
      unit: "s",
    },
    { metric: "chaos_changes_acknowledged", value: f.changesAcked, unit: "changes" },
    { metric: "chaos_changes_outcome_unknown", value: f.changesUnknown, unit: "changes" },
    { metric: "chaos_deployments_acknowledged", value: f.deployments, unit: "deployments" },
    { metric: "chaos_capacity_samples", value: f.capacitySamples, unit: "samples" },
    { metric: "chaos_duration", value: seconds(f.durationMs), unit: "s" },
  ];
}

/** How the capacity check counts, said once in the output. */
export const CAPACITY_NOTE =
  "capacity: live instances = Marathon's active instances (staged or running; not those it " +
  "has asked to kill) + task processes running that Marathon wrote off (unreachable) or does " +
  "not know; allowed = floor(instances × (1 + maximumOverCapacity)) (one more when " +
  "minimumHealthCapacity leaves no room, as Marathon allows; the old instances while a " +
  "deployment scales down) + live instances on hosts unreachable in the last 15 s; an excess " +
  "counts when two consecutive samples see it";

/** The report's lines; the summary line follows the figures, the violations follow it. */
export function formatReport(f: RunFigures, violations: readonly Violation[]): string[] {
  const number = (v: number | undefined) =>
    v === undefined ? "n/a" : Number.isInteger(v) ? String(v) : v.toFixed(2);
  return [
    ...figures(f, violations.length).map((x) => `${x.metric} ${number(x.value)} ${x.unit}`),
    CAPACITY_NOTE,
    `chaos: ${f.faultsInjected} faults, ${violations.length} violations`,
    ...violations.map((v) => `  - [${v.check}] ${v.message}`),
  ];
}
