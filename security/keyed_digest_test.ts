import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { KeyedDigest } from "./keyed_digest.ts";

Deno.test("KeyedDigest.of() is SHA-256 of the key and the UTF-8 text, at every block boundary", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const digest = new KeyedDigest(key);
  for (const n of [0, 1, 22, 23, 24, 31, 32, 55, 56, 64, 119, 120, 1000, 5000]) {
    for (const text of ["a".repeat(n), "é€😀x".repeat(n)]) {
      const want = createHash("sha256").update(key).update(text).digest("hex");
      assert.equal(digest.of(text), want, `length ${n}`);
    }
  }
  assert.notEqual(new KeyedDigest(new Uint8Array(32)).of("x"), digest.of("x"));
});
