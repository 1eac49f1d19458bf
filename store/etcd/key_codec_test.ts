import assert from "node:assert/strict";
import { decodeKey, encodeKey, prefixRange } from "./key_codec.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("encodeKey() and decodeKey() round-trip strings with separators and numbers", () => {
  for (const key of [["apps", "/web/a"], ["root_versions", "2026", 3], ["x", "#1", "100%"]]) {
    assert.deepEqual(decodeKey("t/", encodeKey("t/", key)), key);
  }
  assert.equal(text(encodeKey("t/", ["apps", "/g/web"])), "t/apps/%2Fg%2Fweb");
});

Deno.test("encodeKey() orders number parts numerically", () => {
  const a = text(encodeKey("t/", ["v", 9])), b = text(encodeKey("t/", ["v", 10]));
  assert.ok(a < b);
});

Deno.test("prefixRange() holds a prefix's keys and not its siblings'", () => {
  const { start, end } = prefixRange("t/", ["apps"]);
  const inside = text(encodeKey("t/", ["apps", "/web"]));
  assert.ok(text(start) <= inside && inside < text(end));
  const sibling = text(encodeKey("t/", ["apps_old", "/web"]));
  assert.ok(!(text(start) <= sibling && sibling < text(end)));
});
