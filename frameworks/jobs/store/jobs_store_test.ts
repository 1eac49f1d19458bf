import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../../base/mod.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { JobsCore } from "../core/jobs_core.ts";
import { parseJob } from "../model/job.ts";
import { JobsStore } from "./jobs_store.ts";

Deno.test("JobsStore round-trips what the core changed", async () => {
  const kv = await DenoKvStore.open(":memory:");
  try {
    const store = new JobsStore(kv);
    const clock = new FakeClock(Date.parse("2024-01-01T00:00:00Z"));
    const core = new JobsCore({ clock, ids: new SequentialIds() });
    core.recover(await store.load());
    core.createJob(parseJob({
      id: "a.b",
      schedules: [{ id: "s1", cron: "* * * * *" }],
      run: { cmd: "true", cpus: 0.1, mem: 32, disk: 0 },
    }));
    core.subscribed("fw-9");
    clock.advance(60_000);
    core.tick();
    await store.commit(core.drain().changes);

    const state = await new JobsStore(kv).load();
    assert.equal(state.frameworkId, "fw-9");
    assert.deepEqual(state.jobs, core.jobs());
    assert.deepEqual(state.runs, core.activeRuns());
    assert.deepEqual(state.ticks, [{ jobId: "a.b", scheduleId: "s1", after: clock.now() }]);
  } finally {
    kv.close();
  }
});

Deno.test("JobsStore.commit() refuses to overwrite another writer's change", async () => {
  const kv = await DenoKvStore.open(":memory:");
  try {
    const one = new JobsStore(kv);
    const two = new JobsStore(kv);
    await one.load();
    await two.load();
    await one.commit([{ kind: "framework_id", value: "fw-1" }]);
    await assert.rejects(
      () => two.commit([{ kind: "framework_id", value: "fw-2" }]),
      /Another writer/,
    );
  } finally {
    kv.close();
  }
});
