import assert from "node:assert/strict";
import type { Event, Offer, TaskStatus } from "../protocol/mod.ts";
import { SchedulerDriver, type SchedulerDriverOptions } from "./driver.ts";
import { type Scheduler, SchedulerCallError } from "./scheduler.ts";
import {
  FakeSchedulerMaster,
  type FakeSchedulerMasterOptions,
} from "./testing/fake_scheduler_master.ts";
import { FakeHaMaster, proxyTo } from "../tests/support/ha_master.ts";

const FRAMEWORK = { user: "tester", name: "driver-test", failover_timeout: 60 };
const FAST = { initialMs: 10, maxMs: 50 };

function offer(n: number): Offer {
  return {
    id: { value: `o-${n}` },
    framework_id: { value: "fake-master-0001" },
    agent_id: { value: "a-1" },
    hostname: "node1",
    resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }],
    attributes: [],
    executor_ids: [],
  };
}

function update(taskId: string, state: TaskStatus["state"], uuid?: string): Event {
  return {
    type: "UPDATE",
    update: {
      status: {
        task_id: { value: taskId },
        state,
        agent_id: { value: "a-1" },
        ...(uuid ? { uuid } : {}),
      },
    },
  };
}

/** Runs `body` with a started fake master and a driver, and cleans both up. */
async function withDriver(
  scheduler: Scheduler,
  body: (driver: SchedulerDriver, master: FakeSchedulerMaster) => Promise<void>,
  options: {
    master?: FakeSchedulerMasterOptions;
    driver?: Partial<SchedulerDriverOptions>;
  } = {},
): Promise<void> {
  const master = FakeSchedulerMaster.start(options.master);
  const driver = new SchedulerDriver(scheduler, {
    master: master.url,
    framework: FRAMEWORK,
    backoff: FAST,
    ...options.driver,
  });
  try {
    await body(driver, master);
  } finally {
    await driver.stop();
    await master.close();
  }
}

Deno.test("SchedulerDriver.start() subscribes with JSON headers and the framework info", async () => {
  const seen: unknown[] = [];
  await withDriver({ subscribed: (_d, info) => void seen.push(info) }, async (driver, master) => {
    assert.equal(driver.running, false);
    await driver.start();
    assert.equal(driver.running, true);
    assert.equal(driver.frameworkId, "fake-master-0001");
    const [sub] = master.callsOf("SUBSCRIBE");
    assert.ok(sub);
    assert.equal(sub.headers.get("Content-Type"), "application/json");
    assert.equal(sub.headers.get("Accept"), "application/json");
    assert.equal(sub.headers.get("Mesos-Stream-Id"), null);
    assert.deepEqual(sub.call, {
      type: "SUBSCRIBE",
      subscribe: { framework_info: FRAMEWORK },
    });
    await master.waitFor(() => seen.length === 1, { what: "subscribed()" });
    assert.deepEqual(seen, [{
      frameworkId: "fake-master-0001",
      heartbeatIntervalSeconds: 15,
      resubscribed: false,
    }]);
  }, { master: { heartbeats: false } });
});

Deno.test("SchedulerDriver delivers OFFERS, RESCIND and UPDATE in order, one callback at a time", async () => {
  const log: string[] = [];
  const scheduler: Scheduler = {
    offers: async (_d, offers) => {
      log.push(`offers:start ${offers.map((o) => o.id.value).join(",")}`);
      await new Promise((r) => setTimeout(r, 50));
      log.push("offers:end");
    },
    rescind: (_d, offerId) => void log.push(`rescind ${offerId}`),
    update: (_d, status) => void log.push(`update ${status.task_id.value} ${status.state}`),
  };
  await withDriver(scheduler, async (driver, master) => {
    await driver.start();
    master.send({ type: "OFFERS", offers: { offers: [offer(1), offer(2)] } });
    master.send({ type: "HEARTBEAT" });
    master.send({ type: "RESCIND", rescind: { offer_id: { value: "o-1" } } });
    master.send(update("t-1", "TASK_RUNNING"));
    await master.waitFor(() => log.length === 4, { what: "four callbacks" });
    assert.deepEqual(log, [
      "offers:start o-1,o-2",
      "offers:end",
      "rescind o-1",
      "update t-1 TASK_RUNNING",
    ]);
    // an update without uuid is not acknowledged (a reconcile round-trip orders the check)
    await driver.reconcile();
    assert.equal(master.callsOf("ACKNOWLEDGE").length, 0);
  });
});

