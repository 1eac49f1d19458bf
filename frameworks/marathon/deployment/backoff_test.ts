import assert from "node:assert/strict";
import { FakeClock } from "../../../base/mod.ts";
import { parseApp } from "../app/parse.ts";
import { Backoff, type BackoffState } from "./backoff.ts";

const app = parseApp({
  id: "/crash",
  cmd: "exit 1",
  backoffSeconds: 2,
  backoffFactor: 2,
  maxLaunchDelaySeconds: 20,
});

Deno.test("Backoff.failed() grows the delay by backoffFactor up to maxLaunchDelaySeconds", () => {
  const clock = new FakeClock();
  const backoff = new Backoff();
  let state: BackoffState | undefined;
  const delays: number[] = [];
  for (let n = 0; n < 6; n++) {
    state = backoff.failed(app, "v1", state, clock.now());
    delays.push(state.delayMs / 1000);
    assert.equal(
      backoff.launchAllowedAt(app, "v1", state, clock.now()),
      clock.now() + state.delayMs,
    );
    clock.advance(state.delayMs + 100);
  }
  assert.deepEqual(delays, [2, 4, 8, 16, 20, 20]);
  assert.equal(state?.failures, 6);
});

Deno.test("Backoff uses Marathon's defaults: 1 s × 1.15^n capped at 300 s", () => {
  const plain = parseApp({ id: "/p", cmd: "exit 1" });
  const backoff = new Backoff();
  let state: BackoffState | undefined;
  for (let n = 0; n < 60; n++) state = backoff.failed(plain, "v", state, 0);
  assert.equal(state!.delayMs, 300_000);
  const second = backoff.failed(plain, "v", backoff.failed(plain, "v", undefined, 0), 0);
  assert.equal(Math.round(second.delayMs), 1150);
});

Deno.test("Backoff resets on a new config version, after quiet time, and after a healthy run", () => {
  const clock = new FakeClock();
  const backoff = new Backoff({ healthyRunMs: 30_000 });
  const state = backoff.failed(
    app,
    "v1",
    backoff.failed(app, "v1", undefined, clock.now()),
    clock.now(),
  );
  assert.equal(state.delayMs, 4000);
  assert.equal(backoff.current(app, "v2", state, clock.now()), undefined, "new version");
  assert.equal(backoff.launchAllowedAt(app, "v2", state, clock.now()), clock.now());
  clock.advance(4000 + 19_999);
  assert.equal(backoff.current(app, "v1", state, clock.now()), state, "not yet quiet long enough");
  clock.advance(1);
  assert.equal(
    backoff.current(app, "v1", state, clock.now()),
    undefined,
    "quiet for maxLaunchDelay",
  );
  const started = clock.now();
  const again = backoff.failed(app, "v1", undefined, started - 1);
  clock.advance(29_999);
  assert.equal(backoff.ran(again, started, clock.now()), again);
  clock.advance(1);
  assert.equal(backoff.ran(again, started, clock.now()), undefined);
});
