import assert from "node:assert/strict";
import type { AgentEvent, Event, TaskInfo } from "../../protocol/mod.ts";
import { FakeClock, SequentialIds, TenderError } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "./context.ts";
import type { Change, Outgoing } from "./context.ts";
import { Master, type Snapshot } from "./master.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "./records.ts";

/** A master core with a fake clock, and helpers that play framework and agent. */
function harness(options: Partial<typeof DEFAULT_MASTER_OPTIONS> = {}) {
  const clock = new FakeClock();
  const master = new Master({ clock, ids: new SequentialIds() }, {
    ...DEFAULT_MASTER_OPTIONS,
    ...options,
  });
  const store = new Map<string, unknown>();
  const sent: Outgoing[] = [];
  const flush = () => {
    const { changes, outbox } = master.drain();
    for (const c of changes) applyChange(store, c);
    sent.push(...outbox);
    return { changes, outbox };
  };
  const toFramework = (id: string) =>
    sent.filter((o): o is Extract<Outgoing, { to: "framework" }> =>
      o.to === "framework" && o.frameworkId === id
    )
      .map((o) => o.event);
  const toAgent = (id: string) =>
    sent.filter((o): o is Extract<Outgoing, { to: "agent" }> =>
      o.to === "agent" && o.agentId === id
    )
      .map((o) => o.event);
  const subscribe = (capabilities: string[] = [], failover = 0, stream = "fs1") => {
    const id = master.subscribeFramework({
      type: "SUBSCRIBE",
      subscribe: {
        framework_info: {
          user: "u",
          name: "test",
          failover_timeout: failover,
          capabilities: capabilities.map((type) => ({ type })),
        },
      },
    }, stream);
    flush();
    return id;
  };
  const addAgent = (
    resources = "cpus:4;mem:4096;ports:[31000-31009]",
    stream = "as1",
    hostname = "h1",
  ) => {
    const id = master.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname,
          port: 5051,
          resources: Resources.parse(resources).toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    }, stream);
    flush();
    return id;
  };
  const offers = (frameworkId: string) =>
    toFramework(frameworkId).flatMap((e) => e.type === "OFFERS" ? e.offers.offers : []);
  const allocate = () => {
    master.allocatePending();
    flush();
  };
  return {
    clock,
    master,
    store,
    sent,
    flush,
    toFramework,
    toAgent,
    subscribe,
    addAgent,
    offers,
    allocate,
  };
}

function applyChange(store: Map<string, unknown>, c: Change) {
  const key = c.kind === "task"
    ? `task/${c.frameworkId}/${c.taskId}`
    : c.kind === "quota" || c.kind === "weight"
    ? `${c.kind}/${c.role}`
    : c.kind === "maintenance"
    ? c.kind
    : `${c.kind}/${c.id}`;
  const value = c.kind === "removed_framework" || c.kind === "gone_agent" ? true : c.value;
  if (value === null) store.delete(key);
  else store.set(key, value);
}

function snapshotOf(store: Map<string, unknown>): Snapshot {
  const pick = <T>(prefix: string) =>
    [...store].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v as T);
  return {
    agents: pick<AgentRecord>("agent/"),
    frameworks: pick<FrameworkRecord>("framework/"),
    tasks: pick<TaskRecord>("task/"),
    removedFrameworks: [...store.keys()].filter((k) => k.startsWith("removed_framework/")).map((
      k,
    ) => k.slice(18)),
    goneAgents: [...store.keys()].filter((k) => k.startsWith("gone_agent/")).map((k) =>
      k.slice(11)
    ),
  };
}

function task(id: string, agentId: string, resources = "cpus:1;mem:128"): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: Resources.parse(resources).toMesos(),
    command: { value: "sleep 10" },
  };
}

function launch(
  h: ReturnType<typeof harness>,
  frameworkId: string,
  offerId: string,
  tasks: TaskInfo[],
) {
  h.master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: frameworkId },
    accept: {
      offer_ids: [{ value: offerId }],
      operations: [{ type: "LAUNCH", launch: { task_infos: tasks } }],
    },
  }, "fs1");
  return h.flush();
}

