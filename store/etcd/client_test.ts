import assert from "node:assert/strict";
import { EtcdCluster, hasEtcd } from "../../tests/support/etcd_cluster.ts";
import { EtcdClient, EtcdUnavailableError } from "./client.ts";
import {
  compareCreate,
  compareValue,
  compareVersion,
  opDelete,
  opPut,
  opRange,
  text,
  type WatchEvent,
} from "./wire.ts";

const ignore = !hasEtcd();

/** Runs `body` against a fresh 3-member cluster and a client of it; cleans up either way. */
async function withCluster(
  body: (cluster: EtcdCluster, client: EtcdClient) => Promise<void>,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const cluster = await EtcdCluster.start();
  let client: EtcdClient | undefined;
  try {
    client = await EtcdClient.connect(cluster.endpoints, options);
    await body(cluster, client);
  } finally {
    client?.close();
    await cluster.close();
  }
}

/** Resolves with how long `promise` took to settle, and whether it rejected with what. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error?: unknown }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

Deno.test({
  name: "EtcdClient.txn() applies the success branch only while its compares hold",
  ignore,
  fn: () =>
    withCluster(async (_, client) => {
      const created = await client.put("/t/a", "one");
      const [a] = (await client.range("/t/a")).kvs;
      assert.deepEqual(text(a!.value), "one");
      assert.deepEqual(a!.createRevision, created.revision);
      assert.deepEqual((await client.range("/t/none")).kvs, []);

      const won = await client.txn({
        compare: [compareVersion("/t/a", "EQUAL", 1), compareCreate("/t/b", "EQUAL", 0)],
        success: [opPut("/t/a", "two"), opPut("/t/b", "new"), opRange("/t/a")],
        failure: [opRange("/t/a")],
      });
      assert.ok(won.succeeded);
      assert.deepEqual(won.responses.map((r) => r.type), ["put", "put", "range"]);
      const read = won.responses[2];
      assert.deepEqual(read?.type === "range" && text(read.kvs[0]!.value), "two");

      const lost = await client.txn({
        compare: [compareValue("/t/a", "EQUAL", "one")],
        success: [opDelete("/t/", { rangeEnd: "/t0" })],
        failure: [opRange("/t/", { rangeEnd: "/t0", keysOnly: true })],
      });
      assert.ok(!lost.succeeded);
      assert.deepEqual(lost.revision, won.revision);
      const keys = lost.responses[0]?.type === "range" ? lost.responses[0].kvs : [];
      assert.deepEqual(keys.map((kv) => text(kv.key)), ["/t/a", "/t/b"]);
      assert.deepEqual((await client.deleteRange("/t/", { rangeEnd: "/t0" })).deleted, 2);
    }),
});

Deno.test({
  name: "EtcdClient.rangeAll() pages through more than a thousand keys at one revision",
  ignore,
  fn: () =>
    withCluster(async (_, client) => {
      const keys = Array.from({ length: 1200 }, (_, i) => `/big/${String(i).padStart(5, "0")}`);
      for (let i = 0; i < keys.length; i += 100) {
        await client.txn({
          compare: [],
          success: keys.slice(i, i + 100).map((k) => opPut(k, `v${k}`)),
        });
      }
      await client.put("/bigger", "outside the prefix");
      const { kvs, revision } = await client.rangeAll("/big/", { pageSize: 250 });
      assert.deepEqual(kvs.map((kv) => text(kv.key)), keys);
      assert.deepEqual(text(kvs[1199]!.value), `v${keys[1199]}`);

      await client.put("/big/zzz", "after");
      const before = await client.rangeAll("/big/", { pageSize: 500, revision, keysOnly: true });
      assert.deepEqual(before.kvs.length, 1200);
      assert.deepEqual(before.kvs[0]!.value.length, 0);
      assert.deepEqual((await client.rangeAll("/big/")).kvs.length, 1201);
    }),
});

Deno.test({
  name: "EtcdClient.watch() sees a put and a delete, and ends when its signal aborts",
  ignore,
  fn: () =>
    withCluster(async (_, client) => {
      const { revision } = await client.put("/w/before", "x");
      const stop = new AbortController();
      const deadline = setTimeout(() => stop.abort(), 5000); // events missing: end, then fail
      const seen: WatchEvent[] = [];
      const watching = (async () => {
        const stream = client.watch(
          "/w/",
          { rangeEnd: "/w0", startRevision: revision },
          stop.signal,
        );
        for await (const event of stream) {
          seen.push(event);
          if (seen.length === 3) stop.abort();
        }
      })();
      await client.put("/w/k", "v");
      await client.deleteRange("/w/k");
      await watching;
      clearTimeout(deadline);
      assert.deepEqual(seen.map((e) => [e.type, text(e.kv.key)]), [
        ["PUT", "/w/before"],
        ["PUT", "/w/k"],
        ["DELETE", "/w/k"],
      ]);
      assert.deepEqual(text(seen[1]!.kv.value), "v");
    }),
});

Deno.test({
  name: "EtcdClient.connect() to endpoints that refuse or hang throws EtcdUnavailableError in time",
  ignore,
  async fn() {
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // accepts, never answers
    const refused = `http://127.0.0.1:${freeLoopbackPort()}`;
    const hanging = `http://127.0.0.1:${silent.addr.port}`;
    try {
      const fast = await timed(EtcdClient.connect([refused], { timeoutMs: 3000 }));
      assert.ok(fast.error instanceof EtcdUnavailableError, String(fast.error));
      assert.ok(fast.ms < 1000, `gave up after ${fast.ms} ms`);
      assert.ok(fast.error.message.includes(`etcd at ${refused} could not be reached`));

      const slow = await timed(EtcdClient.connect([hanging, refused], { timeoutMs: 600 }));
      assert.ok(slow.error instanceof EtcdUnavailableError, String(slow.error));
      assert.ok(slow.ms < 900, `gave up after ${slow.ms} ms`);
      assert.ok(
        slow.error.message.startsWith(
          `etcd at ${hanging}, ${refused} did not answer within 600 ms (no quorum?)`,
        ),
        slow.error.message,
      );
    } finally {
      silent.close();
    }
  },
});

Deno.test({
  name: "EtcdClient fails over to another member when one is killed",
  ignore,
  fn: () =>
    withCluster(async (cluster, client) => {
      await client.put("/f/k", "v");
      await cluster.kill(0); // the first endpoint, the one the client used so far
      assert.deepEqual(text((await client.range("/f/k")).kvs[0]!.value), "v");
      await client.put("/f/k", "w");
      await cluster.restart(0);
      const used = cluster.endpoints.indexOf(client.preferredEndpoint);
      cluster.stop(used); // the endpoint that worked last hangs: it gets its share of the time
      const hung = await timed(client.range("/f/k", { timeoutMs: 3000 }));
      assert.deepEqual(hung.error, undefined);
      assert.ok(hung.ms >= 1000 && hung.ms < 2000, `answered after ${hung.ms} ms`);
      assert.notEqual(client.preferredEndpoint, cluster.endpoints[used]);
      assert.ok((await timed(client.put("/f/k", "x"))).ms < 1000);
      cluster.cont(used);
    }),
});

Deno.test({
  name: "EtcdClient requests fail within their deadline while quorum is lost, then work again",
  ignore,
  fn: () =>
    withCluster(async (cluster, client) => {
      await client.put("/q/k", "v");
      await cluster.kill(1);
      await cluster.kill(2);
      for (const request of [client.range("/q/k"), client.put("/q/k", "w")]) {
        const { ms, error } = await timed(request);
        assert.ok(error instanceof EtcdUnavailableError, String(error));
        assert.ok(ms < 1500, `gave up after ${ms} ms`);
        assert.ok(error.message.includes("did not answer within 1000 ms"), error.message);
        for (const endpoint of cluster.endpoints) assert.ok(error.message.includes(endpoint));
      }
      // The one member left still serves stale reads without a quorum.
      assert.deepEqual((await client.range("/q/k", { serializable: true })).kvs.length, 1);
      await cluster.restart(1);
      await client.put("/q/k", "back");
      assert.deepEqual(text((await client.range("/q/k")).kvs[0]!.value), "back");
    }, { timeoutMs: 1000 }),
});

function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
