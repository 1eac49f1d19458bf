import assert from "node:assert/strict";
import { Resources } from "../../protocol/mod.ts";
import { type Allocation, Allocator } from "./allocator.ts";
import { intersection } from "./saturating_difference.ts";

const r = (text: string) => Resources.parse(text);
const SLICE = "cpus:4;mem:4096;disk:1000;ports:[31000-31009]";

function withAgents(n: number, options = {}, slice = SLICE): Allocator {
  const a = new Allocator(options);
  for (let i = 0; i < n; i++) {
    a.addAgent({
      id: `a${String(i).padStart(3, "0")}`,
      hostname: `h${i}`,
      total: r(slice),
      attributes: [],
    });
  }
  return a;
}

function countBy(allocs: Allocation[], key: (x: Allocation) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of allocs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

Deno.test("Allocator.run() offers each free agent whole, once", () => {
  const a = withAgents(3);
  a.addFramework("f1", { roles: ["*"] });
  const first = a.run(0);
  assert.equal(first.length, 3);
  for (const x of first) {
    assert.equal(x.frameworkId, "f1");
    assert.equal(x.role, "*");
    assert.ok(x.resources.equals(r(SLICE)));
    assert.ok(a.available(x.agentId).isEmpty());
  }
  assert.deepEqual(a.run(1000), []);
  a.recover(first[0]!);
  const again = a.run(2000);
  assert.equal(again.length, 1);
  assert.equal(again[0]!.agentId, first[0]!.agentId);
});

Deno.test("Allocator.run() splits agents fairly between frameworks", async (t) => {
  await t.step("two frameworks", () => {
    const a = withAgents(10);
    a.addFramework("f1", { roles: ["*"] });
    a.addFramework("f2", { roles: ["*"] });
    assert.deepEqual(countBy(a.run(0), (x) => x.frameworkId), { f1: 5, f2: 5 });
    const s = a.shares();
    assert.equal(s.frameworks.f1, 0.5);
    assert.equal(s.frameworks.f2, 0.5);
    assert.equal(s.roles["*"], 1);
  });
  await t.step("three frameworks", () => {
    const a = withAgents(9);
    for (const f of ["f1", "f2", "f3"]) a.addFramework(f, { roles: ["*"] });
    assert.deepEqual(countBy(a.run(0), (x) => x.frameworkId), { f1: 3, f2: 3, f3: 3 });
  });
  await t.step("a framework already holding more waits its turn", () => {
    const a = withAgents(10);
    a.addFramework("f1", { roles: ["*"] });
    a.addFramework("f2", { roles: ["*"] });
    for (const id of ["a000", "a001", "a002", "a003"]) a.allocate("f1", "*", id, r(SLICE));
    assert.deepEqual(countBy(a.run(0), (x) => x.frameworkId), { f1: 1, f2: 5 });
  });
  await t.step("dominant shares, not agent counts", () => {
    // f1 holds half the memory on a big agent: dominant share 0.5 already.
    const a = new Allocator();
    a.addAgent({ id: "big", hostname: "big", total: r("cpus:2;mem:8000"), attributes: [] });
    for (let i = 0; i < 4; i++) {
      a.addAgent({ id: `s${i}`, hostname: "s", total: r("cpus:2;mem:2000"), attributes: [] });
    }
    a.addFramework("f1", { roles: ["*"] });
    a.addFramework("f2", { roles: ["*"] });
    a.allocate("f1", "*", "big", r("cpus:0.1;mem:8000"));
    assert.deepEqual(countBy(a.run(0), (x) => x.frameworkId), { f1: 1, f2: 4 });
  });
});

Deno.test("Allocator.setWeight() gives a weight-2 role about twice", () => {
  const a = withAgents(30);
  a.setWeight("gold", 2);
  a.addFramework("g", { roles: ["gold"] });
  a.addFramework("b", { roles: ["bronze"] });
  const got = countBy(a.run(0), (x) => x.role);
  assert.deepEqual(got, { gold: 20, bronze: 10 });
  assert.throws(() => a.setWeight("gold", -1), /"gold"/);
});

Deno.test("Allocator.recover() with refuseUntil filters the agent until then", async (t) => {
  await t.step("skipped until refuseUntil, then offered again", () => {
    const a = withAgents(1);
    a.addFramework("f1", { roles: ["*"] });
    const [x] = a.run(0);
    a.recover(x!, { refuseUntil: 5000 });
    assert.ok(a.available("a000").equals(r(SLICE)));
    assert.deepEqual(a.run(1000), []);
    assert.deepEqual(a.run(4999), []);
    assert.equal(a.run(5000).length, 1);
  });
  await t.step("another framework gets the filtered agent", () => {
    const a = withAgents(2);
    a.addFramework("f1", { roles: ["*"] });
    a.addFramework("f2", { roles: ["*"] });
    const first = a.run(0);
    const mine = first.find((x) => x.frameworkId === "f1")!;
    a.recover(mine, { refuseUntil: 5000 });
    const again = a.run(1000);
    assert.deepEqual(again.map((x) => [x.frameworkId, x.agentId]), [["f2", mine.agentId]]);
  });
  await t.step("a filter only hides a subset of the refused resources", () => {
    const a = withAgents(1);
    a.addFramework("f1", { roles: ["*"] });
    const [x] = a.run(0);
    const task = r("cpus:1;mem:1024;ports:[31000-31000]");
    const rest = x!.resources.subtract(task);
    a.recover({ ...x!, resources: rest }, { refuseUntil: 5000 });
    assert.deepEqual(a.run(1000), []);
    a.recover({ ...x!, resources: task }); // the task ended: more is free than was refused
    const [y] = a.run(2000);
    assert.ok(y?.resources.equals(r(SLICE)));
  });
  await t.step("a filter is per role", () => {
    const a = withAgents(1);
    a.addFramework("f1", { roles: ["r1", "r2"] });
    const [x] = a.run(0);
    a.recover(x!, { refuseUntil: 5000 });
    const [y] = a.run(1000);
    assert.equal(y?.frameworkId, "f1");
    assert.notEqual(y?.role, x!.role);
  });
  await t.step("revive() clears the filters", () => {
    const a = withAgents(3);
    a.addFramework("f1", { roles: ["*"] });
    for (const x of a.run(0)) a.recover(x, { refuseUntil: 60_000 });
    assert.deepEqual(a.run(1000), []);
    a.revive("f1");
    assert.equal(a.run(1000).length, 3);
  });
});

Deno.test("Allocator.suppress() stops offers until revive()", () => {
  const a = withAgents(2);
  a.addFramework("f1", { roles: ["r1", "r2"] });
  a.suppress("f1");
  assert.deepEqual(a.run(0), []);
  a.revive("f1", ["r2"]);
  const got = a.run(0);
  assert.deepEqual(got.map((x) => x.role), ["r2", "r2"]);
  for (const x of got) a.recover(x);
  a.suppress("f1", ["r2"]);
  assert.deepEqual(a.run(0), []);
  a.revive("f1");
  assert.equal(a.run(0).length, 2);
  const b = withAgents(1);
  b.addFramework("f", { roles: ["*"], suppressedRoles: ["*"] });
  assert.deepEqual(b.run(0), []);
});

Deno.test("Allocator gives deactivated agents and frameworks nothing", () => {
  const a = withAgents(2);
  a.addFramework("f1", { roles: ["*"], active: false });
  assert.deepEqual(a.run(0), []);
  a.activateFramework("f1");
  a.deactivateAgent("a000");
  assert.deepEqual(a.run(0).map((x) => x.agentId), ["a001"]);
  a.deactivateFramework("f1");
  a.activateAgent("a000");
  assert.deepEqual(a.run(0), []);
  a.activateFramework("f1");
  assert.deepEqual(a.run(0).map((x) => x.agentId), ["a000"]);
});

Deno.test("Allocator.removeFramework() and removeAgent() free everything", async (t) => {
  await t.step("removeFramework()", () => {
    const a = withAgents(4);
    a.addFramework("f1", { roles: ["*"] });
    a.addFramework("f2", { roles: ["*"], active: false });
    assert.equal(a.run(0).length, 4);
    a.removeFramework("f1");
    for (const id of ["a000", "a001", "a002", "a003"]) assert.ok(a.available(id).equals(r(SLICE)));
    assert.deepEqual(a.shares().frameworks, { f2: 0 });
    a.activateFramework("f2");
    assert.deepEqual(countBy(a.run(0), (x) => x.frameworkId), { f2: 4 });
    a.recover({ frameworkId: "f1", role: "*", agentId: "a000", resources: r(SLICE) }); // ignored
    assert.ok(a.available("a000").isEmpty());
  });
  await t.step("removeAgent()", () => {
    const a = withAgents(2);
    a.addFramework("f1", { roles: ["*"] });
    const got = a.run(0);
    assert.equal(a.shares().frameworks.f1, 1);
    a.removeAgent("a000");
    assert.equal(a.shares().frameworks.f1, 1); // holds all of what is left
    assert.deepEqual(a.allocationsOn("a000"), []);
    a.recover(got[0]!); // late decline of an offer on the removed agent: ignored
    a.removeAgent("a001");
    assert.equal(a.shares().frameworks.f1, 0);
    a.addAgent({ id: "a000", hostname: "h", total: r(SLICE), attributes: [] });
    assert.ok(a.available("a000").equals(r(SLICE)));
    assert.equal(a.run(0).length, 1);
  });
});

Deno.test("Allocator.allocate() counts recovered tasks, even of unknown frameworks", () => {
  const a = withAgents(1);
  a.allocate("old", "web", "a000", r("cpus:1;mem:1024;ports:[31000-31000]"));
  assert.ok(
    a.available("a000").equals(r(SLICE).subtract(r("cpus:1;mem:1024;ports:[31000-31000]"))),
  );
  a.addFramework("f1", { roles: ["*"] });
  const [x] = a.run(0);
  assert.ok(
    x!.resources.equals(a.allocationsOn("a000").find((y) => y.frameworkId === "f1")!.resources),
  );
  assert.equal(x!.resources.scalar("cpus"), 3);
  assert.throws(() => a.allocate("f1", "*", "nope", r("cpus:1")), /"nope"/);
  a.recover({
    frameworkId: "old",
    role: "web",
    agentId: "a000",
    resources: r("cpus:5;mem:1024;ports:[31000-31000]"),
  });
  assert.deepEqual(Object.keys(a.shares().frameworks), ["f1"]);
  assert.deepEqual(Object.keys(a.shares().roles), ["*"]);
});

Deno.test("Allocator.addAgent() again updates the total and keeps holdings", () => {
  const a = withAgents(1);
  a.allocate("f1", "*", "a000", r("cpus:3;mem:1000"));
  a.addAgent({ id: "a000", hostname: "h", total: r("cpus:2;mem:4096"), attributes: [] });
  assert.ok(a.available("a000").equals(r("mem:3096")));
  a.recover({ frameworkId: "f1", role: "*", agentId: "a000", resources: r("cpus:2") });
  assert.ok(a.available("a000").equals(r("cpus:1;mem:3096")));
});

Deno.test("Allocator.run() skips bundles below minAllocatable", () => {
  const a = withAgents(1);
  a.addFramework("f1", { roles: ["*"] });
  a.allocate("f1", "*", "a000", r("cpus:3.995;mem:4080"));
  assert.deepEqual(a.run(0), []); // cpus 0.005, mem 16
  a.recover({ frameworkId: "f1", role: "*", agentId: "a000", resources: r("mem:16") });
  assert.equal(a.run(0).length, 1); // mem 32 is enough on its own
  const b = withAgents(1, { minAllocatable: r("cpus:8") });
  b.addFramework("f1", { roles: ["*"] });
  assert.deepEqual(b.run(0), []);
});

Deno.test("Allocator.run() with candidates only looks at those agents", () => {
  const a = withAgents(5);
  a.addFramework("f1", { roles: ["*"] });
  const got = a.run(0, ["a003", "a001", "a003", "unknown"]);
  assert.deepEqual(got.map((x) => x.agentId).sort(), ["a001", "a003"]);
});

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("Allocator never hands out the same resource twice (random operations)", () => {
  for (const seed of [1, 2, 3]) {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
    const a = new Allocator();
    const totals = new Map<string, Resources>();
    const frameworks = new Map<
      string,
      { roles: string[]; active: boolean; suppressed: Set<string> }
    >();
    const inactiveAgents = new Set<string>();
    let outstanding: Allocation[] = [];
    let now = 0;
    let grants = 0, recovered = 0;
    const addAgent = (id: string) => {
      const total = r(
        `cpus:${1 + Math.floor(rand() * 8)};mem:${
          512 * (1 + Math.floor(rand() * 8))
        };ports:[31000-31019]`,
      );
      // Re-adding never shrinks below what is held, so the books stay exact.
      const held = outstanding.filter((x) => x.agentId === id).reduce(
        (s, x) => s.add(x.resources),
        Resources.empty(),
      );
      const next = totals.has(id) && !total.contains(held) ? totals.get(id)! : total;
      totals.set(id, next);
      a.addAgent({ id, hostname: id, total: next, attributes: [] });
    };
    for (let i = 0; i < 6; i++) addAgent(`a${i}`);
    for (let step = 0; step < 1500; step++) {
      now += Math.floor(rand() * 700);
      const op = rand();
      if (op < 0.3) {
        for (const x of a.run(now, rand() < 0.3 ? [pick([...totals.keys()])!] : undefined)) {
          const fw = frameworks.get(x.frameworkId);
          assert.ok(
            fw?.active && fw.roles.includes(x.role) && !fw.suppressed.has(x.role),
            `grant to ${x.frameworkId}/${x.role}`,
          );
          assert.ok(!inactiveAgents.has(x.agentId));
          grants++;
          // Launch a "task" from part of it, like an ACCEPT, sometimes.
          const task = r("cpus:1;mem:256;ports:[31000-31000]");
          const one = r(
            `ports:[${x.resources.ranges("ports")[0]?.begin ?? 0}-${
              x.resources.ranges("ports")[0]?.begin ?? 0
            }]`,
          );
          const t2 = task.filter((n) => n !== "ports").add(
            x.resources.ranges("ports").length ? one : Resources.empty(),
          );
          if (rand() < 0.5 && x.resources.contains(t2)) {
            outstanding.push({ ...x, resources: t2 }, {
              ...x,
              resources: x.resources.subtract(t2),
            });
          } else outstanding.push(x);
        }
      } else if (op < 0.55) {
        const x = pick(outstanding);
        if (x) {
          outstanding = outstanding.filter((y) => y !== x);
          recovered++;
          a.recover(x, rand() < 0.5 ? { refuseUntil: now + Math.floor(rand() * 3000) } : {});
        }
      } else if (op < 0.62) {
        const id = `f${Math.floor(rand() * 4)}`;
        const roles = rand() < 0.5 ? ["*"] : ["*", "web"];
        frameworks.set(id, { roles, active: true, suppressed: new Set() });
        a.addFramework(id, { roles });
      } else if (op < 0.65) {
        const id = pick([...frameworks.keys()]);
        if (id) {
          frameworks.delete(id);
          outstanding = outstanding.filter((x) => x.frameworkId !== id);
          a.removeFramework(id);
        }
      } else if (op < 0.72) {
        const id = pick([...frameworks.keys()]);
        const fw = id ? frameworks.get(id) : undefined;
        if (id && fw) {
          const x = rand();
          if (x < 0.25) (fw.active = false, a.deactivateFramework(id));
          else if (x < 0.5) (fw.active = true, a.activateFramework(id));
          else if (x < 0.75) (fw.roles.forEach((role) => fw.suppressed.add(role)), a.suppress(id));
          else (fw.suppressed.clear(), a.revive(id));
        }
      } else if (op < 0.8) {
        const id = `a${Math.floor(rand() * 8)}`;
        addAgent(id);
      } else if (op < 0.83) {
        const id = pick([...totals.keys()]);
        if (id) {
          totals.delete(id);
          inactiveAgents.delete(id);
          outstanding = outstanding.filter((x) => x.agentId !== id);
          a.removeAgent(id);
        }
      } else if (op < 0.9) {
        const id = pick([...totals.keys()]);
        if (id && rand() < 0.5) (inactiveAgents.add(id), a.deactivateAgent(id));
        else if (id) (inactiveAgents.delete(id), a.activateAgent(id));
      }
      // Invariants: outstanding allocations on an agent are disjoint and, with what is free,
      // make up its total exactly.
      for (const [id, total] of totals) {
        let sum = Resources.empty();
        let cpus = 0;
        for (const x of outstanding.filter((y) => y.agentId === id)) {
          for (const p of x.resources.ranges("ports")) {
            for (const q of sum.ranges("ports")) {
              assert.ok(
                p.end < q.begin || q.end < p.begin,
                `port given twice on ${id} at step ${step}`,
              );
            }
          }
          cpus += x.resources.scalarMilli("cpus");
          sum = sum.add(x.resources);
        }
        assert.ok(
          cpus <= total.scalarMilli("cpus"),
          `cpus over-allocated on ${id} at step ${step}`,
        );
        assert.ok(total.contains(sum), `more than the total allocated on ${id} at step ${step}`);
        assert.ok(sum.add(a.available(id)).equals(total), `books of ${id} off at step ${step}`);
      }
    }
    // The walk must really exercise the allocator, not idle with nothing to give.
    assert.ok(grants > 150 && recovered > 150, `seed ${seed}: ${grants} grants, ${recovered} back`);
  }
});

Deno.test("Allocator books heal from over-commit and shrunken agents (random operations)", () => {
  const rand = prng(42);
  const a = new Allocator();
  const totals = new Map<string, Resources>();
  let outstanding: Allocation[] = [];
  const bundle = () =>
    r(`cpus:${Math.floor(rand() * 5)};mem:${256 * Math.floor(rand() * 9)};ports:[${
      31000 + Math.floor(rand() * 10)
    }-${31010 + Math.floor(rand() * 10)}]`);
  for (let i = 0; i < 4; i++) {
    totals.set(`a${i}`, bundle());
    a.addAgent({ id: `a${i}`, hostname: "h", total: totals.get(`a${i}`)!, attributes: [] });
  }
  a.addFramework("f1", { roles: ["*"] });
  a.addFramework("f2", { roles: ["web"] });
  for (let step = 0; step < 1000; step++) {
    const op = rand();
    const id = `a${Math.floor(rand() * 4)}`;
    if (op < 0.3) outstanding.push(...a.run(step));
    else if (op < 0.5) {
      const x = {
        frameworkId: `old${step}`, // a holding is a set: no holder over-commits itself
        role: "*",
        agentId: id,
        resources: bundle(),
      };
      a.allocate(x.frameworkId, x.role, x.agentId, x.resources); // may over-commit
      outstanding.push(x);
    } else if (op < 0.8) {
      const x = outstanding[Math.floor(rand() * outstanding.length)];
      if (x) (outstanding = outstanding.filter((y) => y !== x), a.recover(x));
    } else {
      totals.set(id, bundle()); // may shrink below what is held
      a.addAgent({ id, hostname: "h", total: totals.get(id)!, attributes: [] });
    }
    for (const [agentId, total] of totals) {
      const free = a.available(agentId);
      assert.ok(total.contains(free), `free beyond total on ${agentId} at step ${step}`);
      const held = outstanding.filter((y) => y.agentId === agentId);
      for (const x of held) {
        const ports = x.resources.filter((n) => n === "ports");
        assert.ok(intersection(free, ports).isEmpty(), `held port free at step ${step}`);
      }
      for (const name of ["cpus", "mem"]) {
        const used = held.reduce((sum, x) => sum + x.resources.scalarMilli(name), 0);
        const room = Math.max(0, total.scalarMilli(name) - used);
        assert.equal(free.scalarMilli(name), room, `free ${name} on ${agentId} at step ${step}`);
      }
    }
  }
  for (const x of outstanding) a.recover(x);
  for (const [agentId, total] of totals) assert.ok(a.available(agentId).equals(total), agentId);
  assert.deepEqual(a.shares().roles, { "*": 0, web: 0 });
  assert.deepEqual(Object.keys(a.shares().frameworks).sort(), ["f1", "f2"]);
});
