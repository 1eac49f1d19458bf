import assert from "node:assert/strict";
import { decide, freshMemory, type Memory, type Observation } from "./decide.ts";
import { type Policy, policyOf } from "./policy.ts";

const POLICY: Policy = {
  min: 1,
  max: 10,
  metric: "rps",
  target: 20,
  upStep: 4,
  downStep: 2,
  upCooldownMs: 10_000,
  downCooldownMs: 60_000,
  tolerance: 0.1,
};

function seen(instances: number, value: number | undefined, extra: Partial<Observation> = {}) {
  return { appId: "/web", instances, running: instances, deploying: false, value, ...extra };
}

Deno.test("decide() scales up by the HPA rule, at most upStep at a time", () => {
  const { decision } = decide(POLICY, seen(1, 100), freshMemory(), 0);
  // 100 rps on one instance with a target of 20: wants 5, the step allows 4 more.
  assert.deepEqual(decision, {
    kind: "scale",
    appId: "/web",
    from: 1,
    to: 5,
    reason: "100 per instance against a target of 20 (rps): wants 5",
  });
  const capped = decide({ ...POLICY, upStep: 2 }, seen(1, 100), freshMemory(), 0).decision;
  assert.equal(capped.kind === "scale" && capped.to, 3);
});

Deno.test("decide() holds within the tolerance, during deployments and without a sample", () => {
  assert.match(decide(POLICY, seen(3, 21.5), freshMemory(), 0).decision.reason, /within tolerance/);
  assert.equal(
    decide(POLICY, seen(3, 90, { deploying: true }), freshMemory(), 0).decision.kind,
    "hold",
  );
  assert.equal(decide(POLICY, seen(3, undefined), freshMemory(), 0).decision.kind, "hold");
});

Deno.test("decide() keeps instances within min and max", () => {
  const up = decide(POLICY, seen(0, undefined), freshMemory(), 0).decision;
  assert.equal(up.kind === "scale" && up.to, 1);
  const down = decide(POLICY, seen(12, 5), freshMemory(), 0).decision;
  assert.equal(down.kind === "scale" && down.to, 10);
  const capped = decide(POLICY, seen(10, 1000), freshMemory(), 0).decision;
  assert.equal(capped.kind, "hold");
});

Deno.test("decide() waits out the scale-up cooldown", () => {
  let memory = decide(POLICY, seen(1, 100), freshMemory(), 0).memory;
  const early = decide(POLICY, seen(5, 40), memory, 5_000);
  assert.match(early.decision.reason, /scale-up cooling down/);
  memory = early.memory;
  const later = decide(POLICY, seen(5, 40), memory, 11_000).decision;
  assert.equal(later.kind === "scale" && later.to, 9);
});

Deno.test("decide() scales down only after the window, by downStep, to the window's highest wish", () => {
  let memory: Memory = freshMemory();
  let instances = 6;
  const scaled: number[] = [];
  // Load gone (0 rps) from t = 0; one decision every 5 s for 5 minutes.
  for (let t = 0; t <= 300_000; t += 5_000) {
    const r = decide(POLICY, seen(instances, 0), memory, t);
    memory = r.memory;
    if (r.decision.kind === "scale") {
      scaled.push(t);
      instances = r.decision.to;
    }
  }
  assert.equal(instances, 1);
  // The first scale-down at once (nothing scaled before), the next ones a window apart.
  assert.deepEqual(scaled, [0, 60_000, 120_000]);
});

Deno.test("decide() does not flap under a steady load that wavers around the target", () => {
  let memory: Memory = freshMemory();
  let instances = 5;
  let changes = 0;
  // 100 rps total (20 per instance at 5), ±15 % noise, a decision every 2 s for 10 minutes.
  let seed = 7;
  const noise = () => ((seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5) * 0.3;
  for (let t = 0; t < 600_000; t += 2_000) {
    const total = 100 * (1 + noise());
    const r = decide(POLICY, seen(instances, total / instances), memory, t);
    memory = r.memory;
    if (r.decision.kind === "scale") {
      changes += 1;
      instances = r.decision.to;
    }
  }
  assert.ok(changes <= 1, `scaled ${changes} times under a steady load (ended at ${instances})`);
});

Deno.test("policyOf() reads the labels, fills defaults and names a bad label", () => {
  assert.equal(policyOf({}), undefined);
  assert.deepEqual(policyOf({ TENDER_AUTOSCALE_MAX: "5", TENDER_AUTOSCALE_TARGET: "50" }), {
    ok: true,
    policy: {
      min: 1,
      max: 5,
      metric: "rps",
      target: 50,
      upStep: 4,
      downStep: 1,
      upCooldownMs: 30_000,
      downCooldownMs: 120_000,
      tolerance: 0.1,
    },
  });
  const cpu = policyOf({
    TENDER_AUTOSCALE_MAX: "5",
    TENDER_AUTOSCALE_METRIC: "cpu",
    TENDER_AUTOSCALE_TARGET: "0.6",
  });
  assert.equal(cpu?.ok && cpu.policy.metric, "cpu");
  const bad = policyOf({
    TENDER_AUTOSCALE_MAX: "2",
    TENDER_AUTOSCALE_MIN: "3",
    TENDER_AUTOSCALE_METRIC: "cpu",
    TENDER_AUTOSCALE_TARGET: "60",
  });
  assert.equal(bad?.ok, false);
  assert.match(
    bad && !bad.ok ? bad.reason : "",
    /TENDER_AUTOSCALE_MIN \(3\) must not exceed TENDER_AUTOSCALE_MAX \(2\); TENDER_AUTOSCALE_TARGET must be a utilisation in \(0, 1\], got "60"/,
  );
});
