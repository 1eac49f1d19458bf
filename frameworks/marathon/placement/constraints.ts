/**
 * The constraint matcher: whether an agent may take one more instance of an app, given where
 * the app's instances already are. One function per operator, as Marathon's `Constraints`.
 */
import { type Constraint, fullMatch } from "../app/constraint.ts";
import { type AgentSite, fieldValue, roundHalfEven3, scalarValue } from "./agent_values.ts";

/** A placement stage's answer: fits, or why not. */
export type Fit = { ok: true } | { ok: false; reason: string };

const FITS: Fit = { ok: true };

/** Whether `site` satisfies `constraint` given the sites of the app's placed instances. */
export function constraintFits(
  constraint: Constraint,
  site: AgentSite,
  placed: readonly AgentSite[],
): Fit {
  const value = fieldValue(site, constraint.field);
  const { field, operator } = constraint;
  const no = (why: string): Fit => ({
    ok: false,
    reason: `UnfulfilledConstraint: ${field}:${operator}${
      constraint.value !== undefined ? `:${constraint.value}` : ""
    } ${why}`,
  });
  if (value === undefined) return operator === "UNLIKE" ? FITS : no(`(agent has no "${field}")`);
  const others = placed.map((p) => fieldValue(p, field));
  switch (operator) {
    case "UNIQUE":
      return others.includes(value) ? no(`("${value}" already used)`) : FITS;
    case "CLUSTER": {
      const want = constraint.value || others.find((o) => o !== undefined);
      return want === undefined || want === value ? FITS : no(`("${value}" is not "${want}")`);
    }
    case "GROUP_BY":
      return groupByFits(value, others, Number(constraint.value || 0))
        ? FITS
        : no(`(group "${value}" is full)`);
    case "LIKE":
      return fullMatch(constraint.value ?? "", value) ? FITS : no(`("${value}" does not match)`);
    case "UNLIKE":
      return fullMatch(constraint.value ?? "", value) ? no(`("${value}" matches)`) : FITS;
    case "MAX_PER": {
      const count = others.filter((o) => o === value).length;
      return count < Number(constraint.value) ? FITS : no(`(${count} already on "${value}")`);
    }
    case "IS":
      return isFits(constraint.value ?? "", value, scalarValue(site, field))
        ? FITS
        : no(`("${value}")`);
    default:
      return no("(unknown operator)");
  }
}

/** Whether `site` satisfies every constraint; the first failing one is the reason. */
export function constraintsFit(
  constraints: readonly Constraint[],
  site: AgentSite,
  placed: readonly AgentSite[],
): Fit {
  for (const c of constraints) {
    const fit = constraintFits(c, site, placed);
    if (!fit.ok) return fit;
  }
  return FITS;
}

/**
 * Marathon's GROUP_BY: a value not yet used is always accepted; a used one only while at least
 * `minGroups` groups exist and it is (one of) the smallest.
 */
function groupByFits(
  value: string,
  others: readonly (string | undefined)[],
  minGroups: number,
): boolean {
  const counts = new Map<string, number>();
  for (const o of others) if (o !== undefined) counts.set(o, (counts.get(o) ?? 0) + 1);
  const mine = counts.get(value);
  if (mine === undefined) return true;
  const smallest = Math.min(...counts.values());
  return counts.size >= minGroups && mine === smallest;
}

function isFits(expected: string, value: string, scalar: number | undefined): boolean {
  if (scalar !== undefined) {
    const want = Number(expected);
    return Number.isFinite(want) && roundHalfEven3(want) === roundHalfEven3(scalar);
  }
  return expected === value;
}
