import assert from "node:assert/strict";
import { checkDigest, isValidName, isValidTag, parseReference } from "./names.ts";

Deno.test("isValidName() follows the spec's repository grammar", () => {
  for (const ok of ["a", "library/busybox", "a.b_c__d---e/f0", "x/y/z"]) {
    assert.ok(isValidName(ok), ok);
  }
  for (const bad of ["", "A", "a/", "/a", "a//b", "a___b", "-a", "a.", "a/.b", "a".repeat(256)]) {
    assert.equal(isValidName(bad), false, bad);
  }
});

Deno.test("isValidTag() accepts up to 128 word characters, dots and dashes", () => {
  for (const ok of ["latest", "1.0", "_x", "A-b.c", "t".repeat(128)]) assert.ok(isValidTag(ok), ok);
  for (const bad of ["", ".x", "-x", "a/b", "t".repeat(129), "a:b"]) {
    assert.equal(isValidTag(bad), false, bad);
  }
});

Deno.test("checkDigest() tells sha256, other well-formed algorithms and garbage apart", () => {
  assert.equal(checkDigest(`sha256:${"a".repeat(64)}`), "sha256");
  assert.equal(checkDigest(`sha256:${"A".repeat(64)}`), "invalid");
  assert.equal(checkDigest("sha256:abc"), "invalid");
  assert.equal(checkDigest(`sha512:${"b".repeat(128)}`), "unsupported");
  assert.equal(checkDigest("md5+x:abc"), "unsupported");
  assert.equal(checkDigest("nocolon"), "invalid");
});

Deno.test("parseReference() reads digests and tags, and rejects neither", () => {
  assert.deepEqual(parseReference("v1"), { kind: "tag", tag: "v1" });
  const d = `sha256:${"c".repeat(64)}`;
  assert.deepEqual(parseReference(d), { kind: "digest", digest: d });
  assert.equal(parseReference("sha256:zz"), undefined);
  assert.equal(parseReference("-x"), undefined);
});
