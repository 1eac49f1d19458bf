import assert from "node:assert/strict";
import { encodeRecord, FakeClock } from "../protocol/mod.ts";
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

Deno.test("MasterConnection heartbeats three times per interval, however slowly the master answers", async () => {
  const clock = new FakeClock();
  const beats: number[] = [];
  let events: ReadableStreamDefaultController<Uint8Array> | undefined;
  const event = (e: unknown) => events?.enqueue(encodeRecord(e));
  // A master whose answers to HEARTBEAT take 2 s (they wait behind its persistence), and
  // whose agent timeout is its 15 s heartbeat interval (the defaults).
  const fakeFetch = async (_url: string | URL | Request, init?: RequestInit) => {
    const call = JSON.parse(String(init?.body));
    if (call.type === "SUBSCRIBE") {
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (events = c) });
      event({
        type: "SUBSCRIBED",
        subscribed: { agent_id: { value: "a1" }, master_id: "m1", heartbeat_interval_seconds: 15 },
      });
      return new Response(body, { headers: { "Mesos-Stream-Id": "s1" } });
    }
    beats.push(clock.now());
    await clock.sleep(2_000);
    return new Response(null, { status: 202 });
  };
  const connection = new MasterConnection(
    { clock, fetch: fakeFetch, random: () => 0 },
    { master: "http://master.test" },
    {
      subscribeCall: () => ({
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: { hostname: "h1", port: 5051, resources: [], attributes: [] },
          tasks: [],
        },
      }),
      onEvent: () => {},
    },
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  connection.start();
  while (!connection.subscribed) await settle();
  const start = clock.now();
  for (let t = 100; t <= 60_000; t += 100) {
    clock.advance(100);
    if (t % 15_000 === 0) event({ type: "HEARTBEAT" });
    await settle();
  }
  const gaps = beats.map((at, i) => at - (beats[i - 1] ?? start));
  assert.ok(beats.length >= 11, `${beats.length} heartbeats in 60 s`);
  assert.ok(Math.max(...gaps) <= 5_000, `heartbeats ${gaps.join(", ")} ms apart`);
  const stopped = connection.stop();
  events?.close();
  for (let i = 0; i < 20; i++) {
    clock.advance(1_000);
    await settle();
  }
  await stopped;
});
