import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../../base/mod.ts";
import { type Offer, OfferSchema, Resources, type TaskState } from "../../../protocol/mod.ts";
import { parseJob } from "../model/job.ts";
import { type Command, JobsCore, type JobsState } from "./jobs_core.ts";

const START = Date.parse("2024-01-01T00:00:00Z");

function core(clock = new FakeClock(START)) {
  const c = new JobsCore({ clock, ids: new SequentialIds() });
  c.recover({ jobs: [], runs: [], histories: [], ticks: [] });
  return { core: c, clock };
}

let offerSeq = 0;
function offer(
  host = "n1",
  res = "cpus:4;mem:4096;disk:100",
  attributes: Offer["attributes"] = [],
): Offer {
  offerSeq++;
  return OfferSchema.parse({
    id: { value: `o-${offerSeq}` },
    framework_id: { value: "fw" },
    agent_id: { value: `a-${host}` },
    hostname: host,
    resources: Resources.parse(res).toMesos(),
    attributes,
  });
}

function job(extra: Record<string, unknown> = {}, run: Record<string, unknown> = {}) {
  return parseJob({
    id: "nightly.backup",
    run: { cmd: "echo hi", cpus: 0.5, mem: 64, disk: 0, ...run },
    ...extra,
  });
}

function launches(commands: Command[]) {
  return commands.flatMap((c) => c.type === "launch" ? c.tasks.map((t) => t.task_id.value) : []);
}

function status(taskId: string, state: TaskState) {
  return { task_id: { value: taskId }, state };
}

Deno.test("JobsCore.startRun() waits for an offer, then launches one task and revives", () => {
  const { core: c } = core();
  c.createJob(job());
  c.drain();
  const run = c.startRun("nightly.backup");
  assert.equal(run.status, "STARTING");
  assert.match(run.id, /^20240101000000[A-Za-z0-9]{5}$/);
  let out = c.drain();
  assert.deepEqual(out.changes.map((x) => x.kind), ["run"]);
  assert.ok(out.commands.some((x) => x.type === "revive"));
  c.offers([offer()]);
  out = c.drain();
  const [taskId] = launches(out.commands);
  assert.match(taskId!, new RegExp(`^nightly_backup_${run.id}\\.`));
  const launch = out.commands.find((x) => x.type === "launch");
  assert.equal(launch?.type === "launch" && launch.tasks[0]?.command?.value, "echo hi");
  assert.equal(c.activeRun("nightly.backup", run.id)?.tasks[0]?.status, "TASK_CREATED");
  // The run's task is persisted before the launch is sent (the change comes first).
  assert.equal(out.changes[0]?.kind, "run");
  // Nothing left to launch: offers are suppressed, and one still in flight is declined.
  assert.ok(out.commands.some((x) => x.type === "suppress"));
  c.offers([offer()]);
  out = c.drain();
  assert.equal(launches(out.commands).length, 0);
  assert.ok(out.commands.some((x) => x.type === "decline"));
});

Deno.test("JobsCore.update() takes a run through ACTIVE to SUCCESS and counts it", () => {
  const { core: c, clock } = core();
  c.createJob(job());
  const run = c.startRun("nightly.backup");
  c.offers([offer()]);
  const [taskId] = launches(c.drain().commands);
  c.update(status(taskId!, "TASK_RUNNING"));
  assert.equal(c.activeRun("nightly.backup", run.id)?.status, "ACTIVE");
  clock.advance(2_000);
  c.update(status(taskId!, "TASK_FINISHED"));
  const out = c.drain();
  assert.equal(c.activeRun("nightly.backup", run.id), undefined);
  const h = c.history("nightly.backup");
  assert.equal(h.successCount, 1);
  assert.equal(h.lastSuccessAt, START + 2_000);
  assert.equal(h.successfulFinishedRuns[0]?.id, run.id);
  assert.deepEqual(h.successfulFinishedRuns[0]?.tasks, [taskId]);
  assert.ok(out.events.some((e) => e.eventType === "job_run_finished"));
  // A repeated update changes nothing.
  c.update(status(taskId!, "TASK_FINISHED"));
  assert.deepEqual(c.drain().changes, []);
});

