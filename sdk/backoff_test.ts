import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay() doubles from initialMs up to maxMs, jittered in the upper half", () => {
  const opts = { initialMs: 250, maxMs: 10_000 };
  assert.deepEqual([0, 1, 2, 3, 6, 40].map((n) => backoffDelay(n, opts, () => 0.999999)), [
    250,
    500,
    1000,
    2000,
    10_000,
    10_000,
  ]);
  assert.deepEqual([0, 1, 5, 6].map((n) => backoffDelay(n, opts, () => 0)), [125, 250, 4000, 5000]);
});