function update(
  h: ReturnType<typeof harness>,
  agentId: string,
  frameworkId: string,
  taskId: string,
  state: TaskRecord["state"],
  uuid: string,
) {
  h.master.agentCall({
    type: "UPDATE",
    agent_id: { value: agentId },
    update: {
      framework_id: { value: frameworkId },
      status: { task_id: { value: taskId }, state, uuid },
    },
  });
  return h.flush();
}

function lastUpdate(events: Event[]) {
  const u = events.filter((e) => e.type === "UPDATE").at(-1);
  return u?.type === "UPDATE" ? u.update.status : undefined;
}

Deno.test("Master.subscribeFramework() answers SUBSCRIBED, then offers each agent's resources", () => {
  const h = harness();
  const fw = h.subscribe();
  assert.equal(h.toFramework(fw)[0]?.type, "SUBSCRIBED");
  const agent = h.addAgent();
  h.allocate();
  const offers = h.offers(fw);
  assert.equal(offers.length, 1);
  assert.equal(offers[0]!.agent_id.value, agent);
  assert.deepEqual(
    Resources.fromMesos(offers[0]!.resources).toString(),
    "cpus:4;mem:4096;ports:[31000-31009]",
  );
});

Deno.test("Master ACCEPT launches on the agent and declines the unused rest with a filter", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  const offer = h.offers(fw)[0]!;
  const { changes } = launch(h, fw, offer.id.value, [
    task("t1", agent, "cpus:1;mem:128;ports:[31000-31000]"),
  ]);
  assert.ok(changes.some((c) => c.kind === "task" && c.taskId === "t1"), "the task is persisted");
  const launched = h.toAgent(agent).find((e) => e.type === "LAUNCH");
  assert.equal(launched?.type === "LAUNCH" && launched.launch.task.task_id.value, "t1");
  // The rest is filtered for 5 s: no new offer before, one after.
  h.allocate();
  assert.equal(h.offers(fw).length, 1);
  h.clock.advance(5_001);
  h.master.tick({ batch: true });
  h.flush();
  const again = h.offers(fw);
  assert.equal(again.length, 2);
  assert.equal(
    Resources.fromMesos(again[1]!.resources).toString(),
    "cpus:3;mem:3968;ports:[31001-31009]",
  );
});

Deno.test("Master ACCEPT with refuse_seconds 0 offers the unused rest again at once", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  const offer = h.offers(fw)[0]!;
  h.master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: fw },
    accept: {
      offer_ids: [offer.id],
      operations: [{ type: "LAUNCH", launch: { task_infos: [task("t1", agent)] } }],
      filters: { refuse_seconds: 0 },
    },
  }, "fs1");
  h.flush();
  h.allocate();
  const again = h.offers(fw);
  assert.equal(again.length, 2, "no clock advance, no batch run: the rest comes straight back");
  assert.equal(
    Resources.fromMesos(again[1]!.resources).toString(),
    "cpus:3;mem:3968;ports:[31000-31009]",
  );
});

Deno.test("Master rejects bad ACCEPTs with 400 and changes nothing", async (t) => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  const offer = h.offers(fw)[0]!.id.value;
  const expectRejected = (call: () => void, pattern: RegExp) => {
    assert.throws(
      call,
      (e: unknown) => e instanceof TenderError && e.status === 400 && pattern.test(e.message),
    );
    const { changes, outbox } = h.master.drain();
    assert.equal(changes.length + outbox.length, 0, "nothing changed");
  };
  const accept = (offerIds: string[], tasks: TaskInfo[]) => () =>
    h.master.schedulerCall({
      type: "ACCEPT",
      framework_id: { value: fw },
      accept: {
        offer_ids: offerIds.map((value) => ({ value })),
        operations: [{ type: "LAUNCH", launch: { task_infos: tasks } }],
      },
    }, "fs1");
  await t.step(
    "unknown offer",
    () => expectRejected(accept(["nope"], [task("a", agent)]), /Offer "nope" is unknown/),
  );
  await t.step(
    "offer twice",
    () => expectRejected(accept([offer, offer], [task("a", agent)]), /appears more than once/),
  );
  await t.step(
    "resources beyond the offer",
    () =>
      expectRejected(
        accept([offer], [task("a", agent, "cpus:5;mem:128")]),
        /Task "a" needs cpus:5;mem:128 but offer/,
      ),
  );
  await t.step(
    "wrong agent",
    () =>
      expectRejected(
        accept([offer], [task("a", "other-agent")]),
        /names agent "other-agent" but offer/,
      ),
  );
  await t.step("the offer is still usable afterwards", () => {
    launch(h, fw, offer, [task("a", agent)]);
    assert.ok(h.toAgent(agent).some((e) => e.type === "LAUNCH"));
  });
  await t.step(
    "an offer used once cannot be used again",
    () => expectRejected(accept([offer], [task("b", agent)]), /no longer valid/),
  );
});