Deno.test("JobsCore.update() retries ON_FAILURE until activeDeadlineSeconds, then fails", () => {
  const { core: c, clock } = core();
  c.createJob(job({}, { restart: { policy: "ON_FAILURE", activeDeadlineSeconds: 10 } }));
  const run = c.startRun("nightly.backup");
  const attempt = () => {
    c.offers([offer()]);
    const [id] = launches(c.drain().commands);
    c.update(status(id!, "TASK_RUNNING"));
    c.update(status(id!, "TASK_FAILED"));
    return id!;
  };
  attempt();
  clock.advance(4_000);
  attempt();
  assert.equal(c.activeRun("nightly.backup", run.id)?.tasks.length, 2);
  assert.equal(c.counters.taskRelaunches, 2);
  clock.advance(7_000); // past the 10 s deadline
  attempt();
  assert.equal(c.activeRun("nightly.backup", run.id), undefined);
  const h = c.history("nightly.backup");
  assert.equal(h.failureCount, 1);
  assert.equal(h.failedFinishedRuns[0]?.tasks.length, 3);
});

Deno.test("JobsCore.update() fails a NEVER run on its first failure", () => {
  const { core: c } = core();
  c.createJob(job());
  const run = c.startRun("nightly.backup");
  c.offers([offer()]);
  const [id] = launches(c.drain().commands);
  c.update(status(id!, "TASK_FAILED"));
  assert.equal(c.activeRun("nightly.backup", run.id), undefined);
  assert.equal(c.history("nightly.backup").failureCount, 1);
});

Deno.test("JobsCore.update() relaunches a task the master never knew, whatever the policy", () => {
  const { core: c } = core();
  c.createJob(job());
  const run = c.startRun("nightly.backup");
  c.offers([offer()]);
  const [id] = launches(c.drain().commands);
  // Reconciliation after a restart: the launch never reached the master.
  c.update(status(id!, "TASK_LOST"));
  assert.ok(c.activeRun("nightly.backup", run.id));
  c.offers([offer()]);
  assert.equal(launches(c.drain().commands).length, 1);
  assert.equal(c.history("nightly.backup").failureCount, 0);
});

Deno.test("JobsCore.stopRun() kills the run's task and records it FAILED", () => {
  const { core: c } = core();
  c.createJob(job());
  const run = c.startRun("nightly.backup");
  c.offers([offer()]);
  const [id] = launches(c.drain().commands);
  c.update(status(id!, "TASK_RUNNING"));
  const stopped = c.stopRun("nightly.backup", run.id);
  assert.equal(stopped.status, "FAILED");
  const out = c.drain();
  assert.ok(out.commands.some((x) => x.type === "kill" && x.taskId === id));
  // The TASK_KILLED that follows belongs to no active run: nothing more happens.
  c.update(status(id!, "TASK_KILLED"));
  assert.deepEqual(c.drain().commands, []);
  assert.throws(() => c.stopRun("nightly.backup", run.id), /Job Run not found/);
});

Deno.test("JobsCore.offers() honours constraints and resources", () => {
  const { core: c } = core();
  c.createJob(job({}, {
    mem: 512,
    placement: { constraints: [{ attribute: "rack", operator: "EQ", value: "r2" }] },
  }));
  c.startRun("nightly.backup");
  c.drain();
  const rack = (v: string) => [{ name: "rack", type: "TEXT" as const, text: { value: v } }];
  c.offers([offer("n1", "cpus:4;mem:4096;disk:0", rack("r1"))]);
  assert.equal(launches(c.drain().commands).length, 0);
  c.offers([offer("n2", "cpus:4;mem:256;disk:0", rack("r2"))]);
  assert.equal(launches(c.drain().commands).length, 0);
  c.offers([offer("n3", "cpus:4;mem:4096;disk:0", rack("r2"))]);
  assert.equal(launches(c.drain().commands).length, 1);
});

