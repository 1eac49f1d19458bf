/**
 * Marathon placement constraints, `[field, OPERATOR]` or `[field, OPERATOR, value]`: parsing
 * and the per-operator value rules with Marathon's messages.
 */

import { MAX_SUBJECT, unsafeRegexReason } from "./safe_regex.ts";
export const OPERATORS = [
  "UNIQUE",
  "CLUSTER",
  "GROUP_BY",
  "LIKE",
  "UNLIKE",
  "MAX_PER",
  "IS",
] as const;
/** A constraint operator. */
export type Operator = (typeof OPERATORS)[number];

/** A parsed constraint. `field` is `hostname` (also `@hostname`) or an agent attribute name. */
export interface Constraint {
  field: string;
  operator: Operator;
  value?: string;
}

const IS_VALUE = /^[a-zA-Z0-9_/.-]*$/;

/** Parses one constraint; answers the parsed form or Marathon's error message. */
export function parseConstraint(
  raw: readonly string[],
): { ok: true; constraint: Constraint } | { ok: false; error: string } {
  if (raw.length < 2 || raw.length > 3) {
    return { ok: false, error: "Each constraint must have either 2 or 3 fields" };
  }
  const [field, rawOp, value] = raw as [string, string, string | undefined];
  if (field.trim() === "") return { ok: false, error: "missing field for constraint declaration" };
  const op = rawOp.toUpperCase();
  if (!isOperator(op)) {
    return {
      ok: false,
      error: "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, " +
        "UNLIKE or IS",
    };
  }
  const error = valueError(op, value);
  if (error) return { ok: false, error };
  return {
    ok: true,
    constraint: { field, operator: op, ...(value !== undefined ? { value } : {}) },
  };
}

function isOperator(op: string): op is Operator {
  return (OPERATORS as readonly string[]).includes(op);
}

function valueError(op: Operator, value: string | undefined): string | undefined {
  switch (op) {
    case "UNIQUE":
      return value !== undefined ? "UNIQUE does not accept a value" : undefined;
    case "CLUSTER":
      return undefined;
    case "GROUP_BY":
      return value === undefined || value === "" || /^\d+$/.test(value)
        ? undefined
        : "GROUP BY must define an integer value or else no value at all";
    case "LIKE":
    case "UNLIKE":
      if (value === undefined || value === "") {
        return "LIKE and UNLIKE require a non-empty, regular expression value";
      }
      try {
        new RegExp(value);
      } catch {
        return `'${value}' is not a valid regular expression`;
      }
      {
        const unsafe = unsafeRegexReason(value);
        return unsafe === undefined
          ? undefined
          : `'${value.slice(0, 80)}' ${unsafe}: it could take exponential time to match`;
      }
    case "MAX_PER":
      return value !== undefined && /^\d+$/.test(value)
        ? undefined
        : "MAX_PER requires an integer value";
    case "IS":
      return value !== undefined && IS_VALUE.test(value)
        ? undefined
        : "IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/" +
          "latest/attributes-resources/)";
  }
}

/** The constraints of an app that parse; invalid ones were rejected at submission. */
export function parseConstraints(raw: readonly (readonly string[])[]): Constraint[] {
  const out: Constraint[] = [];
  for (const r of raw) {
    const p = parseConstraint(r);
    if (p.ok) out.push(p.constraint);
  }
  return out;
}

/**
 * Whether a LIKE/UNLIKE regex fully matches (Java `String.matches` is anchored). Patterns were
 * checked by `unsafeRegexReason` at submission; values longer than `MAX_SUBJECT` never match.
 */
export function fullMatch(pattern: string, value: string): boolean {
  if (value.length > MAX_SUBJECT) return false;
  return new RegExp(`^(?:${pattern})$`).test(value);
}