Deno.test("Master forwards status updates and the framework's acknowledgements", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_RUNNING");
  assert.equal(lastUpdate(h.toFramework(fw))?.agent_id?.value, agent);
  // A retry of the same update is recorded once (and not forwarded again on the same stream).
  const retry = update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  assert.equal(retry.changes.length, 0);
  h.master.schedulerCall({
    type: "ACKNOWLEDGE",
    framework_id: { value: fw },
    acknowledge: { agent_id: { value: agent }, task_id: { value: "t1" }, uuid: "u1" },
  }, "fs1");
  h.flush();
  const ack = h.toAgent(agent).find((e) => e.type === "ACKNOWLEDGE");
  assert.equal(ack?.type === "ACKNOWLEDGE" && ack.acknowledge.uuid, "u1");
  update(h, agent, fw, "t1", "TASK_FINISHED", "u2");
  h.master.schedulerCall({
    type: "ACKNOWLEDGE",
    framework_id: { value: fw },
    acknowledge: { agent_id: { value: agent }, task_id: { value: "t1" }, uuid: "u2" },
  }, "fs1");
  h.flush();
  assert.equal(h.master.ctx.tasks.size, 0, "a terminal, acknowledged task is forgotten");
  assert.equal(h.master.ctx.completedTasks.at(-1)?.state, "TASK_FINISHED");
});

Deno.test("Master marks a silent agent unreachable and reports its tasks TASK_UNREACHABLE", () => {
  const h = harness({ agentPingTimeoutMs: 15_000, maxAgentPingTimeouts: 1 });
  const fw = h.subscribe(["PARTITION_AWARE"]);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  h.clock.advance(14_000);
  h.master.tick({ batch: false });
  h.flush();
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_RUNNING");
  h.clock.advance(2_000);
  h.master.tick({ batch: false });
  h.flush();
  const status = lastUpdate(h.toFramework(fw));
  assert.equal(status?.state, "TASK_UNREACHABLE");
  assert.equal(status?.reason, "REASON_AGENT_DISCONNECTED");
  assert.equal(h.sent.filter((o) => o.to === "close_agent").length, 1);
  // It comes back still running the task: the framework hears so.
  h.master.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        id: { value: agent },
        hostname: "h1",
        port: 5051,
        resources: Resources.parse("cpus:4;mem:4096").toMesos(),
        attributes: [],
      },
      tasks: [{
        framework_id: { value: fw },
        task: task("t1", agent),
        status: { task_id: { value: "t1" }, state: "TASK_RUNNING" },
      }],
    },
  }, "as2");
  h.flush();
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_RUNNING");
  assert.equal(h.master.ctx.getTask(fw, "t1")?.state, "TASK_RUNNING");
});

Deno.test("Master marks an agent unreachable only after max_agent_ping_timeouts missed pings", () => {
  const h = harness({ agentPingTimeoutMs: 15_000, maxAgentPingTimeouts: 5 });
  const fw = h.subscribe(["PARTITION_AWARE"]);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  // Four pings missed (60 s), then a heartbeat: the count starts over.
  h.clock.advance(60_000);
  h.master.tick({ batch: false });
  h.master.agentCall({ type: "HEARTBEAT", agent_id: { value: agent } });
  h.clock.advance(74_000);
  h.master.tick({ batch: false });
  h.flush();
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_RUNNING", "4.9 pings missed");
  assert.equal(h.sent.filter((o) => o.to === "close_agent").length, 0);
  h.clock.advance(2_000);
  h.master.tick({ batch: false });
  h.flush();
  const status = lastUpdate(h.toFramework(fw));
  assert.equal(status?.state, "TASK_UNREACHABLE", "five pings missed");
  assert.match(status?.message ?? "", /silent for over 75 s \(5 missed pings\)/);
  assert.equal(h.sent.filter((o) => o.to === "close_agent").length, 1);
});

