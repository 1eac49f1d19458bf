/**
 * One suite every `StateStore` backend must pass (`stateStoreConformance(t, makeStore)`), as
 * the containerizers share theirs: the same records, the same atomicity.
 */
import assert from "node:assert/strict";
import type { StateStore } from "./state_store.ts";
import { commitInPieces } from "./state_store.ts";

/** Runs the suite as steps of `t` on fresh stores from `make`. */
export async function stateStoreConformance(
  t: Deno.TestContext,
  make: () => Promise<StateStore>,
): Promise<void> {
  const step = (name: string, fn: (store: StateStore) => Promise<void>) =>
    t.step(name, async () => {
      const store = await make();
      try {
        await fn(store);
      } finally {
        store.close();
      }
    });

  await step("get() reads back what set() wrote; delete() removes it", async (store) => {
    assert.deepEqual((await store.get(["a", "x"])).value, null);
    await store.set(["a", "x"], { n: 1, s: "é/%" });
    const read = await store.get<{ n: number }>(["a", "x"]);
    assert.deepEqual(read.value, { n: 1, s: "é/%" });
    assert.ok(read.versionstamp);
    await store.delete(["a", "x"]);
    assert.equal((await store.get(["a", "x"])).versionstamp, null);
  });

  await step(
    "list() yields a prefix's entries in key order, numbers numerically",
    async (store) => {
      await store.set(["apps", "/b"], 2);
      await store.set(["apps", "/a/x"], 1);
      await store.set(["apps_more", "/z"], 9);
      await store.set(["v", "r", 10], "ten");
      await store.set(["v", "r", 9], "nine");
      const apps = [];
      for await (const e of store.list(["apps"])) apps.push([e.key, e.value]);
      assert.deepEqual(apps, [[["apps", "/a/x"], 1], [["apps", "/b"], 2]]);
      const pieces = [];
      for await (const e of store.list<string>(["v", "r"])) pieces.push(e.value);
      assert.deepEqual(pieces, ["nine", "ten"]);
    },
  );

  await step("list() pages through more entries than one read returns", async (store) => {
    const entries = Array.from({ length: 1200 }, (_, i) => ({ key: ["many", i], value: i }));
    await commitInPieces(store, entries);
    let n = 0;
    for await (const e of store.list<number>(["many"])) assert.equal(e.value, n++);
    assert.equal(n, 1200);
  });

  await step("atomic() commits all or nothing, by its versionstamp checks", async (store) => {
    await store.set(["k", "1"], "one");
    const first = await store.get(["k", "1"]);
    const ok = await store.atomic().check(first).check({ key: ["k", "2"], versionstamp: null })
      .set(["k", "1"], "uno").set(["k", "2"], "dos").commit();
    assert.ok(ok.ok);
    // A stale versionstamp: nothing of the write happens.
    const stale = await store.atomic().check(first).set(["k", "1"], "eins").delete(["k", "2"])
      .commit();
    assert.equal(stale.ok, false);
    assert.equal((await store.get(["k", "1"])).value, "uno");
    assert.equal((await store.get(["k", "2"])).value, "dos");
    // "Must not exist" fails on an existing key.
    const exists = await store.atomic().check({ key: ["k", "2"], versionstamp: null })
      .set(["k", "3"], "tres").commit();
    assert.equal(exists.ok, false);
    assert.equal((await store.get(["k", "3"])).value, null);
  });

  await step("getMany() reads many keys, missing ones as null", async (store) => {
    await store.set(["m", "a"], 1);
    await store.set(["m", "c"], 3);
    const keys = [
      ["m", "a"],
      ["m", "b"],
      ["m", "c"],
      ...Array.from({ length: 30 }, (_, i) => ["m", `z${i}`]),
    ];
    const read = await store.getMany(keys);
    assert.deepEqual(read.slice(0, 3).map((e) => e.value), [1, null, 3]);
    assert.equal(read.length, keys.length);
  });

  await step("commitInPieces() writes a batch larger than one atomic write", async (store) => {
    const { maxMutations } = store.limits;
    const entries = Array.from({ length: maxMutations * 2 + 5 }, (_, i) => ({
      key: ["big", `k${String(i).padStart(5, "0")}`],
      value: "x".repeat(200),
    }));
    await commitInPieces(store, entries);
    let n = 0;
    for await (const _ of store.list(["big"])) n++;
    assert.equal(n, entries.length);
    await commitInPieces(store, entries.map((e) => ({ key: e.key, value: null })));
    for await (const _ of store.list(["big"])) assert.fail("every key was deleted");
  });
}
