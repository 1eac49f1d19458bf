import assert from "node:assert/strict";
import { PrefixedKv } from "./prefixed_kv.ts";

Deno.test("PrefixedKv keeps each view's keys apart over one shared store", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const a = new PrefixedKv(kv, ["sim", "a"]), b = new PrefixedKv(kv, ["sim", "b"]);
    await a.set(["agent", "id"], "A");
    await b.set(["agent", "id"], "B");
    const op = a.atomic().set(["updates", "t", 1], 1).set(["updates", "t", 2], 2);
    assert.equal((await op.commit()).ok, true);
    assert.equal((await a.get(["agent", "id"])).value, "A");
    assert.deepEqual((await b.get(["agent", "id"])).key, ["agent", "id"]);
    assert.equal((await b.get(["agent", "id"])).value, "B");
    const listed = await Array.fromAsync(a.list({ prefix: ["updates"] }));
    assert.deepEqual(listed.map((e) => e.key), [["updates", "t", 1], ["updates", "t", 2]]);
    assert.deepEqual(await Array.fromAsync(b.list({ prefix: ["updates"] })), []);
    await a.atomic().delete(["updates", "t", 1]).commit();
    await a.delete(["agent", "id"]);
    assert.equal((await a.get(["agent", "id"])).value, null);
    const raw = await Array.fromAsync(kv.list({ prefix: ["sim"] }));
    assert.deepEqual(raw.map((e) => e.key), [["sim", "a", "updates", "t", 2], [
      "sim",
      "b",
      "agent",
      "id",
    ]]);
  } finally {
    kv.close();
  }
});