Deno.test("Master counts an agent's status updates as signs of life, like its heartbeats", () => {
  const h = harness({ agentPingTimeoutMs: 15_000, maxAgentPingTimeouts: 1 });
  const fw = h.subscribe(["PARTITION_AWARE"]);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  h.clock.advance(10_000);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  h.clock.advance(10_000);
  h.master.tick({ batch: false });
  h.flush();
  assert.equal(
    lastUpdate(h.toFramework(fw))?.state,
    "TASK_RUNNING",
    "20 s since SUBSCRIBE, 10 s since the update",
  );
  h.clock.advance(5_001);
  h.master.tick({ batch: false });
  h.flush();
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_UNREACHABLE");
});

Deno.test("Master tears down a framework whose failover timeout passes, killing its tasks", () => {
  const h = harness();
  const fw = h.subscribe([], 10);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  h.master.frameworkDisconnected(fw, "fs1");
  h.clock.advance(9_000);
  h.master.tick({ batch: false });
  h.flush();
  assert.ok(h.master.ctx.frameworks.has(fw));
  // Re-subscribing within the timeout gets the tasks back.
  h.master.subscribeFramework({
    type: "SUBSCRIBE",
    framework_id: { value: fw },
    subscribe: {
      framework_info: { id: { value: fw }, user: "u", name: "test", failover_timeout: 10 },
    },
  }, "fs2");
  h.flush();
  assert.equal(h.master.ctx.tasksOfFramework(fw).length, 1);
  h.master.frameworkDisconnected(fw, "fs2");
  h.master.agentCall({ type: "HEARTBEAT", agent_id: { value: agent } });
  h.clock.advance(10_001);
  h.master.tick({ batch: false });
  h.flush();
  assert.ok(!h.master.ctx.frameworks.has(fw));
  assert.ok(h.toAgent(agent).some((e: AgentEvent) => e.type === "SHUTDOWN_FRAMEWORK"));
  const completed = h.master.ctx.completedTasks.at(-1);
  assert.equal(completed?.state, "TASK_KILLED", "listed as killed, not in its last state");
  assert.equal(completed?.statuses.at(-1)?.reason, "REASON_FRAMEWORK_REMOVED");
  assert.throws(() =>
    h.master.subscribeFramework({
      type: "SUBSCRIBE",
      framework_id: { value: fw },
      subscribe: { framework_info: { user: "u", name: "test" } },
    }, "fs4"), /has been removed/);
});

Deno.test("Master answers implicit and explicit reconciliation", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  h.master.schedulerCall({
    type: "RECONCILE",
    framework_id: { value: fw },
    reconcile: { tasks: [] },
  }, "fs1");
  h.flush();
  const implicit = lastUpdate(h.toFramework(fw));
  assert.equal(implicit?.state, "TASK_STAGING");
  assert.equal(implicit?.reason, "REASON_RECONCILIATION");
  assert.equal(implicit?.uuid, undefined);
  h.master.schedulerCall({
    type: "RECONCILE",
    framework_id: { value: fw },
    reconcile: { tasks: [{ task_id: { value: "ghost" } }] },
  }, "fs1");
  h.flush();
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_LOST");
});

Deno.test("Master.recover() restores frameworks, agents and tasks from what was persisted", () => {
  const h = harness();
  const fw = h.subscribe([], 3600);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent, "cpus:3;mem:128")]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");

  const again = new Master({ clock: h.clock, ids: new SequentialIds() }, DEFAULT_MASTER_OPTIONS);
  again.recover(snapshotOf(h.store));
  assert.equal(again.ctx.getTask(fw, "t1")?.state, "TASK_RUNNING");
  assert.equal(again.ctx.getTask(fw, "t1")?.pendingUuid, "u1");
  assert.ok(again.ctx.frameworks.has(fw));
  // The running task's resources stay allocated once the agent and framework are back.
  again.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        id: { value: agent },
        hostname: "h1",
        port: 5051,
        resources: Resources.parse("cpus:4;mem:4096;ports:[31000-31009]").toMesos(),
        attributes: [],
      },
      tasks: [{
        framework_id: { value: fw },
        task: task("t1", agent, "cpus:3;mem:128"),
        status: { task_id: { value: "t1" }, state: "TASK_RUNNING" },
      }],
    },
  }, "as9");
  again.subscribeFramework({
    type: "SUBSCRIBE",
    framework_id: { value: fw },
    subscribe: {
      framework_info: { id: { value: fw }, user: "u", name: "test", failover_timeout: 3600 },
    },
  }, "fs9");
  again.allocatePending();
  const { outbox } = again.drain();
  const offers = outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  );
  assert.equal(offers.length, 1);
  assert.equal(Resources.fromMesos(offers[0]!.resources).scalar("cpus"), 1);
  // The unacknowledged update is sent again on re-subscription.
  assert.ok(
    outbox.some((o) =>
      o.to === "framework" && o.event.type === "UPDATE" && o.event.update.status.uuid === "u1"
    ),
  );
});

