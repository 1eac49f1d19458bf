import assert from "node:assert/strict";
import { EtcdCluster, hasEtcd } from "../tests/support/etcd_cluster.ts";
import { stateStoreConformance } from "./conformance.ts";
import { DenoKvStore } from "./deno_kv_store.ts";
import { EtcdConnection } from "./etcd/etcd_connection.ts";
import { JournaledStore } from "./journaled_store.ts";
import type { AtomicWrite, StateStore } from "./state_store.ts";

const ROOT = ["t", "_store"];

/** 2,000 records of ~1.5 KB (3 MB), each checked as new: far past one commit of either backend. */
function bigWrite(store: StateStore, tag: string): AtomicWrite {
  const op = store.atomic();
  for (let i = 0; i < 2_000; i++) {
    const key = ["rec", `r${String(i).padStart(5, "0")}`];
    op.set(key, { tag, body: "x".repeat(1_500) });
  }
  return op;
}

/** A value of ~200 KB: over Deno KV's 64 KiB per value. */
const huge = (tag: string) => ({
  tag,
  list: Array.from({ length: 20_000 }, (_, i) => `item-${i}`),
});

async function largeWriteSuite(t: Deno.TestContext, make: () => Promise<StateStore>) {
  const step = (name: string, fn: (store: StateStore) => Promise<void>) =>
    t.step(name, async () => {
      const store = await make();
      try {
        await fn(store);
      } finally {
        store.close();
      }
    });

  await step("a write of 3 MB, 2,000 records and 2,000 checks commits whole", async (store) => {
    const op = bigWrite(store, "v1");
    for (let i = 0; i < 2_000; i++) {
      op.check({ key: ["rec", `r${String(i).padStart(5, "0")}`], versionstamp: null });
    }
    op.set(["big"], huge("v1"));
    assert.ok((await op.commit()).ok);
    let n = 0;
    for await (const e of store.list<{ tag: string }>(["rec"])) {
      assert.equal(e.value.tag, "v1");
      n++;
    }
    assert.equal(n, 2_000);
    assert.deepEqual((await store.get(["big"])).value, huge("v1"));
    // Again with the same "must not exist" checks: refused, nothing of it written.
    const again = bigWrite(store, "v2");
    again.check({ key: ["rec", "r01999"], versionstamp: null }).set(["big"], huge("v2"));
    assert.equal((await again.commit()).ok, false);
    assert.equal((await store.get<{ tag: string }>(["rec", "r00000"])).value?.tag, "v1");
    assert.deepEqual((await store.get(["big"])).value, huge("v1"));
  });

  await step("a value over 64 KiB reads back whole, and its chunks go with it", async (store) => {
    await store.set(["doc", "a"], huge("one"));
    const first = await store.get(["doc", "a"]);
    assert.deepEqual(first.value, huge("one"));
    const checked = await store.atomic().check(first).set(["doc", "a"], huge("two")).commit();
    assert.ok(checked.ok);
    const stale = await store.atomic().check(first).set(["doc", "a"], huge("three")).commit();
    assert.equal(stale.ok, false, "a manifest's versionstamp is checked like any value's");
    const listed = [];
    for await (const e of store.list(["doc"])) listed.push(e.value);
    assert.deepEqual(listed, [huge("two")]);
    await store.set(["doc", "a"], { small: true });
    assert.deepEqual((await store.getMany([["doc", "a"]]))[0]?.value, { small: true });
    await store.delete(["doc", "a"]);
    assert.equal((await store.get(["doc", "a"])).value, null);
  });

  await step("readers never see half of a large write", async (store) => {
    await bigWrite(store, "old").commit();
    let done = false;
    const writing = bigWrite(store, "new").commit().finally(() => done = true);
    const seen = new Set<string>();
    while (!done) {
      const [first, last] = await store.getMany([["rec", "r00000"], ["rec", "r01999"]]);
      const tags = [first, last].map((e) => (e?.value as { tag: string }).tag);
      assert.equal(tags[0], tags[1], "the first and last record of one write agree");
      seen.add(tags[0]!);
    }
    assert.ok((await writing).ok);
    assert.equal((await store.get<{ tag: string }>(["rec", "r01000"])).value?.tag, "new");
  });
}

