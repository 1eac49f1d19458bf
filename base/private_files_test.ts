import assert from "node:assert/strict";
import { openPrivateKv, privateDir } from "./private_files.ts";

const modeOf = (path: string) => (Deno.statSync(path).mode ?? 0) & 0o777;

Deno.test("openPrivateKv() keeps the KV file and its -wal and -shm files 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kv = await openPrivateKv(`${dir}/a.kv`);
    await kv.set(["secret"], "hunter2");
    kv.close();
    // A file an older version left world-readable is narrowed when opened again.
    await Deno.chmod(`${dir}/a.kv`, 0o644);
    const again = await openPrivateKv(`${dir}/a.kv`);
    assert.equal((await again.get(["secret"])).value, "hunter2");
    for (const file of ["a.kv", "a.kv-wal", "a.kv-shm"]) {
      assert.equal(modeOf(`${dir}/${file}`), 0o600, file);
    }
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("privateDir() makes a dir its owner's alone, also one that exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await privateDir(`${dir}/w/x`);
    assert.equal(modeOf(`${dir}/w/x`), 0o700);
    await Deno.chmod(`${dir}/w/x`, 0o755);
    await privateDir(`${dir}/w/x`, 0o711);
    assert.equal(modeOf(`${dir}/w/x`), 0o711);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
