import assert from "node:assert/strict";
import { type AgentCall, type AgentEvent, encodeRecord } from "../protocol/mod.ts";
import { FakeClock, Masters, systemClock } from "../base/mod.ts";
import { FakeMaster, waitFor } from "../tests/support/fake_master.ts";
import { FakeHaMaster, proxyTo } from "../tests/support/ha_master.ts";
import { MasterConnection, reconnectDelay } from "./master_connection.ts";

Deno.test("reconnectDelay() doubles from the minimum up to the cap, jittered to 50-100%", () => {
  const full = (n: number) => reconnectDelay(n, { minMs: 250, maxMs: 5000, random: 1 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10, 100].map(full), [
    250,
    500,
    1000,
    2000,
    4000,
    5000,
    5000,
    5000,
  ]);
  assert.equal(reconnectDelay(3, { minMs: 250, maxMs: 5000, random: 0 }), 1000);
  assert.equal(reconnectDelay(3, { minMs: 250, maxMs: 5000, random: 0.5 }), 1500);
});

Deno.test("reconnectDelay() from Mesos' defaults: 1 s doubling to a minute, never all at once", () => {
  const delays = (random: number) =>
    [0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) =>
      reconnectDelay(n, { minMs: 1_000, maxMs: 60_000, random })
    );
  assert.deepEqual(delays(1), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  assert.deepEqual(delays(0), [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
});

Deno.test("MasterConnection backs off more and more while the master refuses it, from 1 s", async () => {
  const clock = new FakeClock();
  const attempts: number[] = [];
  const fakeFetch = (_url: string | URL | Request, init?: RequestInit) => {
    if (init?.method === "POST") attempts.push(clock.now());
    return Promise.resolve(new Response("overloaded", { status: 500 }));
  };
  const connection = new MasterConnection(
    { clock, masters: new Masters("http://master.test", { fetch: fakeFetch }), random: () => 1 },
    {},
    { subscribeCall: () => subscribeCall(), onEvent: () => {} },
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  connection.start();
  for (let t = 0; t < 300_000; t += 500) {
    await settle();
    clock.advance(500);
  }
  await settle();
  // FakeClock's sleep does not end on abort: each attempt also waits out its watchdog's tick
  // (a sixth of the 15 s allowed for SUBSCRIBED).
  const gaps = attempts.slice(1).map((at, i) => at - attempts[i]! - 2_500);
  assert.deepEqual(gaps.slice(0, 8), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  const stopped = connection.stop();
  clock.advance(60_000);
  await stopped;
});

Deno.test("MasterConnection heartbeats once per interval, however slowly the master answers, and not after another call", async () => {
  // A master whose answers take 2 s (they wait behind its persistence), pinging every 15 s.
  const clock = new FakeClock();
  const master = subscribedToSlowMaster(clock, 2_000);
  const { connection, beats, event, settle } = master;
  connection.start();
  while (!connection.subscribed) await settle();
  const start = clock.now();
  for (let t = 100; t <= 80_000; t += 100) {
    clock.advance(100);
    if (t % 15_000 === 0) event({ type: "HEARTBEAT" });
    // An update at 40 s stands for the heartbeat due at 52.5 s.
    if (t === 40_000) {
      connection.post({
        type: "UPDATE",
        agent_id: { value: "a1" },
        update: {
          framework_id: { value: "f1" },
          status: { task_id: { value: "t1" }, state: "TASK_RUNNING" },
        },
      });
    }
    await settle();
  }
  // The first after half an interval (jitter 0), then every 15 s; none at 52.5 s.
  assert.deepEqual(beats.map((at) => at - start), [7_500, 22_500, 37_500, 55_000, 70_000]);
  await master.stop(20);
});

Deno.test("MasterConnection keeps one heartbeat in flight: a master slower than the interval gets no pile-up", async () => {
  const clock = new FakeClock();
  // Answered after 25 s: past the interval, within three.
  const master = subscribedToSlowMaster(clock, 25_000);
  const { connection, beats, event, settle } = master;
  connection.start();
  while (!connection.subscribed) await settle();
  const start = clock.now();
  for (let t = 100; t <= 60_000; t += 100) {
    clock.advance(100);
    if (t % 15_000 === 0) event({ type: "HEARTBEAT" });
    await settle();
  }
  // 7.5 s; the one due at 22.5 s is skipped (the first is unanswered until 32.5 s); then the
  // answered one counts as heard at 7.5 s, so the next goes at 37.5 s.
  assert.deepEqual(beats.map((at) => at - start), [7_500, 37_500]);
  await master.stop(40);
});

/**
 * A connection (jitter 0) to a fake master that subscribes it (pinging every 15 s) and answers
 * every other call after `answerMs` on `clock`; `beats` holds when each HEARTBEAT was posted.
 */
function subscribedToSlowMaster(clock: FakeClock, answerMs: number) {
  const beats: number[] = [];
  let events: ReadableStreamDefaultController<Uint8Array> | undefined;
  const event = (e: unknown) => events?.enqueue(encodeRecord(e));
  const fakeFetch = async (_url: string | URL | Request, init?: RequestInit) => {
    if (init?.method !== "POST") return new Response("not found", { status: 404 }); // the probe
    const call = JSON.parse(String(init?.body));
    if (call.type === "SUBSCRIBE") {
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (events = c) });
      event({
        type: "SUBSCRIBED",
        subscribed: { agent_id: { value: "a1" }, master_id: "m1", heartbeat_interval_seconds: 15 },
      });
      return new Response(body, { headers: { "Mesos-Stream-Id": "s1" } });
    }
    if (call.type === "HEARTBEAT") beats.push(clock.now());
    await clock.sleep(answerMs);
    return new Response(null, { status: 202 });
  };
  const connection = new MasterConnection(
    { clock, masters: new Masters("http://master.test", { fetch: fakeFetch }), random: () => 0 },
    {},
    { subscribeCall: () => subscribeCall(), onEvent: () => {} },
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  /** Stops the connection, ending the stream and moving the clock a second at a time. */
  const stop = async (seconds: number) => {
    const stopped = connection.stop();
    events?.close();
    for (let i = 0; i < seconds; i++) {
      clock.advance(1_000);
      await settle();
    }
    await stopped;
  };
  return { connection, beats, event, settle, stop };
}

function subscribeCall(): AgentCall {
  return {
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: { hostname: "h1", port: 5051, resources: [], attributes: [] },
      tasks: [],
    },
  };
}

/** A connection over the real clock that subscribes with the agent id it was last given. */
function followingConnection(master: string, leaderCheckMs = 5_000): {
  connection: MasterConnection;
  events: AgentEvent[];
} {
  const events: AgentEvent[] = [];
  let agentId: string | undefined;
  const connection = new MasterConnection(
    { clock: systemClock, masters: new Masters(master) },
    { reconnectMinMs: 10, reconnectMaxMs: 50, leaderCheckMs },
    {
      subscribeCall: (): AgentCall => ({
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: {
            ...(agentId ? { id: { value: agentId } } : {}),
            hostname: "h1",
            port: 5051,
            resources: [],
            attributes: [],
          },
          tasks: [],
        },
      }),
      onEvent: (event) => {
        events.push(event);
        if (event.type === "SUBSCRIBED") agentId = event.subscribed.agent_id.value;
      },
    },
  );
  return { connection, events };
}

Deno.test("MasterConnection subscribes at the leader of a standby,leader list, and there again after a failover", async () => {
  const oldLeader = new FakeMaster({ agentId: "agent-7" });
  const newLeader = new FakeMaster({ agentId: "not-this-one" });
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  a.lead(proxyTo(oldLeader.url));
  b.standBy(a);
  const { connection, events } = followingConnection(`${b.url},${a.url}`);
  try {
    connection.start();
    await waitFor(() => connection.subscribed, { what: "the first subscription" });
    assert.equal(connection.master, a.url);
    assert.equal(oldLeader.subscriptions.length, 1);
    assert.equal(oldLeader.subscriptions[0]!.subscribe.agent_info.id, undefined);

    // The leader dies; the standby is elected and leads.
    await a.kill();
    b.lead(proxyTo(newLeader.url));
    await waitFor(() => newLeader.subscriptions.length === 1 && connection.subscribed, {
      what: "a subscription at the new leader",
    });
    assert.equal(connection.master, b.url);
    assert.deepEqual(newLeader.subscriptions[0]!.subscribe.agent_info.id, { value: "agent-7" });
    assert.deepEqual(
      events.filter((e) => e.type === "SUBSCRIBED").map((e) =>
        e.type === "SUBSCRIBED" && e.subscribed.agent_id.value
      ),
      ["agent-7", "agent-7"],
    );
    // Heartbeats (one interval is 1 s, so one every 333 ms) go to the new leader.
    await waitFor(() => newLeader.heartbeats > 0, { what: "a heartbeat at the new leader" });
  } finally {
    await connection.stop();
    await a.kill();
    await b.kill();
    await oldLeader.close();
    await newLeader.close();
  }
});

Deno.test("MasterConnection given only a standby subscribes at the leader it names", async () => {
  const master = new FakeMaster({ agentId: "agent-3" });
  const leader = FakeHaMaster.start(), standby = FakeHaMaster.start();
  leader.lead(proxyTo(master.url));
  standby.standBy(leader);
  const { connection } = followingConnection(standby.url); // the standby alone
  try {
    connection.start();
    await waitFor(() => connection.subscribed, { what: "a subscription at the leader" });
    assert.equal(connection.master, leader.url);
    assert.deepEqual(standby.redirected, ["/master/redirect"]);
    await connection.post({ type: "HEARTBEAT", agent_id: { value: "agent-3" } });
    assert.ok(master.heartbeats >= 1);
  } finally {
    await connection.stop();
    await leader.kill();
    await standby.kill();
    await master.close();
  }
});

Deno.test("MasterConnection ends its stream when a post is redirected away from its master", async () => {
  // Heartbeats 15 s apart: the silence watchdog (45 s) is not what ends the stream.
  const first = new FakeMaster({ agentId: "agent-5", heartbeatIntervalSeconds: 15 });
  const second = new FakeMaster();
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  // a leads, and its stream to the agent stays open when b takes over (a hung old leader):
  // only a post answered 307 tells the agent.
  const proxy = proxyTo(first.url);
  a.lead((request) => proxy(request, new AbortController().signal));
  b.standBy(a);
  const { connection } = followingConnection(`${a.url},${b.url}`, 60_000);
  try {
    connection.start();
    await waitFor(() => connection.subscribed, { what: "the first subscription" });
    assert.equal(connection.master, a.url);
    b.lead(proxyTo(second.url));
    first.muted = true; // the old leader's stream stays open, silent
    a.standBy(b);
    await connection.post({ type: "HEARTBEAT", agent_id: { value: "agent-5" } }).catch(() => {});
    await waitFor(() => second.subscriptions.length === 1 && connection.subscribed, {
      what: "a subscription at the new leader",
      timeoutMs: 5_000,
    });
    assert.equal(connection.master, b.url);
  } finally {
    await connection.stop();
    await a.kill();
    await b.kill();
    await first.close();
    await second.close();
  }
});

Deno.test("MasterConnection leaves a paused leader whose stream stays open once the others elected another", async () => {
  // Heartbeats 15 s apart: the silence watchdog (45 s) is not what ends the stream.
  const first = new FakeMaster({ agentId: "agent-4", heartbeatIntervalSeconds: 15 });
  const second = new FakeMaster({ heartbeatIntervalSeconds: 15 });
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  a.lead(proxyTo(first.url));
  b.standBy(a);
  const { connection } = followingConnection(`${a.url},${b.url}`, 50);
  try {
    connection.start();
    await waitFor(() => connection.subscribed, { what: "the first subscription" });
    first.muted = true;
    a.pause(); // SIGSTOP: the stream stays open, nothing answers
    b.lead(proxyTo(second.url)); // its lease expired: b is elected
    await waitFor(() => second.subscriptions.length === 1 && connection.subscribed, {
      what: "a subscription at the new leader",
      timeoutMs: 5_000,
    });
    assert.equal(connection.master, b.url);
    assert.deepEqual(second.subscriptions[0]!.subscribe.agent_info.id, { value: "agent-4" });
  } finally {
    await connection.stop();
    await a.kill();
    await b.kill();
    await first.close();
    await second.close();
  }
});
