import assert from "node:assert/strict";
import { KvBatcher } from "./kv_batcher.ts";

Deno.test("KvBatcher.write() makes every concurrent write durable, past one commit's limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-batcher-" });
  const kv = await Deno.openKv(`${dir}/kv`);
  try {
    const batcher = new KvBatcher(kv);
    let commits = 0;
    const atomic = kv.atomic.bind(kv);
    kv.atomic = () => (commits++, atomic());
    await Promise.all(
      Array.from({ length: 1200 }, (_, i) => batcher.write((op) => op.set(["k", i], i))),
    );
    const stored = await Array.fromAsync(kv.list<number>({ prefix: ["k"] }));
    assert.equal(stored.length, 1200);
    assert.ok(commits >= 3 && commits < 10, `1200 writes took ${commits} commits`);
    await batcher.write((op) => op.delete(["k", 0]));
    assert.equal((await kv.get(["k", 0])).value, null);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
