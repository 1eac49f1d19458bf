import assert from "node:assert/strict";
import type { Endpoint } from "../master/discovery/mod.ts";
import { Pool } from "./pool.ts";

function ep(port: number, weight = 1): Endpoint {
  return {
    taskId: `t${port}`,
    host: "h",
    ip: "127.0.0.1",
    port,
    portIndex: 0,
    protocol: "tcp",
    weight,
    vhosts: [],
    balance: "roundrobin",
  };
}

function spread(pool: Pool, n: number, now = 0): Record<number, number> {
  const counts: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const b = pool.pick(now);
    assert.ok(b);
    counts[b.port] = (counts[b.port] ?? 0) + 1;
  }
  return counts;
}

Deno.test("Pool.pick() with round robin rotates evenly over equal weights", () => {
  const pool = new Pool({ balance: "roundrobin" });
  pool.setEndpoints([ep(1), ep(2), ep(3)]);
  assert.deepEqual(spread(pool, 300), { 1: 100, 2: 100, 3: 100 });
});

Deno.test("Pool.pick() with round robin follows weights exactly and interleaves", () => {
  const pool = new Pool({ balance: "roundrobin" });
  pool.setEndpoints([ep(1, 9), ep(2, 1), ep(3, 0)]);
  assert.deepEqual(spread(pool, 1000), { 1: 900, 2: 100 });
  const first10 = Array.from({ length: 10 }, () => pool.pick(0)?.port);
  assert.equal(first10.filter((p) => p === 2).length, 1);
});

Deno.test("Pool.pick() with least connections prefers the backend with fewest active", () => {
  const pool = new Pool({ balance: "leastconn" });
  pool.setEndpoints([ep(1), ep(2)]);
  const busy = pool.pick(0);
  assert.ok(busy);
  pool.acquire(busy);
  for (let i = 0; i < 5; i++) assert.notEqual(pool.pick(0)?.port, busy.port);
  pool.release(busy);
  assert.deepEqual(spread(pool, 4), { 1: 2, 2: 2 });
});

Deno.test("Pool.pick() skips excluded and benched backends, but uses benched as a last resort", () => {
  const pool = new Pool({ balance: "roundrobin", benchMs: 1000 });
  pool.setEndpoints([ep(1), ep(2)]);
  const b1 = pool.pick(0, new Set(["127.0.0.1:2"]));
  assert.equal(b1?.port, 1);
  pool.fail(b1, 0);
  for (let i = 0; i < 4; i++) assert.equal(pool.pick(500)?.port, 2);
  assert.equal(pool.pick(500, new Set(["127.0.0.1:2"]))?.port, 1);
  assert.deepEqual(spread(pool, 4, 1000), { 1: 2, 2: 2 });
  assert.equal(pool.pick(0, new Set(["127.0.0.1:1", "127.0.0.1:2"])), undefined);
});

Deno.test("Pool.setEndpoints() drains a removed backend until its last connection ends", () => {
  const pool = new Pool({ balance: "roundrobin" });
  pool.setEndpoints([ep(1), ep(2)]);
  const b = pool.pick(0);
  assert.ok(b);
  pool.acquire(b);
  pool.setEndpoints([ep(b.port === 1 ? 2 : 1)]);
  assert.equal(pool.view().find((v) => v.port === b.port)?.draining, true);
  for (let i = 0; i < 5; i++) assert.notEqual(pool.pick(0)?.port, b.port);
  pool.release(b);
  assert.deepEqual(pool.view().map((v) => v.port), [b.port === 1 ? 2 : 1]);
  pool.setEndpoints([]);
  assert.equal(pool.empty, true);
  assert.equal(pool.pick(0), undefined);
});

Deno.test("Pool.setEndpoints() keeps counters of backends that stay", () => {
  const pool = new Pool({ balance: "roundrobin" });
  pool.setEndpoints([ep(1)]);
  const b = pool.pick(0);
  assert.ok(b);
  pool.acquire(b);
  pool.ok(b);
  pool.release(b);
  pool.setEndpoints([ep(1, 5)]);
  assert.deepEqual(pool.view().map((v) => [v.total, v.weight]), [[1, 5]]);
});
