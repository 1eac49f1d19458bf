import assert from "node:assert/strict";
import { Resources } from "../../protocol/mod.ts";
import { type Allocation, Allocator } from "./allocator.ts";

const r = (text: string) => Resources.parse(text);
const SLICE = "cpus:4;mem:4096;ports:[31000-31009]";

function withAgents(n: number): Allocator {
  const a = new Allocator();
  for (let i = 0; i < n; i++) {
    a.addAgent({ id: `a${i}`, hostname: `h${i}`, total: r(SLICE), attributes: [] });
  }
  return a;
}

function sum(allocs: Allocation[], role: string, name: string): number {
  return allocs.filter((x) => x.role === role).reduce((t, x) => t + x.resources.scalar(name), 0);
}

Deno.test("Allocator.run() never offers a role past its quota limit", () => {
  const a = withAgents(3);
  a.addFramework("f1", { roles: ["web"] });
  a.setQuota("web", { guarantees: {}, limits: { cpus: 6, mem: 5000 } });
  const first = a.run(0);
  assert.equal(sum(first, "web", "cpus"), 6);
  assert.equal(sum(first, "web", "mem"), 5000);
  // The cut slice keeps its ports: limits name scalars only.
  assert.ok(first.every((x) => x.resources.ranges("ports").length > 0));
  assert.deepEqual(a.run(1000), [], "at the limit: nothing more");
  // A task ends: its part may be offered again, up to the limit.
  a.recover({ ...first[0]!, resources: r("cpus:1;mem:100") });
  const again = a.run(2000);
  assert.equal(sum(again, "web", "cpus"), 1);
  assert.equal(sum(again, "web", "mem"), 100);
});

Deno.test("Allocator.run() gives what a limit leaves of an agent to other roles in the same run", () => {
  const a = withAgents(1);
  a.addFramework("capped", { roles: ["batch"] });
  a.addFramework("other", { roles: ["web"] });
  a.setQuota("batch", { guarantees: {}, limits: { cpus: 1 } });
  a.setWeight("batch", 100); // batch goes first
  const run = a.run(0);
  assert.equal(sum(run, "batch", "cpus"), 1);
  assert.equal(sum(run, "web", "cpus"), 3);
});

Deno.test("Allocator.run() holds a guarantee back from other roles (quota headroom)", () => {
  const a = withAgents(2);
  a.addFramework("greedy", { roles: ["web"] });
  // No framework of "db" yet: 3 cpus and 1000 mem stay free for it anyway.
  a.setQuota("db", { guarantees: { cpus: 3, mem: 1000 }, limits: {} });
  const first = a.run(0);
  assert.equal(sum(first, "web", "cpus"), 5);
  assert.equal(sum(first, "web", "mem"), 8192 - 1000);
  assert.deepEqual(a.run(1000), []);
  a.addFramework("db1", { roles: ["db"] });
  const second = a.run(2000);
  assert.equal(sum(second, "db", "cpus"), 3);
  assert.equal(sum(second, "db", "mem"), 1000);
});

Deno.test("Allocator.run() serves a role with an unmet guarantee before heavier-weighted roles", () => {
  const a = withAgents(1);
  a.addFramework("w", { roles: ["web"] });
  a.addFramework("d", { roles: ["db"] });
  a.setWeight("web", 100);
  a.setQuota("db", { guarantees: { cpus: 2 }, limits: {} });
  const run = a.run(0);
  // db takes its guarantee (and what no guarantee needs) first; web gets nothing held back.
  assert.equal(run[0]!.role, "db");
  assert.equal(sum(run, "db", "cpus") + sum(run, "web", "cpus"), 4);
  assert.ok(sum(run, "db", "cpus") >= 2);
});

Deno.test("Allocator.setQuota(role, undefined) lifts the limit", () => {
  const a = withAgents(2);
  a.addFramework("f1", { roles: ["web"] });
  a.setQuota("web", { guarantees: {}, limits: { cpus: 1 } });
  assert.equal(sum(a.run(0), "web", "cpus"), 1);
  a.setQuota("web", undefined);
  assert.equal(sum(a.run(1000), "web", "cpus"), 7);
});

Deno.test("Allocator.setWeight() shifts agents between roles as the weights say", () => {
  const a = withAgents(12);
  a.addFramework("f1", { roles: ["a"] });
  a.addFramework("f2", { roles: ["b"] });
  a.setWeight("a", 3);
  const run = a.run(0);
  assert.equal(run.filter((x) => x.role === "a").length, 9);
  assert.equal(run.filter((x) => x.role === "b").length, 3);
});