Deno.test("SchedulerDriver acknowledges an update with uuid only after update() returned", async () => {
  let acksDuringUpdate = -1;
  let master: FakeSchedulerMaster | undefined;
  const scheduler: Scheduler = {
    update: async () => {
      await new Promise((r) => setTimeout(r, 100));
      acksDuringUpdate = master?.callsOf("ACKNOWLEDGE").length ?? -1;
    },
  };
  await withDriver(scheduler, async (driver, m) => {
    master = m;
    await driver.start();
    m.send(update("t-1", "TASK_RUNNING", "dXVpZC0x"));
    const ack = await m.waitFor(() => m.callsOf("ACKNOWLEDGE")[0], { what: "ACKNOWLEDGE" });
    assert.equal(acksDuringUpdate, 0);
    assert.equal(ack.headers.get("Mesos-Stream-Id"), m.streamId);
    assert.deepEqual(ack.call, {
      type: "ACKNOWLEDGE",
      framework_id: { value: "fake-master-0001" },
      acknowledge: { agent_id: { value: "a-1" }, task_id: { value: "t-1" }, uuid: "dXVpZC0x" },
    });
  });
});

Deno.test("SchedulerDriver does not acknowledge an update whose update() threw", async () => {
  const errors: string[] = [];
  const scheduler: Scheduler = {
    update: (_d, status) => {
      if (status.task_id.value === "t-1") throw new Error("store is down");
    },
    error: (_d, message) => void errors.push(message),
  };
  await withDriver(scheduler, async (driver, master) => {
    await driver.start();
    master.send(update("t-1", "TASK_RUNNING", "dXVpZC0x"));
    master.send(update("t-2", "TASK_RUNNING", "dXVpZC0y"));
    const ack = await master.waitFor(() => master.callsOf("ACKNOWLEDGE")[0], { what: "an ack" });
    assert.equal(ack.call?.type === "ACKNOWLEDGE" && ack.call.acknowledge.uuid, "dXVpZC0y");
    assert.equal(master.callsOf("ACKNOWLEDGE").length, 1);
    assert.deepEqual(errors, ["Scheduler.update() threw: store is down"]);
  });
});

Deno.test("SchedulerDriver sends each call with the stream id and Mesos' JSON shape", async () => {
  await withDriver({}, async (driver, master) => {
    await driver.start();
    await driver.launch(["o-1"], [{
      name: "t",
      task_id: { value: "t-1" },
      agent_id: { value: "a-1" },
      resources: [],
      command: { value: "true" },
    }], { refuse_seconds: 5 });
    await driver.decline(["o-2", "o-3"], { refuse_seconds: 60 });
    await driver.kill("t-1", "a-1", 2000);
    await driver.reconcile([{ taskId: "t-1", agentId: "a-1" }]);
    await driver.suppress();
    await driver.revive(["web"]);
    await driver.message("a-1", "e-1", "hi");
    await driver.launchGroup(["o-4"], {
      executor: { type: "DEFAULT", executor_id: { value: "e-1" } },
      tasks: [],
    });
    const calls = master.calls.slice(1);
    assert.ok(calls.every((c) => c.headers.get("Mesos-Stream-Id") === master.streamId));
    const fw = { value: "fake-master-0001" };
    assert.deepEqual(calls.map((c) => c.call), [
      {
        type: "ACCEPT",
        framework_id: fw,
        accept: {
          offer_ids: [{ value: "o-1" }],
          operations: [{
            type: "LAUNCH",
            launch: {
              task_infos: [{
                name: "t",
                task_id: { value: "t-1" },
                agent_id: { value: "a-1" },
                resources: [],
                command: { value: "true" },
              }],
            },
          }],
          filters: { refuse_seconds: 5 },
        },
      },
      {
        type: "DECLINE",
        framework_id: fw,
        decline: {
          offer_ids: [{ value: "o-2" }, { value: "o-3" }],
          filters: { refuse_seconds: 60 },
        },
      },
      {
        type: "KILL",
        framework_id: fw,
        kill: {
          task_id: { value: "t-1" },
          agent_id: { value: "a-1" },
          kill_policy: { grace_period: { nanoseconds: 2_000_000_000 } },
        },
      },
      {
        type: "RECONCILE",
        framework_id: fw,
        reconcile: { tasks: [{ task_id: { value: "t-1" }, agent_id: { value: "a-1" } }] },
      },
      { type: "SUPPRESS", framework_id: fw, suppress: {} },
      { type: "REVIVE", framework_id: fw, revive: { roles: ["web"] } },
      {
        type: "MESSAGE",
        framework_id: fw,
        message: { agent_id: { value: "a-1" }, executor_id: { value: "e-1" }, data: "aGk=" },
      },
      {
        type: "ACCEPT",
        framework_id: fw,
        accept: {
          offer_ids: [{ value: "o-4" }],
          operations: [{
            type: "LAUNCH_GROUP",
            launch_group: {
              executor: { type: "DEFAULT", executor_id: { value: "e-1" } },
              task_group: { tasks: [] },
            },
          }],
        },
      },
    ]);
  });
});