Deno.test("JobsCore.tick() starts a run per due schedule tick and records the tick with it", () => {
  const { core: c, clock } = core();
  c.createJob(job({ schedules: [{ id: "every-min", cron: "* * * * *" }] }));
  c.drain();
  clock.advance(59_000);
  c.tick();
  assert.equal(c.activeRuns().length, 0);
  clock.advance(1_500);
  c.tick();
  const out = c.drain();
  assert.equal(c.activeRuns().length, 1);
  const kinds = out.changes.map((x) => x.kind);
  assert.ok(kinds.includes("run") && kinds.includes("tick"), "run and tick in one batch");
  assert.deepEqual(out.changes.find((x) => x.kind === "tick"), {
    kind: "tick",
    jobId: "nightly.backup",
    scheduleId: "every-min",
    value: START + 60_000,
  });
  c.tick(); // the same tick again: nothing
  assert.equal(c.activeRuns().length, 1);
});

Deno.test("JobsCore.tick() skips a FORBID tick while a run is active, ALLOW starts another", () => {
  for (const policy of ["FORBID", "ALLOW"] as const) {
    const { core: c, clock } = core();
    c.createJob(job({
      schedules: [{ id: "s1", cron: "* * * * * *", concurrencyPolicy: policy }],
    }));
    clock.advance(1_000);
    c.tick();
    clock.advance(1_000);
    c.tick();
    const events = c.drain().events.map((e) => e.eventType);
    if (policy === "FORBID") {
      assert.equal(c.activeRuns().length, 1);
      assert.ok(events.includes("schedule_tick_skipped"));
    } else {
      assert.equal(c.activeRuns().length, 2);
    }
  }
});

Deno.test("JobsCore.recover() resumes a schedule after its last tick: none twice, late ones once", () => {
  const clock = new FakeClock(START);
  const { core: first } = core(clock);
  first.createJob(job({ schedules: [{ id: "s1", cron: "* * * * *" }] }));
  clock.advance(60_000);
  first.tick();
  const stored: JobsState = {
    jobs: first.jobs(),
    runs: first.activeRuns(),
    histories: [],
    ticks: [{ jobId: "nightly.backup", scheduleId: "s1", after: START + 60_000 }],
  };
  // A restart in the same minute: the tick is not started again.
  const again = new JobsCore({ clock, ids: new SequentialIds() });
  again.recover(stored);
  again.tick();
  assert.equal(again.activeRuns().length, 1);
  // Down for 3½ minutes: the latest tick runs (within its starting deadline), the rest missed.
  clock.advance(210_000);
  again.tick();
  const out = again.drain();
  assert.equal(again.activeRuns().length, 2);
  assert.equal(again.counters.ticksMissed, 2);
  assert.ok(out.events.some((e) => e.eventType === "schedule_tick_missed"));
});

Deno.test("JobsCore.tick() misses a tick past its starting deadline and aborts late runs", () => {
  const { core: c, clock } = core();
  c.createJob(job({
    schedules: [{ id: "s1", cron: "0 * * * *", startingDeadlineSeconds: 60 }],
  }));
  // Nobody ticked for two minutes past the hour: too late to start.
  clock.advance(3_600_000 + 120_000);
  c.tick();
  assert.equal(c.activeRuns().length, 0);
  assert.equal(c.counters.ticksMissed, 1);
  // The next hour's run starts but never gets an offer: aborted after its deadline.
  clock.advance(3_600_000 - 120_000);
  c.tick();
  assert.equal(c.activeRuns().length, 1);
  clock.advance(61_000);
  c.tick();
  assert.equal(c.activeRuns().length, 0);
  assert.equal(c.history("nightly.backup").failureCount, 1);
});

