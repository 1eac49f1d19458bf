import assert from "node:assert/strict";
import { DenoKvStore } from "./deno_kv_store.ts";

Deno.test("DenoKvStore.open() makes the KV file readable by its owner only (0600)", async () => {
  const dir = await Deno.makeTempDir();
  const store = await DenoKvStore.open(`${dir}/state.kv`);
  await store.set(["k"], "v");
  try {
    assert.equal((await Deno.stat(`${dir}/state.kv`)).mode! & 0o777, 0o600);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
