/**
 * Marathon's validation error envelope: `{"message":"Object is not valid","details":[{path,
 * errors}]}` with wix-accord paths (`/healthChecks(0)/portIndex`), and the Play-JSON flavour
 * `{"message":"Invalid JSON",...}` for wrong types, built from zod issues.
 */
import type { ZodIssue } from "zod";
import { TenderError } from "../../../base/mod.ts";

/** One path and its error messages, as in Marathon's `details`. */
export interface Violation {
  path: string;
  errors: string[];
}

/** Renders a key path the way Marathon does: fields as `/name`, indices as `(i)`. */
export function renderPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `(${p})` : `/${p}`;
  return out === "" ? "/" : out;
}

/** Collects messages per path, keeping first-seen order (one detail per distinct path). */
export class Violations {
  readonly #byPath = new Map<string, string[]>();

  /** Records `message` at `path` (a rendered path or key list). */
  add(path: string | readonly (string | number)[], message: string): void {
    const key = typeof path === "string" ? path : renderPath(path);
    const list = this.#byPath.get(key) ?? [];
    if (!list.includes(message)) list.push(message);
    this.#byPath.set(key, list);
  }

  /** Adds every violation of `other` with `prefix` put before its path. */
  addAll(other: readonly Violation[], prefix = ""): void {
    for (const v of other) {
      for (const e of v.errors) this.add(prefix + (v.path === "/" && prefix ? "" : v.path), e);
    }
  }

  get isEmpty(): boolean {
    return this.#byPath.size === 0;
  }

  list(): Violation[] {
    return [...this.#byPath].map(([path, errors]) => ({ path, errors }));
  }
}

/** The 422 Marathon answers for a rule violation. */
export function objectNotValid(violations: readonly Violation[]): TenderError {
  return new TenderError("unprocessable", "Object is not valid", violations);
}

/** The 422 Marathon answers when the JSON has the wrong types (Play's JsResultException). */
export function invalidJson(issues: readonly ZodIssue[]): TenderError {
  return new TenderError("unprocessable", "Invalid JSON", typeViolations(issues));
}

/** Zod issues as Play-JSON violations (`error.expected.jsstring`, `error.path.missing`, ...). */
export function typeViolations(issues: readonly ZodIssue[]): Violation[] {
  const v = new Violations();
  for (const issue of issues) v.add(issue.path, playCode(issue));
  return v.list();
}

/** The 400 Marathon answers for a body that is not JSON at all. */
export function malformedJson(detail: string): TenderError {
  return new TenderError("bad_request", "Invalid JSON", detail);
}

function playCode(issue: ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.received === "undefined") return "error.path.missing";
      if (issue.expected === "integer") return "error.expected.int";
      return `error.expected.js${jsKind(issue.expected)}`;
    case "invalid_enum_value":
      return "error.unknown.enum.literal";
    case "invalid_literal":
    case "invalid_union":
      return "error.invalid";
    default:
      return issue.message;
  }
}

function jsKind(expected: string): string {
  if (expected === "number" || expected === "float") return "number";
  if (expected === "boolean") return "boolean";
  if (expected === "array") return "array";
  if (expected === "string") return "string";
  return "object";
}