Deno.test("JobsCore.tick() aborts a run not running within maxLaunchDelay", () => {
  const { core: c, clock } = core();
  c.createJob(job({}, { maxLaunchDelay: 30 }));
  c.startRun("nightly.backup");
  clock.advance(29_000);
  c.tick();
  assert.equal(c.activeRuns().length, 1);
  clock.advance(2_000);
  c.tick();
  assert.equal(c.activeRuns().length, 0);
});

Deno.test("JobsCore.deleteJob() refuses while runs are active unless told to stop them", () => {
  const { core: c } = core();
  c.createJob(job());
  c.startRun("nightly.backup");
  assert.throws(
    () => c.deleteJob("nightly.backup", { stopCurrentJobRuns: false }),
    /There are active job runs/,
  );
  c.deleteJob("nightly.backup", { stopCurrentJobRuns: true });
  assert.throws(() => c.job("nightly.backup"), /Job not found/);
  assert.throws(() => c.createJob(job()) && c.createJob(job()), /already exists/);
});

Deno.test("JobsCore schedules: one per job, updates start over from now", () => {
  const { core: c, clock } = core();
  c.createJob(job());
  const s = { id: "s1", cron: "* * * * *", timezone: "UTC", startingDeadlineSeconds: 900 } as const;
  c.addSchedule("nightly.backup", { ...s, concurrencyPolicy: "ALLOW", enabled: true });
  assert.throws(
    () =>
      c.addSchedule("nightly.backup", {
        ...s,
        id: "s2",
        concurrencyPolicy: "ALLOW",
        enabled: true,
      }),
    /Only one schedule/,
  );
  clock.advance(30_000);
  c.updateSchedule("nightly.backup", { ...s, concurrencyPolicy: "FORBID", enabled: false });
  clock.advance(60_000);
  c.tick();
  assert.equal(c.activeRuns().length, 0, "a disabled schedule does not fire");
  assert.throws(() => c.deleteSchedule("nightly.backup", "nope"), /Schedule not found/);
  c.deleteSchedule("nightly.backup", "s1");
  assert.deepEqual(c.job("nightly.backup").schedules, []);
});

Deno.test("JobsCore.subscribed() reconciles the live tasks it knows", () => {
  const { core: c } = core();
  c.createJob(job());
  c.startRun("nightly.backup");
  c.offers([offer()]);
  const [id] = launches(c.drain().commands);
  c.subscribed("fw-1");
  const out = c.drain();
  assert.deepEqual(out.changes, [{ kind: "framework_id", value: "fw-1" }]);
  const reconcile = out.commands.filter((x) => x.type === "reconcile");
  assert.deepEqual(reconcile, [
    { type: "reconcile", tasks: [{ taskId: id, agentId: "a-n1" }] },
    { type: "reconcile", tasks: [] },
  ]);
});

Deno.test("JobsCore.update() kills a live task that belongs to no active run", () => {
  const { core: c } = core();
  c.update({ ...status("ghost_20240101000000abcde.1", "TASK_RUNNING") });
  assert.deepEqual(c.drain().commands, [{ type: "kill", taskId: "ghost_20240101000000abcde.1" }]);
});

Deno.test("JobsCore launches a run with run.user as the task's CommandInfo.user", () => {
  const { core: c } = core();
  c.createJob(job({}, { user: "nobody" }));
  c.drain();
  c.startRun("nightly.backup");
  c.drain();
  c.offers([offer()]);
  const launch = c.drain().commands.find((x) => x.type === "launch");
  assert.equal(launch?.type === "launch" && launch.tasks[0]?.command?.user, "nobody");
  assert.throws(
    () => job({}, { user: "../root" }),
    (e: { details?: { path: string }[] }) => e.details?.[0]?.path === "/run/user",
  );
});
