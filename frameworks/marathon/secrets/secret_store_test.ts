import assert from "node:assert/strict";
import { FakeClock } from "../../../base/mod.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { keys } from "../store/keys.ts";
import { importSecretsKey, SecretStore } from "./secret_store.ts";
import { secretPath } from "./secret_path.ts";

const HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const OTHER = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const VALUE = "correct horse battery staple";

async function withStore(fn: (kv: DenoKvStore, store: SecretStore) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "marathon-secrets-" });
  const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
  try {
    await fn(kv, new SecretStore(kv, await importSecretsKey(HEX), new FakeClock(0)));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SecretStore keeps a value encrypted: the stored record holds neither it nor its base64", async () => {
  await withStore(async (kv, store) => {
    assert.deepEqual(await store.put("/prod/db", VALUE), { created: true });
    const raw = JSON.stringify((await kv.get(keys.secret("/prod/db"))).value);
    assert.ok(!raw.includes(VALUE), raw);
    assert.ok(!raw.includes(btoa(VALUE)), raw);
    assert.deepEqual(await store.resolve(["/prod/db", "/missing"]), new Map([["/prod/db", VALUE]]));
    assert.deepEqual(await store.list(), [
      { path: "/prod/db", updatedAt: "1970-01-01T00:00:00.000Z" },
    ]);
    assert.deepEqual(await store.put("/prod/db", "new"), { created: false });
    assert.equal(await store.delete("/prod/db"), true);
    assert.equal(await store.delete("/prod/db"), false);
    assert.deepEqual(await store.list(), []);
  });
});

Deno.test("SecretStore: a record under another key or copied to another path does not decrypt", async () => {
  await withStore(async (kv, store) => {
    await store.put("/a", VALUE);
    const other = new SecretStore(kv, await importSecretsKey(OTHER), new FakeClock(0));
    await assert.rejects(() => other.resolve(["/a"]), (e: Error) => {
      assert.match(e.message, /Secret '\/a' cannot be decrypted/);
      assert.ok(!e.message.includes(VALUE));
      return true;
    });
    await kv.set(keys.secret("/b"), (await kv.get(keys.secret("/a"))).value);
    await assert.rejects(() => store.resolve(["/b"]), /Secret '\/b' cannot be decrypted/);
  });
});

Deno.test("importSecretsKey() takes 32 bytes as hex or base64 and refuses the rest without quoting it", async () => {
  await importSecretsKey(HEX);
  await importSecretsKey(OTHER);
  for (const bad of ["short", HEX.slice(2), "a-passphrase-that-is-not-a-key-at-all!!"]) {
    await assert.rejects(() => importSecretsKey(bad, "key.txt"), (e: Error) => {
      assert.match(e.message, /^key\.txt: a secrets key is 32 bytes/);
      assert.ok(!e.message.includes(bad));
      return true;
    });
  }
});

Deno.test("secretPath() makes paths canonical and refuses dot segments and odd characters", () => {
  assert.deepEqual(secretPath("prod/db"), { ok: true, path: "/prod/db" });
  assert.deepEqual(secretPath("/db"), { ok: true, path: "/db" });
  for (const bad of ["", "/", "/a/../b", "/a//b", "/a b", "/a/"]) {
    assert.ok(!secretPath(bad).ok, bad);
  }
});
