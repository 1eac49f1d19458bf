import assert from "node:assert/strict";
import type { AgentEvent, Event } from "../protocol/mod.ts";
import { decodeRecords, Resources } from "../protocol/mod.ts";
import { FakeClock, SequentialIds } from "../base/mod.ts";
import { agentTimeoutMs, DEFAULT_MASTER_OPTIONS } from "./core/context.ts";
import { MasterRuntime } from "./runtime.ts";
import { MasterStore } from "./store/master_store.ts";
import { DenoKvStore } from "../store/mod.ts";

/** Events of one stream, as they arrive. */
function collect<E>(body: ReadableStream<Uint8Array>): { events: E[]; done: Promise<void> } {
  const events: E[] = [];
  const done = (async () => {
    for await (const record of decodeRecords(body)) events.push(JSON.parse(record));
  })().catch(() => {});
  return { events, done };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("MasterRuntime offers the rest of an offer while the ACCEPT's commit is in flight, and launches after it", async () => {
  const dir = await Deno.makeTempDir();
  const store = new MasterStore(await DenoKvStore.open(`${dir}/kv`));
  // Commits wait while `held` is set: the ACCEPT's commit stays in flight.
  let held: PromiseWithResolvers<void> | undefined;
  const commit = store.commit.bind(store);
  store.commit = async (changes) => {
    await held?.promise;
    return commit(changes);
  };
  const runtime = await MasterRuntime.start(
    { store, clock: new FakeClock(), ids: new SequentialIds() },
    DEFAULT_MASTER_OPTIONS,
  );
  try {
    const fw = await runtime.subscribeFramework({
      type: "SUBSCRIBE",
      subscribe: { framework_info: { user: "u", name: "fw" } },
    });
    const framework = collect<Event>(fw.body);
    const ag = await runtime.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname: "h1",
          port: 5051,
          resources: Resources.parse("cpus:4;mem:1024").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    });
    const agent = collect<AgentEvent>(ag.body);
    const offersOf = () => framework.events.filter((e) => e.type === "OFFERS");
    await until("the first offer", () => offersOf().length === 1);
    const subscribed = framework.events.find((e) => e.type === "SUBSCRIBED");
    const frameworkId = subscribed?.type === "SUBSCRIBED"
      ? subscribed.subscribed.framework_id
      : undefined;
    const first = offersOf()[0];
    assert.ok(frameworkId && first?.type === "OFFERS");
    const offer = first.offers.offers[0]!;

    held = Promise.withResolvers();
    const accepted = runtime.schedulerCall({
      type: "ACCEPT",
      framework_id: frameworkId,
      accept: {
        offer_ids: [offer.id],
        operations: [{
          type: "LAUNCH",
          launch: {
            task_infos: [{
              name: "t1",
              task_id: { value: "t1" },
              agent_id: offer.agent_id,
              resources: Resources.parse("cpus:1;mem:128").toMesos(),
              command: { value: "sleep 10" },
            }],
          },
        }],
        filters: { refuse_seconds: 0 },
      },
    }, fw.streamId);
    // The unused rest is offered again while the ACCEPT is not yet durable...
    await until("the rest offered again", () => offersOf().length === 2);
    const again = offersOf()[1];
    assert.ok(again?.type === "OFFERS");
    assert.equal(Resources.fromMesos(again.offers.offers[0]!.resources).scalar("cpus"), 3);
    // ...but the task is launched only once it is.
    assert.equal(agent.events.some((e) => e.type === "LAUNCH"), false);
    held.resolve();
    await accepted;
    await until("the launch", () => agent.events.some((e) => e.type === "LAUNCH"));
  } finally {
    held?.resolve();
    await runtime.stop();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MasterRuntime survives a failed commit of work no caller awaits (a disconnect, a tick)", async () => {
  const dir = await Deno.makeTempDir();
  const store = new MasterStore(await DenoKvStore.open(`${dir}/kv`));
  const commit = store.commit.bind(store);
  let failing = false;
  store.commit = (changes) =>
    failing ? Promise.reject(new Error("this process is no longer the leader")) : commit(changes);
  const clock = new FakeClock();
  const runtime = await MasterRuntime.start(
    { store, clock, ids: new SequentialIds() },
    DEFAULT_MASTER_OPTIONS,
  );
  try {
    const ag = await runtime.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname: "h1",
          port: 5051,
          resources: Resources.parse("cpus:1;mem:128").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    });
    failing = true;
    // The agent's stream closes and it stays away past the agent timeout: the runtime's own
    // tick marks it unreachable, a change no request awaits, and its commit fails.
    await ag.body.cancel();
    clock.advance(agentTimeoutMs(DEFAULT_MASTER_OPTIONS) + 1000);
    await new Promise((r) => setTimeout(r, 600));
    await runtime.read(() => undefined);
  } finally {
    await runtime.stop();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
