import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { MasterRuntime } from "../runtime.ts";
import { type BadRecord, MasterStore } from "../store/master_store.ts";
import { masterApp } from "./app.ts";

const CONN = { remoteAddr: { hostname: "127.0.0.1", port: 40000, transport: "tcp" } };

async function withMaster(
  fn: (
    m: { app: ReturnType<typeof masterApp>; runtime: MasterRuntime; kv: DenoKvStore },
  ) => Promise<
    void
  >,
  kv?: DenoKvStore,
): Promise<void> {
  const store = kv ?? await DenoKvStore.open(":memory:");
  const runtime = await MasterRuntime.start(
    { store: new MasterStore(store), clock: new FakeClock(), ids: new SequentialIds() },
    DEFAULT_MASTER_OPTIONS,
  );
  try {
    await fn({ app: masterApp(runtime), runtime, kv: store });
  } finally {
    await runtime.stop();
    store.close();
  }
}

function post(
  app: ReturnType<typeof masterApp>,
  path: string,
  body: string,
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    }, CONN),
  );
}

const agentSubscribe = (resources: string) =>
  `{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"h","port":5051,"resources":${resources}}}}`;

async function keysIn(kv: DenoKvStore): Promise<string[]> {
  const out: string[] = [];
  for (const prefix of [["agents"], ["frameworks"], ["tasks"]]) {
    for await (const e of kv.list(prefix)) out.push(JSON.stringify(e.key));
  }
  return out;
}

Deno.test("agent SUBSCRIBE with a resource of 1e400 (Infinity) is refused with 400 before anything is stored", async () => {
  await withMaster(async ({ app, kv }) => {
    const res = await post(
      app,
      "/api/v1/agent",
      agentSubscribe(`[{"name":"cpus","type":"SCALAR","scalar":{"value":1e400}}]`),
    );
    assert.equal(res.status, 400);
    assert.match(await res.text(), /out of range/);
    assert.deepEqual(await keysIn(kv), []);
    assert.equal((await app.request("/master/state")).status, 200);
  });
});

Deno.test("agent SUBSCRIBE with negative or absurd resources is refused with 400", async () => {
  await withMaster(async ({ app, kv }) => {
    for (const value of ["-1", "1e300", "1e13"]) {
      const res = await post(
        app,
        "/api/v1/agent",
        agentSubscribe(`[{"name":"mem","type":"SCALAR","scalar":{"value":${value}}}]`),
      );
      assert.equal(res.status, 400, value);
      await res.body?.cancel();
    }
    assert.deepEqual(await keysIn(kv), []);
  });
});

Deno.test("a master whose store holds an Infinity resource starts, and moves the record aside loudly", async () => {
  const kv = await DenoKvStore.open(":memory:");
  await kv.set(["agents", "bad"], {
    id: "bad",
    info: {
      hostname: "h",
      port: 5051,
      resources: [{ name: "cpus", type: "SCALAR", scalar: { value: Infinity } }],
      attributes: [],
    },
    registeredTime: 0,
    deactivated: false,
  });
  const reported: BadRecord[] = [];
  const snapshot = await new MasterStore(kv).load((bad) => reported.push(bad));
  assert.equal(snapshot.agents.length, 0);
  assert.deepEqual(reported.map((r) => r.key), [["agents", "bad"]]);
  assert.match(reported[0]!.reason, /scalar/);
  assert.equal((await kv.get(["agents", "bad"])).value, null);
  assert.notEqual((await kv.get(["quarantine", "agents", "bad"])).value, null);
  // And a runtime over it serves its state.
  await withMaster(async ({ app }) => {
    assert.equal((await app.request("/master/state")).status, 200);
  }, kv);
});

Deno.test("a framework too large to store answers 413 and leaves no framework holding offers", async () => {
  await withMaster(async ({ app, runtime, kv }) => {
    await runtime.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname: "h",
          port: 5051,
          resources: Resources.parse("cpus:4;mem:1024").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    });
    const labels = Array.from(
      { length: 20 },
      (_, i) => ({ key: `k${i}`, value: "x".repeat(4000) }),
    );
    const res = await post(
      app,
      "/api/v1/scheduler",
      JSON.stringify({
        type: "SUBSCRIBE",
        subscribe: { framework_info: { user: "u", name: "big", labels: { labels } } },
      }),
    );
    assert.equal(res.status, 413);
    assert.match(await res.text(), /too large to store/);
    assert.equal(runtime.core.ctx.frameworks.size, 0);
    assert.equal(runtime.core.ctx.offers.forAgent("1").length ?? 0, 0);
    assert.equal((await keysIn(kv)).filter((k) => k.includes("frameworks")).length, 0);
    // A framework name over the label limit is a 400 naming the field.
    const name = await post(
      app,
      "/api/v1/scheduler",
      JSON.stringify({
        type: "SUBSCRIBE",
        subscribe: { framework_info: { user: "u", name: "n".repeat(70_000) } },
      }),
    );
    assert.equal(name.status, 400);
    assert.match(await name.text(), /framework_info\.name/);
  });
});

Deno.test("master answers 413 to a body over the limit, 400 to deep JSON, and stays up", async () => {
  await withMaster(async ({ app }) => {
    const big = await post(app, "/api/v1/scheduler", " ".repeat(5 * 1024 * 1024));
    assert.equal(big.status, 413);
    await big.body?.cancel();
    const deep = await post(app, "/api/v1/scheduler", "[".repeat(100_000) + "]".repeat(100_000));
    assert.equal(deep.status, 400);
    assert.match(await deep.text(), /nested/);
    assert.equal((await app.request("/health")).status, 200);
  });
});

Deno.test("a task or framework id that would escape a sandbox path is refused", async () => {
  await withMaster(async ({ app }) => {
    const res = await post(
      app,
      "/api/v1/scheduler",
      JSON.stringify({
        type: "SUBSCRIBE",
        framework_id: { value: "../../etc" },
        subscribe: { framework_info: { user: "u", name: "n", id: { value: "../../etc" } } },
      }),
    );
    assert.equal(res.status, 400);
    assert.match(await res.text(), /framework id/);
  });
});

Deno.test("an agent whose hostname is URL syntax is refused; the log proxy only reaches agents' own addresses", async () => {
  await withMaster(async ({ app, runtime }) => {
    const res = await post(
      app,
      "/api/v1/agent",
      `{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"169.254.169.254/latest/meta-data?x=","port":80,"resources":[]}}}`,
    );
    assert.equal(res.status, 400);
    assert.match(await res.text(), /not a host name or IP/);
    const { agentAddresses } = await import("../dashboard/logs_proxy.ts");
    const id = runtime.core.subscribeAgent(
      {
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: { hostname: "node-1", port: 5051, resources: [], attributes: [] },
          tasks: [],
        },
      },
      "s",
      "10.0.0.9",
    );
    assert.deepEqual(agentAddresses(runtime.core.ctx, id, "t").sort(), [
      "http://10.0.0.9:5051",
      "http://node-1:5051",
    ]);
  });
});
