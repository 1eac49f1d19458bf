import assert from "node:assert/strict";
import { formatReport, percentile, type RunFigures } from "./report.ts";

const FIGURES: RunFigures = {
  seed: 7,
  faultsInjected: 3,
  faultsSurvived: 3,
  convergenceMs: [1000, 3000, 2000],
  finalConvergenceMs: 2000,
  masterFailoverMs: [1900],
  marathonFailoverMs: [],
  changesAcked: 12,
  changesUnknown: 1,
  deployments: 12,
  capacitySamples: 80,
  durationMs: 61_000,
};

Deno.test("percentile() takes the nearest rank and nothing of nothing", () => {
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.equal(percentile([3, 1, 2, 4], 50), 2);
  assert.equal(percentile([3, 1, 2], 100), 3);
  assert.equal(percentile([], 50), undefined);
});

Deno.test("formatReport() prints metric lines, then the summary line, then the violations", () => {
  const lines = formatReport(FIGURES, [{ check: "orphans", message: "task x runs on agent-1" }]);
  assert.ok(lines.includes("chaos_faults_injected 3 faults"));
  assert.ok(lines.includes("chaos_convergence_after_fault_p50 2 s"));
  assert.ok(lines.includes("chaos_master_failover_max 1.90 s"));
  assert.ok(lines.includes("chaos_marathon_failover_p50 n/a s"));
  assert.ok(lines.includes("chaos_violations 1 violations"));
  assert.deepEqual(lines.slice(-2), [
    "chaos: 3 faults, 1 violations",
    "  - [orphans] task x runs on agent-1",
  ]);
  assert.equal(formatReport(FIGURES, []).at(-1), "chaos: 3 faults, 0 violations");
  for (const line of lines.filter((l) => l.startsWith("chaos_"))) {
    assert.match(line, /^chaos_[a-z0-9_]+ (\d+(\.\d+)?|n\/a) [a-z]+$/);
  }
});