Deno.test("Master never offers the same resources to two frameworks at once", () => {
  const h = harness();
  const a = h.subscribe([], 0, "fs1");
  const b = h.subscribe([], 0, "fs2");
  h.addAgent("cpus:4;mem:4096", "as1", "h1");
  h.addAgent("cpus:4;mem:4096", "as2", "h2");
  h.allocate();
  const all = [...h.offers(a), ...h.offers(b)];
  assert.equal(all.length, 2);
  assert.notEqual(all[0]!.agent_id.value, all[1]!.agent_id.value);
  assert.equal(h.offers(a).length, 1, "DRF gives each framework one agent");
});

Deno.test("Master.drainAgent() stops offers, kills tasks within the grace cap, then reports DRAINED", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  h.master.drainAgent(agent, { maxGracePeriodNs: 2e9 });
  h.flush();
  const killEvent = h.toAgent(agent).find((e) => e.type === "KILL");
  assert.equal(
    killEvent?.type === "KILL" && killEvent.kill.kill_policy?.grace_period?.nanoseconds,
    2e9,
  );
  assert.equal(h.master.ctx.agents.get(agent)?.drain?.state, "DRAINING");
  update(h, agent, fw, "t1", "TASK_KILLED", "u2");
  assert.equal(lastUpdate(h.toFramework(fw))?.reason, "REASON_AGENT_DRAINING");
  assert.equal(h.master.ctx.agents.get(agent)?.drain?.state, "DRAINED");
  const before = h.offers(fw).length;
  h.clock.advance(10_000);
  h.master.agentCall({ type: "HEARTBEAT", agent_id: { value: agent } });
  h.master.tick({ batch: true });
  h.flush();
  assert.equal(h.offers(fw).length, before, "a drained agent is offered to nobody");
  h.master.reactivateAgent(agent);
  h.allocate();
  assert.equal(h.offers(fw).length, before + 1, "reactivated, it is offered again");
});

Deno.test("Master holds a KILL of a routed task for the drain time, then sends it", () => {
  const h = harness({ drainMs: 1_000 });
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [
    task("web", agent, "cpus:1;mem:128;ports:[31000-31000]"),
  ]);
  update(h, agent, fw, "web", "TASK_RUNNING", "u1");
  h.master.schedulerCall({
    type: "KILL",
    framework_id: { value: fw },
    kill: { task_id: { value: "web" } },
  }, "fs1");
  h.flush();
  assert.ok(h.master.ctx.getTask(fw, "web")?.drainingKill, "the task drains first");
  assert.ok(!h.toAgent(agent).some((e) => e.type === "KILL"), "no kill yet");
  h.clock.advance(500);
  h.master.tick({ batch: false });
  h.flush();
  assert.ok(!h.toAgent(agent).some((e) => e.type === "KILL"), "still draining");
  h.clock.advance(600);
  h.master.agentCall({ type: "HEARTBEAT", agent_id: { value: agent } });
  h.master.tick({ batch: false });
  h.flush();
  assert.equal(h.toAgent(agent).filter((e) => e.type === "KILL").length, 1);
  assert.equal(h.master.ctx.getTask(fw, "web")?.drainingKill?.sent, true, "still drained");
});

