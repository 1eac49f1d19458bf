import assert from "node:assert/strict";
import type { AgentEvent } from "../protocol/mod.ts";
import { decodeRecords } from "../protocol/mod.ts";
import { FakeClock, SequentialIds, TenderError } from "../base/mod.ts";
import { DenoKvStore } from "../store/mod.ts";
import { agentTimeoutMs, DEFAULT_MASTER_OPTIONS, type MasterOptions } from "./core/context.ts";
import { MasterRuntime } from "./runtime.ts";
import { MasterStore } from "./store/master_store.ts";

async function withRuntime(
  kv: DenoKvStore,
  fn: (runtime: MasterRuntime, clock: FakeClock) => Promise<void>,
  options: Partial<MasterOptions> = {},
  skipIds = 0,
): Promise<void> {
  const clock = new FakeClock();
  const ids = new SequentialIds();
  for (let i = 0; i < skipIds; i++) ids.uuid(); // another master process, another master id
  const runtime = await MasterRuntime.start(
    { store: new MasterStore(kv), clock, ids },
    { ...DEFAULT_MASTER_OPTIONS, ...options },
  );
  try {
    await fn(runtime, clock);
  } finally {
    await runtime.stop();
  }
}

const subscribe = (clusterId?: string, id?: string) => ({
  type: "SUBSCRIBE" as const,
  subscribe: {
    agent_info: {
      ...(id ? { id: { value: id } } : {}),
      hostname: "h1",
      port: 5051,
      resources: [],
      attributes: [],
    },
    tasks: [],
    ...(clusterId ? { cluster_id: clusterId } : {}),
  },
});

async function firstEvent(body: ReadableStream<Uint8Array>): Promise<AgentEvent> {
  for await (const record of decodeRecords(body)) return JSON.parse(record);
  throw new Error("no event");
}

Deno.test("a master keeps its cluster id across restarts and tells agents in SUBSCRIBED", async () => {
  const kv = await DenoKvStore.open(":memory:");
  let cluster = "";
  await withRuntime(kv, async (runtime) => {
    cluster = runtime.core.ctx.clusterId ?? "";
    assert.notEqual(cluster, "");
    const { body } = await runtime.subscribeAgent(subscribe());
    const event = await firstEvent(body);
    assert.equal(event.type === "SUBSCRIBED" && event.subscribed.cluster_id, cluster);
  });
  await withRuntime(kv, (runtime) => {
    assert.equal(runtime.core.ctx.clusterId, cluster);
    return Promise.resolve();
  });
  kv.close();
});

Deno.test("a master whose store was lost refuses an agent of the old cluster, loudly, and stores nothing", async () => {
  const lost = await DenoKvStore.open(":memory:");
  let cluster = "";
  await withRuntime(lost, (runtime) => {
    cluster = runtime.core.ctx.clusterId!;
    return Promise.resolve();
  });
  lost.close();
  const fresh = await DenoKvStore.open(":memory:");
  await withRuntime(
    fresh,
    async (runtime) => {
      assert.notEqual(runtime.core.ctx.clusterId, cluster);
      await assert.rejects(
        () => runtime.subscribeAgent(subscribe(cluster, "agent-7")),
        (e: unknown) =>
          e instanceof TenderError && e.status === 409 &&
          e.message.includes(`registered with cluster "${cluster}"`) &&
          e.message.includes("--cluster-id"),
      );
      assert.equal(runtime.core.ctx.agents.size, 0);
      for await (const _ of fresh.list(["agents"])) assert.fail("an agent was stored");
    },
    {},
    5,
  );
  fresh.close();
  // The operator's way out after losing the store for good: take the old cluster's id.
  const adopted = await DenoKvStore.open(":memory:");
  await withRuntime(adopted, async (runtime) => {
    assert.equal(runtime.core.ctx.clusterId, cluster);
    const { body } = await runtime.subscribeAgent(subscribe(cluster, "agent-7"));
    assert.equal((await firstEvent(body)).type, "SUBSCRIBED");
  }, { clusterId: cluster });
  adopted.close();
});

Deno.test("a master forgets agents unreachable for agentMaxAgeMs, records and tasks", async () => {
  const kv = await DenoKvStore.open(":memory:");
  await withRuntime(kv, async (runtime, clock) => {
    const { body } = await runtime.subscribeAgent(subscribe());
    await firstEvent(body);
    const id = [...runtime.core.ctx.agents.keys()][0]!;
    await body.cancel();
    clock.advance(agentTimeoutMs(DEFAULT_MASTER_OPTIONS) + 5_000);
    await runtime.operator((m) => m.tick({ batch: false })); // marked unreachable
    assert.notEqual(runtime.core.ctx.agents.get(id)?.unreachableTime, undefined);
    clock.advance(60_000);
    await runtime.operator((m) => m.tick({ batch: false }));
    assert.equal(runtime.core.ctx.agents.has(id), false);
    assert.equal((await kv.get(["agents", id])).value, null);
  }, { agentMaxAgeMs: 60_000 });
  kv.close();
});
