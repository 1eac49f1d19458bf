import assert from "node:assert/strict";
import { type Scheduler, SchedulerDriver } from "../../../mod.ts";
import { createLogger, systemClock } from "../../../base/mod.ts";
import { FakeSchedulerMaster } from "../../../sdk/testing/fake_scheduler_master.ts";
import { FrameworkKeeper } from "./framework_keeper.ts";

/** A keeper over the fake master, its log lines kept. */
function keeperAt(master: FakeSchedulerMaster, frameworkId?: string) {
  const lines: string[] = [];
  const subscribed: string[] = [];
  const scheduler: Scheduler = { subscribed: (_d, info) => void subscribed.push(info.frameworkId) };
  const keeper = new FrameworkKeeper(scheduler, {
    frameworkId,
    clock: systemClock,
    log: createLogger({ component: "marathon", level: "warn", write: (l) => lines.push(l) }),
    retryMs: 10,
    makeDriver: (watched, id) =>
      new SchedulerDriver(watched, {
        master: master.url,
        framework: { user: "u", name: "marathon" },
        ...(id ? { frameworkId: id } : {}),
        backoff: { initialMs: 10, maxMs: 20 },
      }),
  });
  return { keeper, lines, subscribed };
}

const subscribeIds = (master: FakeSchedulerMaster) =>
  master.callsOf("SUBSCRIBE").map((c) =>
    c.call?.type === "SUBSCRIBE" ? c.call.framework_id?.value : undefined
  );

Deno.test("FrameworkKeeper registers as a new framework when the master says the old one was removed, and reports the loss meanwhile", async () => {
  const master = FakeSchedulerMaster.start();
  const { keeper, lines, subscribed } = keeperAt(master, "fw-old");
  master.answerNext("SUBSCRIBE", {
    status: 400,
    body: 'Framework "fw-old" has been removed; subscribe without an id',
  });
  try {
    keeper.start();
    await master.waitFor(() => subscribed.length === 1, { what: "a new registration" });
    assert.deepEqual(subscribeIds(master), ["fw-old", undefined]);
    assert.equal(keeper.losses, 1);
    assert.equal(keeper.loss, undefined, "registered again: no longer lost");
    assert.ok(lines.some((l) => /"level":"error".*lost its framework.*has been removed/.test(l)));
  } finally {
    await keeper.stop();
    await master.close();
  }
});

Deno.test("FrameworkKeeper subscribes again as the same framework after an ERROR that took it over", async () => {
  const master = FakeSchedulerMaster.start();
  const { keeper, subscribed } = keeperAt(master);
  try {
    keeper.start();
    await master.waitFor(() => subscribed.length === 1, { what: "the first registration" });
    const id = subscribed[0]!;
    master.send({ type: "ERROR", error: { message: "Framework failed over" } });
    await master.waitFor(() => keeper.losses === 1, { what: "the loss" });
    await master.waitFor(() => subscribed.length === 2, { what: "the second subscription" });
    assert.equal(subscribeIds(master).at(-1), id, "the same framework id");
    assert.equal(keeper.loss, undefined);
  } finally {
    await keeper.stop();
    await master.close();
  }
});

Deno.test("FrameworkKeeper steps down, instead of taking the framework back, when told to (a Marathon among several)", async () => {
  const master = FakeSchedulerMaster.start();
  const steppedDown: string[] = [];
  const subscribed: string[] = [];
  const keeper = new FrameworkKeeper(
    { subscribed: (_d, i) => void subscribed.push(i.frameworkId) },
    {
      frameworkId: undefined,
      clock: systemClock,
      log: createLogger({ component: "marathon", level: "error", write: () => {} }),
      retryMs: 10,
      onTakenOver: (m) => void steppedDown.push(m),
      makeDriver: (watched, id) =>
        new SchedulerDriver(watched, {
          master: master.url,
          framework: { user: "u", name: "marathon" },
          ...(id ? { frameworkId: id } : {}),
        }),
    },
  );
  try {
    keeper.start();
    await master.waitFor(() => subscribed.length === 1, { what: "the registration" });
    const first = keeper.driver;
    master.send({ type: "ERROR", error: { message: "Framework failed over" } });
    await master.waitFor(() => steppedDown.length === 1, { what: "stepping down" });
    // Called after the driver stopped, with no new driver made: nothing will subscribe again.
    assert.equal(keeper.driver, first);
    assert.equal(first.running, false);
    assert.equal(master.callsOf("SUBSCRIBE").length, 1, "it did not take the framework back");
    assert.deepEqual(steppedDown, ["Framework failed over"]);
  } finally {
    await keeper.stop();
    await master.close();
  }
});
