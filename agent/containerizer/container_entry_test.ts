import assert from "node:assert/strict";
import { ContainerEntry } from "./container_entry.ts";

Deno.test("ContainerEntry.end() keeps the first termination", async () => {
  const entry = new ContainerEntry("fw", "t");
  entry.end({ exitCode: 0, reason: "exited", message: "exited with status 0" });
  entry.end({ exitCode: null, reason: "killed", message: "killed by SIGKILL" });
  assert.equal(entry.termination?.reason, "exited");
  assert.equal((await entry.ended).reason, "exited");
});

Deno.test("ContainerEntry.track() ends a failed launch as launch_failed with its message", async () => {
  const entry = new ContainerEntry("fw", "t");
  const launched = entry.track(Promise.reject(new Error('Image "x" not found')));
  await assert.rejects(launched, { message: 'Image "x" not found' });
  await entry.launching;
  assert.deepEqual(await entry.ended, {
    exitCode: null,
    reason: "launch_failed",
    message: 'Image "x" not found',
  });
});

Deno.test("ContainerEntry.track() leaves a launched container running", async () => {
  const entry = new ContainerEntry("fw", "t");
  assert.equal(await entry.track(Promise.resolve("launched")), "launched");
  await entry.launching;
  assert.equal(entry.termination, undefined);
});
