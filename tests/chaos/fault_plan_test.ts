import assert from "node:assert/strict";
import { describeFault, planFaults } from "./fault_plan.ts";
import { Prng } from "./prng.ts";

const OPTIONS = { agentTimeoutMs: 3000 };

Deno.test("planFaults() plans the same faults for the same seed", () => {
  assert.deepEqual(
    planFaults(new Prng(9), 30, OPTIONS),
    planFaults(new Prng(9), 30, OPTIONS),
  );
  assert.notDeepEqual(planFaults(new Prng(9), 30, OPTIONS), planFaults(new Prng(10), 30, OPTIONS));
});

Deno.test("planFaults() draws every kind of fault and role over a long run", () => {
  const plan = planFaults(new Prng(1), 300, OPTIONS);
  const kinds = new Set(
    plan.map((p) =>
      p.spec.kind === "kill" || p.spec.kind === "pause"
        ? `${p.spec.kind}:${p.spec.role}`
        : p.spec.kind
    ),
  );
  for (
    const k of [
      "kill:leading-master",
      "kill:standby-master",
      "kill:marathon-leader",
      "kill:agent",
      "kill:etcd",
      "pause:leading-master",
      "pause:agent",
      "pause:etcd",
      "partition",
      "task-kill",
    ]
  ) assert.ok(kinds.has(k), `no ${k} in ${[...kinds]}`);
  assert.deepEqual(plan.map((p) => p.index), plan.map((_, i) => i + 1));
});

Deno.test("planFaults() holds partitions past the agent timeout and keeps delays short", () => {
  for (const { gapMs, spec } of planFaults(new Prng(2), 300, OPTIONS)) {
    assert.ok(gapMs >= 0 && gapMs <= 2000);
    if (spec.kind === "partition") assert.ok(spec.holdMs > OPTIONS.agentTimeoutMs);
    if (spec.kind === "kill") assert.ok(spec.restartAfterMs >= 500 && spec.restartAfterMs <= 3000);
    if (spec.kind === "pause") assert.ok(spec.pauseMs >= 1000 && spec.pauseMs <= 8000);
  }
});

Deno.test("describeFault() names the fault and its duration", () => {
  assert.equal(
    describeFault({ kind: "kill", role: "etcd", pick: 1, restartAfterMs: 1200 }),
    "SIGKILL etcd, restarted after 1.2 s",
  );
  assert.equal(
    describeFault({ kind: "partition", hosts: "agent", pick: 0, holdMs: 4500 }),
    "link of an agent host down for 4.5 s, then up",
  );
});
