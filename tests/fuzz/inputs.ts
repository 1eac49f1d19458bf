/**
 * Hostile inputs for the fuzz suite, as fast-check arbitraries: valid requests with one field
 * replaced by a wrongly typed, oversized, unicode-laden or path-shaped value; out-of-range
 * numbers written as raw JSON text (`1e400`); truncated JSON; deep nesting; random bytes.
 */
import fc from "fast-check";
import { LIMITS } from "../../base/mod.ts";

/** Who a request claims to be, for the targets served with security on. */
export type Identity = "anonymous" | "wrong secret" | "malformed" | "denied";

/** One HTTP request to send. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** Set by `withIdentity()`: the caller the request is from (its `Authorization` is set). */
  as?: Identity;
  /** The client address it comes from (the failure throttle counts per address). */
  from?: string;
}

/** Strings an attacker would try in an id, a name or a path segment. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "",
      ".",
      "..",
      "../../etc/passwd",
      "..%2F..%2Fetc",
      "%2e%2e",
      "a/b",
      "a\\b",
      "nul\u0000byte",
      "\u202e\u0301\ufeff",
      "🚀🚀🚀",
      "x".repeat(300),
      "y".repeat(70_000),
      "<script>",
      "$(reboot)",
      "__proto__",
      "constructor",
    ),
  },
);

/** Any JSON value, and some values of the wrong type for almost any field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      -1,
      0,
      -0,
      1.5,
      2 ** 53 + 2,
      1e308,
      -1e308,
      null,
      true,
      [],
      {},
      [[[[[]]]]],
    ),
  },
);

/** Numbers written as JSON text, some of which JSON.parse turns into Infinity. */
const RAW_NUMBERS = ["1e400", "-1e400", "1e308", "-1", "0.0001", "9007199254740993", "-0"];
const MARK = "\u0001NUM\u0001";

/** Every path to a leaf or container in a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

function setAt(value: unknown, path: (string | number)[], next: unknown): unknown {
  if (path.length === 0) return next;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) {
    const copy: unknown[] = [...value];
    copy[Number(head)] = setAt(copy[Number(head)], rest, next);
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  copy[head] = setAt(copy[head], rest, next);
  return copy;
}

/** JSON bodies derived from valid `templates`: mutated, with raw numbers, truncated, nested. */
export function jsonBodies(templates: readonly unknown[]): fc.Arbitrary<string> {
  const template = fc.constantFrom(...templates);
  const mutated = fc.tuple(template, fc.nat(), hostileValue).map(([t, n, v]) => {
    const all = paths(t);
    return JSON.stringify(setAt(t, all[n % all.length]!, v));
  });
  const rawNumber = fc.tuple(template, fc.nat(), fc.constantFrom(...RAW_NUMBERS)).map(
    ([t, n, raw]) => {
      const leaves = paths(t).filter((p) => p.length > 0);
      const at = leaves[n % leaves.length] ?? [];
      return JSON.stringify(setAt(t, at, MARK)).replace(JSON.stringify(MARK), raw);
    },
  );
  const truncated = fc.tuple(template, fc.nat()).map(([t, n]) => {
    const text = JSON.stringify(t);
    return text.slice(0, n % (text.length + 1));
  });
  const nested = fc.tuple(fc.integer({ min: 60, max: 20_000 }), fc.boolean()).map(([n, arr]) =>
    arr ? "[".repeat(n) + "]".repeat(n) : '{"a":'.repeat(n) + "1" + "}".repeat(n)
  );
  const longArray = fc.constant(`[${"0,".repeat(LIMITS.jsonArrayLength + 5)}0]`);
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 3, arbitrary: rawNumber },
    { weight: 2, arbitrary: template.map((t) => JSON.stringify(t)) },
    { weight: 2, arbitrary: truncated },
    { weight: 1, arbitrary: nested },
    { weight: 1, arbitrary: longArray },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }) },
  );
}

/** A path segment: hostile, percent-encoded or raw. */
export const pathSegment: fc.Arbitrary<string> = fc.oneof(
  hostileString.map((s) => encodeURIComponent(s.slice(0, 300))),
  fc.constantFrom("..", ".", "%2e%2e", "%E0%A4%A", "%00", "%2F", "a%2Fb", "x".repeat(300)),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
);

/** A body far over the request limit (sent rarely: it is large). */
export const oversizedBody = fc.constant(" ".repeat(LIMITS.bodyBytes + 1));