Deno.test("Master answers a KILL of an unknown task with TASK_UNKNOWN to partition-aware frameworks, TASK_LOST to others", () => {
  const h = harness();
  const aware = h.subscribe(["PARTITION_AWARE"], 0, "fs1");
  const plain = h.subscribe([], 0, "fs2");
  for (const fw of [aware, plain]) {
    h.master.schedulerCall({
      type: "KILL",
      framework_id: { value: fw },
      kill: { task_id: { value: "ghost" }, agent_id: { value: "a-9" } },
    }, fw === aware ? "fs1" : "fs2");
  }
  const { changes } = h.flush();
  assert.equal(changes.length, 0, "nothing is recorded for a task nobody knows");
  const answer = lastUpdate(h.toFramework(aware));
  assert.equal(answer?.state, "TASK_UNKNOWN");
  assert.equal(answer?.reason, "REASON_TASK_UNKNOWN");
  assert.equal(answer?.task_id.value, "ghost");
  assert.equal(lastUpdate(h.toFramework(plain))?.state, "TASK_LOST");
});

Deno.test("Master reports tasks an agent re-registers without as TASK_DROPPED/TASK_GONE to partition-aware frameworks, TASK_LOST to others", () => {
  const h = harness();
  const aware = h.subscribe(["PARTITION_AWARE"], 0, "fs1");
  const plain = h.subscribe([], 0, "fs2");
  h.addAgent("cpus:4;mem:4096", "as1", "h1");
  h.addAgent("cpus:4;mem:4096", "as2", "h2");
  h.allocate();
  // DRF gives each framework one agent; each launches a task it hears is running and one it
  // hears nothing of (still staging).
  const agentOf = new Map<string, string>();
  for (const [fw, prefix, stream] of [[aware, "a", "fs1"], [plain, "p", "fs2"]] as const) {
    const offer = h.offers(fw)[0]!;
    agentOf.set(fw, offer.agent_id.value);
    h.master.schedulerCall({
      type: "ACCEPT",
      framework_id: { value: fw },
      accept: {
        offer_ids: [offer.id],
        operations: [{
          type: "LAUNCH",
          launch: {
            task_infos: [
              task(`${prefix}-staged`, offer.agent_id.value),
              task(`${prefix}-running`, offer.agent_id.value),
            ],
          },
        }],
      },
    }, stream);
    update(h, offer.agent_id.value, fw, `${prefix}-running`, "TASK_RUNNING", `u-${prefix}`);
  }
  // Both agents come back (restarted) having lost every task.
  for (const [n, agent] of [...agentOf.values()].entries()) {
    h.master.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          id: { value: agent },
          hostname: `h${n + 1}`,
          port: 5051,
          resources: Resources.parse("cpus:4;mem:4096").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    }, `as-again-${n}`);
  }
  h.flush();
  const statusOf = (fw: string, id: string) =>
    h.toFramework(fw).flatMap((e) =>
      e.type === "UPDATE" && e.update.status.task_id.value === id ? [e.update.status] : []
    ).at(-1);
  assert.equal(statusOf(aware, "a-staged")?.state, "TASK_DROPPED");
  assert.equal(statusOf(aware, "a-staged")?.reason, "REASON_AGENT_REREGISTERED");
  assert.equal(statusOf(aware, "a-running")?.state, "TASK_GONE");
  assert.equal(statusOf(plain, "p-staged")?.state, "TASK_LOST");
  assert.equal(statusOf(plain, "p-running")?.state, "TASK_LOST");
  assert.equal(h.master.ctx.tasks.size, 0, "all four are forgotten");
});

Deno.test("Master SHUTDOWN of a task group's executor kills every task of the group", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  h.allocate();
  h.master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: fw },
    accept: {
      offer_ids: [h.offers(fw)[0]!.id],
      operations: [{
        type: "LAUNCH_GROUP",
        launch_group: {
          executor: {
            type: "DEFAULT",
            executor_id: { value: "pod-1" },
            resources: Resources.parse("cpus:0.1;mem:32").toMesos(),
          },
          task_group: { tasks: [task("web", agent), task("sidecar", agent)] },
        },
      }, {
        type: "LAUNCH",
        launch: { task_infos: [task("alone", agent)] },
      }],
    },
  }, "fs1");
  h.flush();
  const shutdown = (executorId: string) =>
    h.master.schedulerCall({
      type: "SHUTDOWN",
      framework_id: { value: fw },
      shutdown: { executor_id: { value: executorId }, agent_id: { value: agent } },
    }, "fs1");
  shutdown("pod-1");
  h.flush();
  const killed = h.toAgent(agent).flatMap((e) => e.type === "KILL" ? [e.kill.task_id.value] : []);
  assert.deepEqual(killed.sort(), ["sidecar", "web"], "the group, not the task beside it");
  assert.throws(
    () => shutdown("pod-2"),
    (e: unknown) =>
      e instanceof TenderError && e.status === 400 && /Executor "pod-2" is unknown/.test(e.message),
  );
});

