import assert from "node:assert/strict";
import { FakeClock } from "../../../base/mod.ts";
import { EventBus } from "./event_bus.ts";

async function readFrames(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  n: number,
): Promise<string[]> {
  const decoder = new TextDecoder();
  let text = "";
  while (text.split("\n\n").length - 1 < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  return text.split("\n\n").filter(Boolean);
}

Deno.test("EventBus.subscribe() streams SSE frames, attached first, filtered by type", async () => {
  const bus = new EventBus(new FakeClock(0));
  const all = bus.subscribe({ remoteAddress: "1.2.3.4" }).getReader();
  const only = bus.subscribe({ eventTypes: ["deployment_success"] }).getReader();
  bus.publish("api_post_event", { uri: "/v2/apps" });
  bus.publish("deployment_success", { id: "d1" });
  const frames = await readFrames(all, 3);
  assert.equal(
    frames[0],
    'event: event_stream_attached\ndata: {"eventType":"event_stream_attached","timestamp":"1970-01-01T00:00:00.000Z","remoteAddress":"1.2.3.4"}',
  );
  assert.ok(frames[1]!.startsWith("event: api_post_event\ndata: "));
  assert.equal(JSON.parse(frames[2]!.split("data: ")[1]!).id, "d1");
  const filtered = await readFrames(only, 1);
  assert.equal(filtered.length, 1);
  assert.ok(filtered[0]!.startsWith("event: deployment_success"));
  await all.cancel();
  await only.cancel();
  assert.equal(bus.subscriberCount, 0);
});

Deno.test("EventBus drops a consumer that falls too far behind", async () => {
  const bus = new EventBus(new FakeClock(0), { maxQueued: 3 });
  const reader = bus.subscribe().getReader();
  for (let i = 0; i < 10; i++) bus.publish("status_update_event", { i });
  assert.equal(bus.subscriberCount, 0);
  await assert.rejects(async () => {
    while (!(await reader.read()).done) { /* drain */ }
  });
});

Deno.test("EventBus.listen() calls in-process listeners until unsubscribed", () => {
  const bus = new EventBus(new FakeClock(0));
  const seen: string[] = [];
  const stop = bus.listen((e) => seen.push(e.eventType));
  bus.publish("a");
  stop();
  bus.publish("b");
  assert.deepEqual(seen, ["a"]);
});
