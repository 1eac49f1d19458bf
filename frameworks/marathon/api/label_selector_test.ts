import assert from "node:assert/strict";
import { parseLabelSelector } from "./label_selector.ts";

Deno.test("parseLabelSelector() supports exists, ==, !=, in, notin and escapes", () => {
  const labels = { env: "prod", tier: "web", "a,b": "x y" };
  const t = (s: string) => parseLabelSelector(s)(labels);
  assert.equal(t("env"), true);
  assert.equal(t("missing"), false);
  assert.equal(t("env==prod"), true);
  assert.equal(t("env==dev"), false);
  assert.equal(t("env!=dev"), true);
  assert.equal(t("tier in (web, api)"), true);
  assert.equal(t("tier notin (web)"), false);
  assert.equal(t("env==prod, tier==web"), true);
  assert.equal(t("env==prod,tier==api"), false);
  assert.equal(t("a\\,b==x y"), true);
  assert.throws(() => parseLabelSelector("a=b"));
});
