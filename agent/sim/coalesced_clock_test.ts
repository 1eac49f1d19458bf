import assert from "node:assert/strict";
import { CoalescedClock } from "./coalesced_clock.ts";

Deno.test("CoalescedClock wakes sleepers of one slot together, and an abort ends a sleep", async () => {
  const clock = new CoalescedClock(50);
  const order: string[] = [];
  const started = Date.now();
  await Promise.all([
    clock.sleep(10).then(() => order.push("a")),
    clock.sleep(20).then(() => order.push("b")),
  ]);
  assert.deepEqual(order.sort(), ["a", "b"]);
  assert.ok(Date.now() - started >= 10, "not before it is due");
  const stop = new AbortController();
  const aborted = clock.sleep(60_000, stop.signal);
  stop.abort(new Error("stopped"));
  await assert.rejects(aborted, /stopped/);
});
