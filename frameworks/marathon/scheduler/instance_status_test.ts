import assert from "node:assert/strict";
import { parseApp } from "../app/parse.ts";
import { instance } from "../deployment/testing.ts";
import { applyStatus, unreachableVerdict } from "./instance_status.ts";

const app = parseApp({ id: "/a", cmd: "serve", healthChecks: [{ protocol: "TCP" }] });
const status = (state: string, extra: Record<string, unknown> = {}) => ({
  task_id: { value: "t" },
  state: state as "TASK_RUNNING",
  ...extra,
});

Deno.test("applyStatus() tracks condition, start time and health", () => {
  const staged = instance(app, {
    condition: "Staging",
    healthy: undefined,
    startedAt: undefined,
    since: 0,
  });
  const running = applyStatus(staged, status("TASK_RUNNING"), 100);
  assert.equal(running.condition, "Running");
  assert.equal(running.startedAt, 100);
  assert.equal(running.since, 100);
  assert.equal(running.healthy, undefined);
  const healthy = applyStatus(running, status("TASK_RUNNING", { healthy: true }), 200);
  assert.equal(healthy.healthy, true);
  assert.equal(healthy.startedAt, 100);
  assert.equal(healthy.since, 100, "same condition keeps since");
  const failed = applyStatus(healthy, status("TASK_FAILED", { message: "exit 1" }), 300);
  assert.equal(failed.condition, "Failed");
  assert.equal(failed.healthy, undefined);
  assert.equal(failed.message, "exit 1");
});

Deno.test("unreachableVerdict() follows inactiveAfterSeconds and expungeAfterSeconds", () => {
  const slow = parseApp({
    id: "/s",
    cmd: "ab",
    unreachableStrategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 30 },
  });
  const lost = instance(slow, { condition: "Unreachable", since: 0 });
  assert.equal(unreachableVerdict(slow, lost, 9_999), "keep");
  assert.equal(unreachableVerdict(slow, lost, 10_000), "inactive");
  const inactive = { ...lost, condition: "UnreachableInactive" as const, since: 10_000 };
  assert.equal(unreachableVerdict(slow, inactive, 29_999), "keep");
  assert.equal(unreachableVerdict(slow, inactive, 30_000), "expunge");
  assert.equal(
    unreachableVerdict(app, { ...lost }, 0),
    "inactive",
    "default {0,0} replaces at once",
  );
  const resident = { ...slow, unreachableStrategy: "disabled" as const };
  assert.equal(unreachableVerdict(resident, lost, 1e12), "keep");
  assert.equal(unreachableVerdict(slow, instance(slow), 1e12), "keep");
});
