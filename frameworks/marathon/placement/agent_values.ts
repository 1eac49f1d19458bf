/**
 * What a constraint field reads on an agent: its hostname, or one of its Mesos attributes
 * formatted as Marathon formats them (scalars `0.###` half-even, ranges `[b-e,…]`, sets `{a,b}`).
 */
import type { Attribute } from "../../../protocol/mod.ts";

/** The agent side of placement: where an offer or an instance lives. */
export interface AgentSite {
  hostname: string;
  attributes: readonly Attribute[];
}

/** The value of a constraint field on an agent; undefined when the agent lacks it. */
export function fieldValue(site: AgentSite, field: string): string | undefined {
  if (field === "hostname" || field === "@hostname") return site.hostname;
  const name = field.startsWith("@") ? field.slice(1) : field;
  const attr = site.attributes.find((a) => a.name === name);
  return attr ? formatAttribute(attr) : undefined;
}

/** The scalar value of a field, when it is a scalar attribute. */
export function scalarValue(site: AgentSite, field: string): number | undefined {
  const attr = site.attributes.find((a) => a.name === field);
  return attr?.type === "SCALAR" ? attr.scalar?.value : undefined;
}

/** An attribute as text, the way Marathon compares it. */
export function formatAttribute(attr: Attribute): string {
  switch (attr.type) {
    case "SCALAR":
      return formatScalar(attr.scalar?.value ?? 0);
    case "RANGES":
      return `[${(attr.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(",")}]`;
    case "SET":
      return `{${(attr.set?.item ?? []).join(",")}}`;
    case "TEXT":
      return attr.text?.value ?? "";
  }
}

/** `0.###` with half-even rounding: 1 → "1", 2.5 → "2.5", 0.0005 → "0". */
export function formatScalar(value: number): string {
  return String(roundHalfEven3(value));
}

/** Rounds to three decimals, ties to even (Java's `DecimalFormat` default). */
export function roundHalfEven3(value: number): number {
  const scaled = value * 1000;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const eps = 1e-9;
  let r: number;
  if (Math.abs(diff - 0.5) < eps) r = floor % 2 === 0 ? floor : floor + 1;
  else r = Math.round(scaled);
  return r / 1000;
}
