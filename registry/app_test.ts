import assert from "node:assert/strict";
import { parseByteRange } from "./app.ts";
import { actionOf, parseRoute } from "./route.ts";
import { RegistryError } from "./errors.ts";

Deno.test("parseRoute() splits names that contain slashes at the last endpoint segment", () => {
  const d = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(parseRoute("/v2/"), { kind: "base" });
  assert.deepEqual(parseRoute("/v2/_catalog"), { kind: "catalog" });
  assert.deepEqual(parseRoute("/v2/a/b/tags/list"), { kind: "tags", name: "a/b" });
  assert.deepEqual(parseRoute("/v2/a/blobs/blobs/" + d), {
    kind: "blob",
    name: "a/blobs",
    digest: d,
  });
  assert.deepEqual(parseRoute("/v2/a/blobs/uploads/"), { kind: "uploads", name: "a" });
  assert.deepEqual(parseRoute("/v2/a/blobs/uploads/u1"), { kind: "upload", name: "a", id: "u1" });
  assert.deepEqual(parseRoute("/v2/x/manifests/latest"), {
    kind: "manifest",
    name: "x",
    reference: "latest",
  });
  assert.deepEqual(parseRoute("/v2/x/referrers/" + d), { kind: "referrers", name: "x", digest: d });
  assert.equal(parseRoute("/v2/x"), undefined);
  assert.throws(
    () => parseRoute("/v2/X/tags/list"),
    (e) => e instanceof RegistryError && e.ociCode === "NAME_INVALID",
  );
});

Deno.test("actionOf() asks pull for reads, push for writes and upload status, delete for deletes", () => {
  assert.equal(actionOf({ kind: "blob", name: "a", digest: "d" }, "GET"), "pull");
  assert.equal(actionOf({ kind: "upload", name: "a", id: "u" }, "GET"), "push");
  assert.equal(actionOf({ kind: "upload", name: "a", id: "u" }, "DELETE"), "push");
  assert.equal(actionOf({ kind: "manifest", name: "a", reference: "t" }, "DELETE"), "delete");
  assert.equal(actionOf({ kind: "catalog" }, "GET"), "catalog");
});

Deno.test("parseByteRange() handles a-b, a-, -n, clamping and unsatisfiable ranges", () => {
  assert.deepEqual(parseByteRange("bytes=0-4", 10), { start: 0, end: 4 });
  assert.deepEqual(parseByteRange("bytes=3-", 10), { start: 3, end: 9 });
  assert.deepEqual(parseByteRange("bytes=-4", 10), { start: 6, end: 9 });
  assert.deepEqual(parseByteRange("bytes=-40", 10), { start: 0, end: 9 });
  assert.deepEqual(parseByteRange("bytes=5-500", 10), { start: 5, end: 9 });
  assert.equal(parseByteRange("bytes=10-", 10), "unsatisfiable");
  assert.equal(parseByteRange("bytes=5-2", 10), "unsatisfiable");
  assert.equal(parseByteRange("items=0-1", 10), undefined);
});
