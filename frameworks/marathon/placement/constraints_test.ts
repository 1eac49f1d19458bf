import assert from "node:assert/strict";
import type { Attribute } from "../../../protocol/mod.ts";
import { type Constraint, parseConstraint } from "../app/constraint.ts";
import { type AgentSite, formatAttribute, formatScalar } from "./agent_values.ts";
import { constraintFits } from "./constraints.ts";

function c(...raw: string[]): Constraint {
  const p = parseConstraint(raw);
  if (!p.ok) throw new Error(p.error);
  return p.constraint;
}

function site(hostname: string, attrs: Record<string, string | number> = {}): AgentSite {
  const attributes: Attribute[] = Object.entries(attrs).map(([name, v]) =>
    typeof v === "number"
      ? { name, type: "SCALAR", scalar: { value: v } }
      : { name, type: "TEXT", text: { value: v } }
  );
  return { hostname, attributes };
}

const fits = (con: Constraint, s: AgentSite, placed: AgentSite[] = []) =>
  constraintFits(con, s, placed).ok;

Deno.test("constraintFits() UNIQUE rejects a value already used by an instance", () => {
  const con = c("hostname", "UNIQUE");
  assert.equal(fits(con, site("a"), []), true);
  assert.equal(fits(con, site("a"), [site("b")]), true);
  assert.equal(fits(con, site("a"), [site("b"), site("a")]), false);
  const rack = c("rack", "UNIQUE");
  assert.equal(fits(rack, site("x", { rack: "r1" }), [site("y", { rack: "r1" })]), false);
  assert.equal(fits(rack, site("x", { rack: "r2" }), [site("y", { rack: "r1" })]), true);
  assert.equal(fits(rack, site("x"), []), false, "an agent without the attribute is rejected");
});

Deno.test("constraintFits() CLUSTER pins to the value, or to the first placed instance's", () => {
  assert.equal(fits(c("rack", "CLUSTER", "r1"), site("a", { rack: "r1" })), true);
  assert.equal(fits(c("rack", "CLUSTER", "r1"), site("a", { rack: "r2" })), false);
  const free = c("rack", "CLUSTER");
  assert.equal(fits(free, site("a", { rack: "r2" }), []), true);
  assert.equal(fits(free, site("a", { rack: "r2" }), [site("b", { rack: "r1" })]), false);
  assert.equal(fits(free, site("a", { rack: "r1" }), [site("b", { rack: "r1" })]), true);
  assert.equal(fits(c("hostname", "CLUSTER", "a"), site("a")), true);
});

Deno.test("constraintFits() GROUP_BY spreads evenly across groups", () => {
  const con = c("rack", "GROUP_BY", "3");
  const r = (v: string) => site(`h-${v}`, { rack: v });
  assert.equal(fits(con, r("r1"), []), true);
  assert.equal(
    fits(con, r("r1"), [r("r1")]),
    false,
    "fewer than 3 groups in use: a new group first",
  );
  assert.equal(fits(con, r("r2"), [r("r1")]), true);
  assert.equal(fits(con, r("r1"), [r("r1"), r("r2"), r("r3")]), true, "all groups at 1: any");
  assert.equal(fits(con, r("r1"), [r("r1"), r("r1"), r("r2"), r("r3")]), false, "r1 is fuller");
  assert.equal(fits(con, r("r2"), [r("r1"), r("r1"), r("r2"), r("r3")]), true);
  const noCount = c("rack", "GROUP_BY");
  assert.equal(fits(noCount, r("r1"), [r("r1"), r("r2")]), true);
  assert.equal(fits(noCount, r("r1"), [r("r1"), r("r1"), r("r2")]), false);
});

Deno.test("constraintFits() LIKE and UNLIKE fully match a regex", () => {
  const like = c("rack", "LIKE", "rack-[1-3]");
  assert.equal(fits(like, site("a", { rack: "rack-2" })), true);
  assert.equal(fits(like, site("a", { rack: "rack-4" })), false);
  assert.equal(fits(like, site("a", { rack: "rack-22" })), false, "anchored at both ends");
  assert.equal(fits(like, site("a")), false);
  const unlike = c("rack", "UNLIKE", "rack-[1-3]");
  assert.equal(fits(unlike, site("a", { rack: "rack-2" })), false);
  assert.equal(fits(unlike, site("a", { rack: "rack-9" })), true);
  assert.equal(fits(unlike, site("a")), true, "UNLIKE accepts an agent without the attribute");
  assert.equal(fits(c("hostname", "LIKE", "node[0-9]+"), site("node12")), true);
});

Deno.test("constraintFits() MAX_PER caps instances per value", () => {
  const con = c("rack", "MAX_PER", "2");
  const r1 = site("a", { rack: "r1" });
  assert.equal(fits(con, r1, [r1]), true);
  assert.equal(fits(con, r1, [r1, r1]), false);
  assert.equal(fits(con, site("b", { rack: "r2" }), [r1, r1]), true);
});

Deno.test("constraintFits() IS compares text exactly and scalars to three decimals", () => {
  assert.equal(fits(c("zone", "IS", "eu-1"), site("a", { zone: "eu-1" })), true);
  assert.equal(fits(c("zone", "IS", "eu-1"), site("a", { zone: "eu-2" })), false);
  assert.equal(fits(c("level", "IS", "2.0"), site("a", { level: 2 })), true);
  assert.equal(fits(c("level", "IS", "2.0004"), site("a", { level: 2 })), true);
  assert.equal(fits(c("level", "IS", "2.01"), site("a", { level: 2 })), false);
});

Deno.test("formatAttribute() formats as Marathon does", () => {
  assert.equal(formatScalar(1), "1");
  assert.equal(formatScalar(2.5), "2.5");
  assert.equal(formatScalar(0.0025), "0.002");
  assert.equal(formatScalar(0.0035), "0.004");
  assert.equal(
    formatAttribute({ name: "r", type: "RANGES", ranges: { range: [{ begin: 1, end: 3 }] } }),
    "[1-3]",
  );
  assert.equal(formatAttribute({ name: "s", type: "SET", set: { item: ["a", "b"] } }), "{a,b}");
});
