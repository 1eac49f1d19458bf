import assert from "node:assert/strict";
import { Prng } from "./prng.ts";

Deno.test("Prng draws the same numbers from the same seed, others from another", () => {
  const a = new Prng(7), b = new Prng(7), c = new Prng(8);
  const as = [a.next(), a.next(), a.next()];
  assert.deepEqual(as, [b.next(), b.next(), b.next()]);
  assert.notDeepEqual(as, [c.next(), c.next(), c.next()]);
  const d = new Prng(1);
  assert.ok(Array.from({ length: 1000 }, () => d.next()).every((x) => x >= 0 && x < 1));
});

Deno.test("Prng.int() stays within its bounds and reaches both", () => {
  const p = new Prng(3);
  const seen = new Set(Array.from({ length: 500 }, () => p.int(2, 5)));
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
});

Deno.test("Prng.weighted() follows the weights and never draws a zero weight", () => {
  const p = new Prng(11);
  const counts = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 4000; i++) counts[p.weighted([["a", 3], ["b", 1], ["c", 0]] as const)]++;
  assert.equal(counts.c, 0);
  assert.ok(counts.a > 2.5 * counts.b && counts.a < 3.5 * counts.b, JSON.stringify(counts));
});

Deno.test("Prng.fork() gives streams that depend on the seed and label only", () => {
  const x = new Prng(5).fork("faults"), y = new Prng(5).fork("faults");
  const z = new Prng(5).fork("driver");
  assert.equal(x.next(), y.next());
  assert.notEqual(new Prng(5).fork("faults").next(), z.next());
});
