import assert from "node:assert/strict";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import { reconcileApp, restartBounds } from "./reconcile.ts";
import { instance, simulate } from "./testing.ts";

function app(extra: Record<string, unknown>, version = "v2"): App {
  return {
    ...parseApp({ id: "/web", cmd: "serve", instances: 10, ...extra }),
    version,
    versionInfo: { lastScalingAt: version, lastConfigChangeAt: version },
  };
}

const withChecks = { healthChecks: [{ protocol: "TCP" }] };

Deno.test("reconcileApp() env change of 10 with {0.5, 0.2} keeps >= 5 healthy and <= 12 instances", () => {
  const oldApp = app({ ...withChecks, env: { A: "1" } }, "v1");
  const target = app({
    ...withChecks,
    env: { A: "2" },
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2 },
  });
  const start = Array.from({ length: 10 }, () => instance(oldApp));
  const { rounds } = simulate(target, start);
  assert.ok(rounds.length > 3, "the restart takes several rounds");
  for (const r of rounds) {
    assert.ok(r.healthy >= 5, `healthy dropped to ${r.healthy}`);
    assert.ok(r.active <= 12, `active rose to ${r.active}`);
  }
  const last = rounds.at(-1)!;
  assert.deepEqual(last, { active: 10, healthy: 10, oldActive: 0, newActive: 10 });
  assert.deepEqual(restartBounds(target), { minHealthy: 5, maxCapacity: 12 });
});

Deno.test("reconcileApp() default {1, 1} starts a full new set before killing old ones", () => {
  const target = app(withChecks);
  const start = Array.from({ length: 10 }, () => instance(app(withChecks, "v1")));
  const first = reconcileApp(target, start);
  assert.equal(first.kill.length, 0);
  assert.equal(first.launch, 10);
  const { rounds } = simulate(target, start);
  for (const r of rounds) {
    assert.ok(r.healthy >= 10);
    assert.ok(r.active <= 20);
  }
  assert.equal(rounds.at(-1)!.newActive, 10);
  assert.equal(rounds.at(-1)!.oldActive, 0);
});

Deno.test("reconcileApp() {0, 0} kills every old instance at once", () => {
  const target = app({ upgradeStrategy: { minimumHealthCapacity: 0, maximumOverCapacity: 0 } });
  const start = Array.from({ length: 4 }, () => instance(app({}, "v1")));
  const r = reconcileApp({ ...target, instances: 4 }, start);
  assert.equal(r.kill.length, 4);
  assert.equal(r.launch, 4);
});

Deno.test("reconcileApp() {1, 0} replaces one at a time through the +1 rule", () => {
  const target = {
    ...app({
      ...withChecks,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 },
    }),
    instances: 3,
  };
  const start = Array.from({ length: 3 }, () => instance(app(withChecks, "v1")));
  const first = reconcileApp(target, start);
  assert.deepEqual([first.kill.length, first.launch], [0, 1]);
  const { rounds } = simulate(target, start);
  for (const r of rounds) {
    assert.ok(r.healthy >= 3, `healthy ${r.healthy}`);
    assert.ok(r.active <= 4, `active ${r.active}`);
  }
  assert.equal(rounds.at(-1)!.newActive, 3);
});

Deno.test("reconcileApp() does not kill old instances while new ones are unhealthy", () => {
  const target = { ...app(withChecks), instances: 2 };
  const old = [instance(app(withChecks, "v1")), instance(app(withChecks, "v1"))];
  const fresh = [instance(target, { healthy: false }), instance(target, { healthy: false })];
  const r = reconcileApp(target, [...old, ...fresh]);
  assert.equal(r.kill.length, 0);
  assert.equal(r.launch, 0);
  const healthy = [instance(target), instance(target, { healthy: false })];
  assert.equal(reconcileApp(target, [...old, ...healthy]).kill.length, 1);
});

Deno.test("reconcileApp() replaces unhealthy old instances first", () => {
  const target = {
    ...app({
      ...withChecks,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 },
    }),
    instances: 2,
  };
  const sick = instance(app(withChecks, "v1"), { healthy: false });
  const r = reconcileApp(target, [sick, instance(app(withChecks, "v1"))]);
  assert.deepEqual(r.kill.map((i) => i.instanceId), [sick.instanceId]);
  assert.equal(r.launch, 2, "maxCapacity 3 (+1 rule) minus the one old left");
});

Deno.test("reconcileApp() scales up and settles once all are healthy", () => {
  const target = { ...app(withChecks), instances: 3 };
  const one = instance(target);
  assert.deepEqual(reconcileApp(target, [one]), { kill: [], launch: 2, settled: false });
  const all = [one, instance(target), instance(target)];
  assert.equal(reconcileApp(target, all).settled, true);
  const sick = [one, instance(target), instance(target, { healthy: false })];
  assert.equal(reconcileApp(target, sick).settled, false);
});

Deno.test("reconcileApp() scales down per killSelection and kills unreachable and staging first", () => {
  const youngest = { ...app({}), instances: 2 };
  const a = instance(youngest), b = instance(youngest), c = instance(youngest);
  assert.deepEqual(reconcileApp(youngest, [a, b, c]).kill.map((i) => i.instanceId), [c.instanceId]);
  const oldest = { ...app({ killSelection: "OLDEST_FIRST" }), instances: 2 };
  assert.deepEqual(reconcileApp(oldest, [a, b, c]).kill.map((i) => i.instanceId), [a.instanceId]);
  const staging = instance(youngest, { condition: "Staging" });
  const lost = instance(youngest, { condition: "Unreachable" });
  const one = { ...youngest, instances: 1 };
  assert.deepEqual(
    reconcileApp(one, [a, staging, lost]).kill.map((i) => i.instanceId),
    [lost.instanceId, staging.instanceId],
  );
});

Deno.test("reconcileApp() scale-down rebalances GROUP_BY groups", () => {
  const target = { ...app({ constraints: [["rack", "GROUP_BY"]] }), instances: 2 };
  const on = (rack: string) =>
    instance(target, {
      hostname: `h-${rack}`,
      attributes: [{ name: "rack", type: "TEXT", text: { value: rack } }],
    });
  const r1a = on("r1"), r1b = on("r1"), r2 = on("r2");
  const kill = reconcileApp(target, [r2, r1a, r1b]).kill;
  assert.equal(kill.length, 1);
  assert.equal(kill[0]!.hostname, "h-r1");
});

Deno.test("reconcileApp() ignores terminal and stopped instances", () => {
  const target = { ...app({}), instances: 2 };
  const done = instance(target, { condition: "Failed" });
  const stopping = instance(target, { goal: "Stopped" });
  assert.equal(reconcileApp(target, [done, stopping, instance(target)]).launch, 1);
});
