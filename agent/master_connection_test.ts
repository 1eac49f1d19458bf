import assert from "node:assert/strict";
import { reconnectDelay } from "./master_connection.ts";

Deno.test("reconnectDelay() doubles from the minimum up to the cap, jittered to 50-100%", () => {
  const full = (n: number) => reconnectDelay(n, { minMs: 250, maxMs: 5000, random: 1 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10, 100].map(full), [
    250,
    500,
    1000,
    2000,
    4000,
    5000,
    5000,
    5000,
  ]);
  assert.equal(reconnectDelay(3, { minMs: 250, maxMs: 5000, random: 0 }), 1000);
  assert.equal(reconnectDelay(3, { minMs: 250, maxMs: 5000, random: 0.5 }), 1500);
});
