import assert from "node:assert/strict";
import { blockingDir, chownTree, lookupUser, parsePasswdLine } from "./user_account.ts";

Deno.test("parsePasswdLine() reads name, uid, gid and home; refuses malformed lines", () => {
  assert.deepEqual(parsePasswdLine("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"), {
    name: "nobody",
    uid: 65534,
    gid: 65534,
    home: "/nonexistent",
  });
  assert.equal(parsePasswdLine("nobody:x:abc:1::/:/bin/sh"), undefined);
  assert.equal(parsePasswdLine("short:x:1"), undefined);
});

Deno.test("lookupUser() finds root and nobody, not unknown or hostile names", async () => {
  assert.equal((await lookupUser("root"))?.uid, 0);
  assert.equal((await lookupUser("nobody"))?.uid, 65534);
  assert.equal(await lookupUser("no-such-user-7"), undefined);
  assert.equal(await lookupUser("--help"), undefined);
  assert.equal(await lookupUser("root\0"), undefined);
  assert.equal(await lookupUser("../root"), undefined);
});

Deno.test({
  name: "chownTree() gives a tree to a user and leaves what links point at alone (needs root)",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const outside = await Deno.makeTempFile();
    try {
      await Deno.mkdir(`${dir}/a/b`, { recursive: true });
      await Deno.writeTextFile(`${dir}/a/b/f`, "x");
      await Deno.symlink(outside, `${dir}/a/link`);
      await chownTree(dir, 65534, 65534);
      for (const p of [dir, `${dir}/a`, `${dir}/a/b`, `${dir}/a/b/f`]) {
        assert.equal(Deno.statSync(p).uid, 65534, p);
      }
      assert.equal(Deno.statSync(outside).uid, 0, "a link's target is not handed over");
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(outside);
    }
  },
});

Deno.test("blockingDir() names the first directory a user may not pass through", async () => {
  const dir = await Deno.makeTempDir();
  const nobody = { name: "nobody", uid: 65534, gid: 65534, home: "/" };
  try {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.chmod(dir, 0o711);
    await Deno.chmod(`${dir}/a`, 0o700);
    assert.deepEqual(await blockingDir(`${dir}/a/b`, nobody), { dir: `${dir}/a`, mode: 0o700 });
    await Deno.chmod(`${dir}/a`, 0o751);
    assert.equal(await blockingDir(`${dir}/a/b`, nobody), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