Deno.test("Master re-learns a group task from its agent's report with its executor, so SHUTDOWN finds it", () => {
  const h = harness();
  const fw = h.subscribe();
  const agent = h.addAgent();
  // The master lost the task (its record is gone); the agent still runs it and says so.
  h.master.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        id: { value: agent },
        hostname: "h1",
        port: 5051,
        resources: Resources.parse("cpus:4;mem:4096").toMesos(),
        attributes: [],
      },
      tasks: [{
        framework_id: { value: fw },
        task: task("member", agent),
        executor_id: { value: "pod-7" },
        status: { task_id: { value: "member" }, state: "TASK_RUNNING" },
      }],
    },
  }, "as2");
  h.flush();
  assert.equal(h.master.ctx.getTask(fw, "member")?.executorId, "pod-7");
  h.master.schedulerCall({
    type: "SHUTDOWN",
    framework_id: { value: fw },
    shutdown: { executor_id: { value: "pod-7" }, agent_id: { value: agent } },
  }, "fs1");
  h.flush();
  assert.ok(h.toAgent(agent).some((e) => e.type === "KILL" && e.kill.task_id.value === "member"));
});

Deno.test("Master.markAgentGone() ends its tasks TASK_LOST for a framework that is not partition-aware, frees them, and refuses the id for good", () => {
  const h = harness();
  const fw = h.subscribe([], 3600);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  h.master.markAgentGone(agent);
  h.flush();
  const lost = lastUpdate(h.toFramework(fw));
  assert.equal(lost?.state, "TASK_LOST");
  assert.equal(lost?.reason, "REASON_AGENT_REMOVED_BY_OPERATOR");
  assert.equal(h.master.ctx.getTask(fw, "t1"), undefined);
  assert.equal(h.master.ctx.agents.has(agent), false);
  assert.ok(h.sent.some((o) => o.to === "close_agent" && o.agentId === agent));
  const resubscribe = (m: Master) =>
    m.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          id: { value: agent },
          hostname: "h1",
          port: 5051,
          resources: Resources.parse("cpus:4;mem:4096").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    }, "as2");
  assert.throws(() => resubscribe(h.master), (e) => e instanceof TenderError && e.status === 403);
  // Durable: a master recovered from what was persisted refuses it too.
  const again = new Master({ clock: h.clock, ids: new SequentialIds() }, DEFAULT_MASTER_OPTIONS);
  again.recover(snapshotOf(h.store));
  assert.equal(again.ctx.agents.has(agent), false);
  assert.throws(() => resubscribe(again), /marked gone by the operator/);
});

Deno.test("Master.drainAgent() with markGone marks the agent gone once its last task ended", () => {
  const h = harness();
  const fw = h.subscribe(["PARTITION_AWARE"]);
  const agent = h.addAgent();
  h.allocate();
  launch(h, fw, h.offers(fw)[0]!.id.value, [task("t1", agent)]);
  update(h, agent, fw, "t1", "TASK_RUNNING", "u1");
  h.master.drainAgent(agent, { markGone: true });
  h.flush();
  assert.equal(h.master.ctx.agents.get(agent)?.drain?.state, "DRAINING");
  assert.equal(h.master.ctx.goneAgents.has(agent), false, "not before its tasks end");
  update(h, agent, fw, "t1", "TASK_KILLED", "u2");
  assert.equal(lastUpdate(h.toFramework(fw))?.state, "TASK_KILLED", "the kill is reported as is");
  assert.equal(h.master.ctx.agents.has(agent), false);
  assert.equal(h.master.ctx.goneAgents.has(agent), true);
  assert.equal(h.store.has(`gone_agent/${agent}`), true, "durably");
  assert.ok(h.sent.some((o) => o.to === "close_agent" && o.agentId === agent));
});