Deno.test("SchedulerDriver surfaces a 400 answer as SchedulerCallError with the master's message", async () => {
  await withDriver({}, async (driver, master) => {
    await driver.start();
    master.answerNext("DECLINE", { status: 400, body: "Offer o-9 is no longer valid" });
    await assert.rejects(driver.decline(["o-9"]), (e: unknown) => {
      assert.ok(e instanceof SchedulerCallError);
      assert.equal(e.callType, "DECLINE");
      assert.equal(e.httpStatus, 400);
      assert.equal(e.code, "bad_request");
      assert.equal(e.body, "Offer o-9 is no longer valid");
      assert.match(e.message, /DECLINE with 400: Offer o-9 is no longer valid/);
      return true;
    });
  });
});

Deno.test("SchedulerDriver re-subscribes with its framework id after the stream drops", async () => {
  const log: string[] = [];
  const scheduler: Scheduler = {
    subscribed: (_d, info) => void log.push(`subscribed ${info.frameworkId} ${info.resubscribed}`),
    disconnected: (_d, reason) => void log.push(`disconnected ${reason}`),
  };
  await withDriver(scheduler, async (driver, master) => {
    await driver.start();
    const firstStream = master.streamId;
    master.dropStream();
    const resub = await master.waitFor(() => master.callsOf("SUBSCRIBE")[1], {
      what: "resubscribe",
    });
    assert.deepEqual(resub.call, {
      type: "SUBSCRIBE",
      framework_id: { value: "fake-master-0001" },
      subscribe: { framework_info: { ...FRAMEWORK, id: { value: "fake-master-0001" } } },
    });
    await master.waitFor(() => log.length === 3, { what: "three callbacks" });
    assert.deepEqual(log, [
      "subscribed fake-master-0001 false",
      "disconnected the master closed the event stream",
      "subscribed fake-master-0001 true",
    ]);
    await driver.reconcile();
    const reconcile = master.callsOf("RECONCILE")[0];
    assert.notEqual(reconcile?.headers.get("Mesos-Stream-Id"), firstStream);
    assert.equal(reconcile?.headers.get("Mesos-Stream-Id"), master.streamId);
  });
});

Deno.test("SchedulerDriver declares the stream dead after missed heartbeats", async () => {
  const reasons: string[] = [];
  const healthy = FakeSchedulerMaster.start({ heartbeatIntervalSeconds: 0.2, heartbeats: true });
  const healthyDriver = new SchedulerDriver({}, {
    master: healthy.url,
    framework: FRAMEWORK,
    backoff: FAST,
  });
  try {
    await healthyDriver.start();
    await withDriver(
      { disconnected: (_d, reason) => void reasons.push(reason) },
      async (driver, silent) => {
        await driver.start();
        await silent.waitFor(() => silent.callsOf("SUBSCRIBE").length >= 2, {
          what: "a re-subscription",
        });
        assert.match(reasons[0] ?? "", /no event \(heartbeat included\) for 1 s/);
      },
      { master: { heartbeatIntervalSeconds: 0.2, heartbeats: false } },
    );
    // meanwhile a stream that carries heartbeats every 0.2 s stayed up
    assert.equal(healthy.callsOf("SUBSCRIBE").length, 1);
  } finally {
    await healthyDriver.stop();
    await healthy.close();
  }
});

Deno.test("SchedulerDriver.start() rejects on a 4xx SUBSCRIBE answer without retrying", async () => {
  await withDriver({}, async (driver, master) => {
    master.answerNext("SUBSCRIBE", { status: 400, body: "Invalid FrameworkInfo: user is empty" });
    await assert.rejects(
      driver.start(),
      /SUBSCRIBE with 400: Invalid FrameworkInfo: user is empty/,
    );
    assert.equal(master.callsOf("SUBSCRIBE").length, 1);
  });
});