Deno.test("JournaledStore over Deno KV passes the StateStore conformance suite", async (t) => {
  await stateStoreConformance(
    t,
    async () => new JournaledStore(await DenoKvStore.open(":memory:"), { root: ROOT }),
  );
});

Deno.test("JournaledStore lifts Deno KV's limits on a write and a value", async (t) => {
  await largeWriteSuite(
    t,
    async () => new JournaledStore(await DenoKvStore.open(":memory:"), { root: ROOT }),
  );
});

Deno.test("Deno KV alone refuses what JournaledStore writes (the limits it lifts)", async () => {
  const kv = await DenoKvStore.open(":memory:");
  try {
    await assert.rejects(bigWrite(kv, "v1").commit(), /Too many mutations|too large/i);
    await assert.rejects(kv.set(["big"], huge("v1")), /too large/i);
  } finally {
    kv.close();
  }
});

/** A real KV whose commits fail from the `failAt`-th on: the process "dies" mid-write. */
class DyingStore implements StateStore {
  commits = 0;
  constructor(readonly inner: StateStore, readonly failAt: number) {}
  get describe() {
    return this.inner.describe;
  }
  get limits() {
    return this.inner.limits;
  }
  get: StateStore["get"] = (key) => this.inner.get(key);
  getMany: StateStore["getMany"] = (keys) => this.inner.getMany(keys);
  list: StateStore["list"] = (prefix) => this.inner.list(prefix);
  set = (key: readonly (string | number)[], value: unknown) =>
    this.atomic().set(key, value).commit().then(() => {});
  delete = (key: readonly (string | number)[]) => this.atomic().delete(key).commit().then(() => {});
  atomic(): AtomicWrite {
    const op = this.inner.atomic();
    const commit = op.commit.bind(op);
    op.commit = () => {
      if (++this.commits >= this.failAt) return Promise.reject(new Error("the process died"));
      return commit();
    };
    return op;
  }
  close() {}
}

Deno.test("JournaledStore: a write acknowledged before its process died is finished by the next", async () => {
  const dir = await Deno.makeTempDir({ prefix: "journaled-" });
  try {
    // Count the commits of one large write, then die at each point in turn.
    const probe = new DyingStore(await DenoKvStore.open(`${dir}/probe.sqlite3`), Infinity);
    const counted = new JournaledStore(probe, { root: ROOT });
    await counted.get(["warm"]);
    const before = probe.commits;
    await bigWrite(counted, "probe").commit();
    const total = probe.commits - before;
    probe.inner.close();
    for (const failAt of [2, Math.floor(total / 2), total - 1]) {
      const path = `${dir}/kv${failAt}.sqlite3`;
      const kv = await DenoKvStore.open(path);
      const dying = new DyingStore(kv, Infinity);
      const store = new JournaledStore(dying, { root: ROOT });
      await bigWrite(store, "old").commit();
      dying.commits = 0;
      (dying as { failAt: number }).failAt = failAt;
      const outcome = await bigWrite(store, "new").commit().then(() => "ok", () => "died");
      assert.equal(outcome, "died");
      kv.close();
      // The next process: the write is either wholly there (it was flipped) or not at all.
      const next = new JournaledStore(await DenoKvStore.open(path), { root: ROOT });
      try {
        const tags = new Set<string>();
        for await (const e of next.list<{ tag: string }>(["rec"])) tags.add(e.value.tag);
        assert.equal(tags.size, 1, `after dying at commit ${failAt} of ${total}: ${[...tags]}`);
        let left = 0;
        for await (const _ of next.list(ROOT)) left++;
        assert.equal(left, 0, "no journal is left behind");
      } finally {
        next.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "JournaledStore lifts etcd's limits (128 ops, 1.5 MiB per request) on a 3-member etcd",
  ignore: !hasEtcd(),
  async fn(t) {
    const cluster = await EtcdCluster.start();
    const opened: EtcdConnection[] = [];
    let n = 0;
    const make = async () => {
      const connection = await EtcdConnection.open({
        endpoints: cluster.endpoints,
        prefix: `journaled${n++}`,
      });
      opened.push(connection);
      return new JournaledStore(connection.store("marathon"), { root: ROOT });
    };
    try {
      await stateStoreConformance(t, make);
      await largeWriteSuite(t, make);
    } finally {
      for (const c of opened) c.close();
      await cluster.close();
    }
  },
});
