import assert from "node:assert/strict";
import { FakeClock } from "../../base/mod.ts";
import type { ContainerSpec } from "./containerizer.ts";
import { SimulatedContainerizer, simulatedRun } from "./simulated.ts";

const spec = (value: string): ContainerSpec => ({
  agentId: "a",
  frameworkId: "f",
  taskId: "t",
  command: { value },
  limits: { cpus: 0.1, memMb: 32, diskMb: 0 },
  ports: [],
  env: {},
  hostIp: "127.0.0.1",
  sandbox: "/nonexistent",
});

Deno.test("simulatedRun() reads sleep N and exit N", () => {
  assert.deepEqual(simulatedRun({ value: "sleep 2.5" }), { ms: 2500, exitCode: 0 });
  assert.deepEqual(simulatedRun({ value: "exit 3" }), { ms: 0, exitCode: 3 });
  assert.deepEqual(simulatedRun({ value: "httpd -f" }), { exitCode: 0 });
});

Deno.test("simulatedRun() reads sim:finish-after=D, sim:fail-after=D and sim:fail", () => {
  assert.deepEqual(simulatedRun({ value: "sim:finish-after=5s" }), { ms: 5000, exitCode: 0 });
  assert.deepEqual(simulatedRun({ value: "sim:finish-after=250ms" }), { ms: 250, exitCode: 0 });
  assert.deepEqual(simulatedRun({ value: "sim:fail-after=2m" }), { ms: 120_000, exitCode: 1 });
  assert.deepEqual(simulatedRun({ value: "sim:finish-after=3" }), { ms: 3000, exitCode: 0 });
  assert.deepEqual(simulatedRun({ value: "sim:fail" }), { ms: 0, exitCode: 1 });
  assert.deepEqual(simulatedRun({ value: "sim:finish-after=soon" }), { exitCode: 0 }, "runs");
});

Deno.test("SimulatedContainerizer runs `sleep N` for N seconds of its clock", async () => {
  const clock = new FakeClock(0);
  const c = new SimulatedContainerizer(clock);
  assert.equal(await c.launch("x", spec("sleep 10")), "launched");
  assert.equal(await c.launch("x", spec("sleep 10")), "already_launched");
  let ended = false;
  const waiting = c.wait("x").then((t) => (ended = true, t));
  clock.advance(9_999);
  await Promise.resolve();
  assert.equal(ended, false);
  clock.advance(1);
  assert.deepEqual(await waiting, {
    exitCode: 0,
    reason: "exited",
    message: "exited with status 0",
  });
  assert.equal(c.running(), 0);
});

Deno.test("SimulatedContainerizer.destroy() ends a task that would run forever", async () => {
  const c = new SimulatedContainerizer(new FakeClock(0));
  await c.launch("y", spec("serve"));
  assert.equal(c.running(), 1);
  const term = await c.destroy("y", 5000);
  assert.equal(term?.reason, "killed");
  assert.deepEqual(await c.wait("y"), term);
  assert.equal(await c.destroy("nope", 0), undefined);
});