Deno.test("SchedulerDriver.start() retries a 503 and follows a 307 to the leading master", async () => {
  const leader = FakeSchedulerMaster.start();
  try {
    await withDriver({}, async (driver, follower) => {
      follower.answerNext("SUBSCRIBE", { status: 503, body: "Master has not finished recovery" });
      follower.answerNext("SUBSCRIBE", {
        status: 307,
        headers: { Location: `//127.0.0.1:${new URL(leader.url).port}/api/v1/scheduler` },
      });
      await driver.start();
      assert.equal(follower.callsOf("SUBSCRIBE").length, 2);
      assert.equal(leader.callsOf("SUBSCRIBE").length, 1);
      await driver.reconcile();
      assert.equal(leader.callsOf("RECONCILE").length, 1);
      assert.equal(follower.callsOf("RECONCILE").length, 0);
    });
  } finally {
    await leader.close();
  }
});

Deno.test("SchedulerDriver subscribes at the leader of a master list and, after a failover, at the new one with its framework id", async () => {
  const first = FakeSchedulerMaster.start(), second = FakeSchedulerMaster.start();
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close(); // a master that is down
  a.lead(proxyTo(first.url));
  b.standBy(a);
  const log: string[] = [];
  const driver = new SchedulerDriver({
    subscribed: async (d, info) => {
      log.push(`subscribed ${info.frameworkId} ${info.resubscribed}`);
      if (info.resubscribed) await d.reconcile(); // as a framework does after a failover
    },
    disconnected: () => void log.push("disconnected"),
  }, {
    master: `http://127.0.0.1:${listener.addr.port},${b.url},${a.url}`,
    framework: FRAMEWORK,
    backoff: FAST,
  });
  try {
    await driver.start();
    assert.equal(first.callsOf("SUBSCRIBE").length, 1);
    assert.equal(driver.frameworkId, "fake-master-0001");

    await a.kill();
    b.lead(proxyTo(second.url));
    const resub = await second.waitFor(() => second.callsOf("SUBSCRIBE")[0], {
      what: "a SUBSCRIBE at the new leader",
    });
    assert.deepEqual(resub.call, {
      type: "SUBSCRIBE",
      framework_id: { value: "fake-master-0001" },
      subscribe: { framework_info: { ...FRAMEWORK, id: { value: "fake-master-0001" } } },
    });
    const reconcile = await second.waitFor(() => second.callsOf("RECONCILE")[0], {
      what: "a RECONCILE at the new leader",
    });
    assert.equal(reconcile.headers.get("Mesos-Stream-Id"), second.streamId);
    assert.deepEqual(log, [
      "subscribed fake-master-0001 false",
      "disconnected",
      "subscribed fake-master-0001 true",
    ]);
  } finally {
    await driver.stop();
    await a.kill();
    await b.kill();
    await first.close();
    await second.close();
  }
});

Deno.test("SchedulerDriver leaves a paused leader whose stream stays open once another leads", async () => {
  const first = FakeSchedulerMaster.start({ heartbeats: false });
  const second = FakeSchedulerMaster.start({ heartbeats: false });
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  a.lead(proxyTo(first.url));
  b.standBy(a);
  const reasons: string[] = [];
  const driver = new SchedulerDriver({ disconnected: (_d, reason) => void reasons.push(reason) }, {
    master: `${a.url},${b.url}`,
    framework: FRAMEWORK,
    backoff: FAST,
    leaderCheckMs: 50,
  });
  try {
    await driver.start();
    a.pause(); // SIGSTOP: the stream stays open (and silent), nothing answers
    b.lead(proxyTo(second.url));
    const resub = await second.waitFor(() => second.callsOf("SUBSCRIBE")[0], {
      what: "a SUBSCRIBE at the new leader",
    });
    assert.equal(
      resub.call?.type === "SUBSCRIBE" && resub.call.framework_id?.value,
      "fake-master-0001",
    );
    assert.deepEqual(reasons, [`the master at ${a.url} no longer leads; ${b.url} does`]);
  } finally {
    await driver.stop();
    await a.kill();
    await b.kill();
    await first.close();
    await second.close();
  }
});

Deno.test("SchedulerDriver reports an ERROR event through error() and stops re-subscribing", async () => {
  const errors: string[] = [];
  await withDriver({ error: (_d, m) => void errors.push(m) }, async (driver, master) => {
    await driver.start();
    master.send({ type: "ERROR", error: { message: "Framework has been removed" } });
    await master.waitFor(() => errors.length === 1, { what: "error()" });
    assert.deepEqual(errors, ["Framework has been removed"]);
    assert.equal(driver.running, false);
    await assert.rejects(driver.reconcile(), SchedulerCallError);
    assert.equal(master.callsOf("SUBSCRIBE").length, 1);
  });
});

