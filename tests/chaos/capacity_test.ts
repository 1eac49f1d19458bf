import assert from "node:assert/strict";
import { CapacityWatch, countLive, maxCapacity } from "./capacity.ts";
import { app, running, snapshot, task } from "./fixtures.ts";

const strategy = (minimumHealthCapacity: number, maximumOverCapacity: number) => ({
  minimumHealthCapacity,
  maximumOverCapacity,
});

Deno.test("maxCapacity() is Marathon's bound, one over when the health floor leaves no room", () => {
  assert.equal(maxCapacity({ instances: 4, upgradeStrategy: strategy(0.5, 0.5) }), 6);
  assert.equal(maxCapacity({ instances: 3, upgradeStrategy: strategy(0.75, 0.25) }), 4);
  assert.equal(maxCapacity({ instances: 3, upgradeStrategy: strategy(1, 0) }), 4);
  assert.equal(maxCapacity({ instances: 2, upgradeStrategy: strategy(0, 0) }), 2);
  assert.equal(maxCapacity({ instances: 0, upgradeStrategy: strategy(1, 0) }), 0);
});

Deno.test("countLive() counts Marathon's active instances, not those it asked to kill", () => {
  const active = [task("/a", 1, "agent-1"), task("/a", 2, "agent-2")];
  const killing = task("/a", 3, "agent-3");
  const a = app("/a", active, { upgradeStrategy: strategy(0, 0) });
  const rows = countLive(
    snapshot([a], {
      running: [...active, killing].map((t) => running(t)),
      marathonTasks: [...active, { ...killing, state: "TASK_KILLING" }],
    }),
    { unreachable: new Set() },
  );
  assert.deepEqual(rows.map((r) => [r.live, r.allowed]), [[2, 2]]);
});

Deno.test("countLive() counts processes Marathon wrote off or does not know", () => {
  const active = [task("/a", 1, "agent-1"), task("/a", 2, "agent-2")];
  const writtenOff = { ...task("/a", 3, "agent-3"), state: "TASK_UNREACHABLE" };
  const unknown = task("/a", 4, "agent-4");
  const a = app("/a", active, { upgradeStrategy: strategy(0, 0) });
  const s = snapshot([a], {
    running: [...active, writtenOff, unknown].map((t) => running(t)),
    marathonTasks: [...active, writtenOff],
  });
  const [row] = countLive(s, { unreachable: new Set(["agent-3"]) });
  assert.equal(row!.live, 4);
  assert.equal(row!.onUnreachable, 1);
  assert.equal(row!.allowed, 3);
});

Deno.test("countLive() allows the old instances while a deployment scales down", () => {
  const tasks = [1, 2, 3, 4].map((n) => task("/a", n, `agent-${n}`));
  const a = app("/a", tasks, {
    instances: 1,
    upgradeStrategy: strategy(0, 0),
    deployments: [{ id: "d1" }],
  });
  const s = snapshot([a]);
  assert.equal(countLive(s, { unreachable: new Set() })[0]!.allowed, 1);
  const previous = new Map([["/a", 4]]);
  assert.equal(
    countLive(s, { unreachable: new Set(), previousInstances: previous })[0]!.allowed,
    4,
  );
  // Once the deployment is over, the old count no longer excuses anything.
  const done = snapshot([{ ...a, deployments: [] }]);
  assert.equal(
    countLive(done, { unreachable: new Set(), previousInstances: previous })[0]!.allowed,
    1,
  );
});

Deno.test("CapacityWatch reports an excess seen twice in a row, once per episode", () => {
  const watch = new CapacityWatch({ graceMs: 15_000, agents: ["agent-1", "agent-2", "agent-3"] });
  const ok = [task("/a", 1, "agent-1"), task("/a", 2, "agent-2")];
  const extra = task("/a", 3, "agent-3");
  const a = app("/a", ok, { upgradeStrategy: strategy(0, 0) });
  const over = (at: number) =>
    snapshot([a], { at, running: [...ok, extra].map((t) => running(t)), marathonTasks: ok });
  const fine = (at: number) => snapshot([a], { at });
  const cut = new Set<string>();
  watch.observe(over(1000), { cut });
  assert.equal(watch.violations().length, 0, "one sample is not enough");
  watch.observe(fine(2000), { cut });
  watch.observe(over(3000), { cut });
  watch.observe(over(4000), { cut });
  watch.observe(over(5000), { cut });
  const found = watch.violations();
  assert.equal(found.length, 1);
  assert.equal(found[0]!.check, "capacity");
  assert.match(
    found[0]!.message,
    /\/a: 3 live instances .* allowed 2 \(bound 2 \+ 0 on unreachable hosts\)/,
  );
  assert.equal(watch.worstExcess, 1);
  assert.equal(watch.samples, 5);
});

Deno.test("CapacityWatch excuses copies on a host cut off, until the grace after it returns", () => {
  const watch = new CapacityWatch({ graceMs: 15_000, agents: ["agent-1", "agent-2", "agent-3"] });
  const ok = [task("/a", 1, "agent-1"), task("/a", 2, "agent-2")];
  const stranded = { ...task("/a", 3, "agent-3"), state: "TASK_UNREACHABLE" };
  const a = app("/a", ok, { upgradeStrategy: strategy(0, 0) });
  const at = (ms: number) =>
    snapshot([a], {
      at: ms,
      running: [...ok, stranded].map((t) => running(t)),
      marathonTasks: [...ok, stranded],
    });
  watch.observe(at(0), { cut: new Set(["agent-3"]) });
  watch.observe(at(1000), { cut: new Set(["agent-3"]) });
  watch.observe(at(10_000), { cut: new Set() });
  watch.observe(at(14_000), { cut: new Set() });
  assert.equal(watch.violations().length, 0);
  watch.observe(at(17_000), { cut: new Set() });
  watch.observe(at(18_000), { cut: new Set() });
  assert.equal(watch.violations().length, 1, "a surplus copy left long after the host returned");
});

Deno.test("CapacityWatch excuses the instances before a scale-down it did not see begin", () => {
  const watch = new CapacityWatch({ graceMs: 15_000, agents: ["agent-1"] });
  const four = [1, 2, 3, 4].map((n) => task("/a", n, "agent-1"));
  const a = app("/a", four, {
    instances: 1,
    upgradeStrategy: strategy(0, 0),
    deployments: [{ id: "d" }],
  });
  for (const at of [1000, 2000]) {
    watch.observe(snapshot([a], { at }), { cut: new Set(), recent: new Map([["/a", 4]]) });
  }
  assert.equal(watch.violations().length, 0);
});