Deno.test("SchedulerDriver survives a throwing callback and reports it", async () => {
  const log: string[] = [];
  const scheduler: Scheduler = {
    offers: () => {
      throw new Error("boom");
    },
    rescind: (_d, id) => void log.push(`rescind ${id}`),
    error: (_d, message) => void log.push(`error ${message}`),
  };
  await withDriver(scheduler, async (driver, master) => {
    await driver.start();
    master.send({ type: "OFFERS", offers: { offers: [offer(1)] } });
    master.send({ type: "RESCIND", rescind: { offer_id: { value: "o-1" } } });
    await master.waitFor(() => log.length === 2, { what: "two callbacks" });
    assert.deepEqual(log, ["error Scheduler.offers() threw: boom", "rescind o-1"]);
  });
});

Deno.test("SchedulerDriver.stop({ teardown: true }) sends TEARDOWN and does not re-subscribe", async () => {
  const disconnects: string[] = [];
  await withDriver(
    { disconnected: (_d, r) => void disconnects.push(r) },
    async (driver, master) => {
      await driver.start();
      await driver.stop({ teardown: true });
      master.dropStream();
      assert.deepEqual(master.calls.map((c) => c.type), ["SUBSCRIBE", "TEARDOWN"]);
      await assert.rejects(driver.kill("t-1"), /not subscribed/);
      assert.deepEqual(disconnects, []);
      await assert.rejects(driver.start(), /already called/);
    },
  );
});

Deno.test("SchedulerDriver delivers MESSAGE and FAILURE, skips unknown events, reports bad ones", async () => {
  const log: string[] = [];
  const scheduler: Scheduler = {
    message: (_d, m) =>
      void log.push(`message ${m.agentId} ${m.executorId} ${new TextDecoder().decode(m.data)}`),
    failure: (_d, f) => void log.push(`failure ${JSON.stringify(f)}`),
    error: (_d, message) => void log.push(`error ${message}`),
  };
  await withDriver(scheduler, async (driver, master) => {
    await driver.start();
    master.sendRaw({ type: "INVERSE_OFFERS", inverse_offers: { inverse_offers: [] } });
    master.send({
      type: "MESSAGE",
      message: { agent_id: { value: "a-1" }, executor_id: { value: "e-1" }, data: "aGk=" },
    });
    master.sendRaw({ type: "OFFERS", offers: [] });
    master.send({ type: "FAILURE", failure: { agent_id: { value: "a-1" }, status: 9 } });
    await master.waitFor(() => log.length === 3, { what: "three callbacks" });
    assert.deepEqual(log, [
      "message a-1 e-1 hi",
      "error Ignoring an invalid OFFERS event: offers: Expected object, received array",
      `failure {"agentId":"a-1","status":9}`,
    ]);
  });
});

Deno.test("SchedulerDriver.start() retries an unreachable master, and stop() ends the wait", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const driver = new SchedulerDriver({}, {
    master: `http://127.0.0.1:${port}`,
    framework: FRAMEWORK,
    backoff: FAST,
  });
  let settled = false;
  const started = driver.start().finally(() => (settled = true));
  const master = FakeSchedulerMaster.start({ port });
  try {
    await started;
    assert.equal(driver.frameworkId, "fake-master-0001");
  } finally {
    await driver.stop();
    await master.close();
  }
  assert.ok(settled);

  const never = new SchedulerDriver({}, {
    master: `http://127.0.0.1:${port}`,
    framework: FRAMEWORK,
    backoff: FAST,
  });
  const rejected = assert.rejects(never.start(), /stopped before it subscribed/);
  await never.stop();
  await rejected;
});

Deno.test("SchedulerDriver.stop() returns promptly after heavy event traffic", async () => {
  // Regression: a fetch body aborted by its signal could leave the event reader pending
  // forever after a few thousand events, so stop() never returned.
  const N = 2000;
  const master = FakeSchedulerMaster.start({ heartbeats: false });
  let updates = 0;
  const driver = new SchedulerDriver({ update: () => void updates++ }, {
    master: master.url,
    framework: FRAMEWORK,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let outcome = "";
  try {
    await driver.start();
    for (let i = 0; i < N; i++) master.send(update(`t-${i}`, "TASK_RUNNING", btoa(`u-${i}`)));
    await master.waitFor(() => updates === N, { timeoutMs: 20_000, what: `${N} updates` });
    await master.waitFor(() => master.callsOf("ACKNOWLEDGE").length === N, {
      timeoutMs: 20_000,
      what: `${N} acks`,
    });
    outcome = await Promise.race([
      driver.stop().then(() => "stopped"),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve("hung"), 5000))),
    ]);
    assert.equal(outcome, "stopped");
  } finally {
    clearTimeout(timer);
    if (outcome === "hung") void master.close(); // a stuck client would hold shutdown forever
    else await master.close();
  }
});
