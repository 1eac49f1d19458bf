/**
 * Marathon's label selector for `GET /v2/apps?label=`: comma-separated terms, all of which
 * must hold: `key` (exists), `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`.
 * A backslash escapes the next character.
 */

type Term =
  | { kind: "exists"; key: string }
  | { kind: "eq" | "ne"; key: string; value: string }
  | { kind: "in" | "notin"; key: string; values: string[] };

/** Parses a selector; throws an Error naming the bad term. */
export function parseLabelSelector(text: string): (labels: Record<string, string>) => boolean {
  const terms = splitUnescaped(text, ",").map((t) => parseTerm(t.trim()));
  return (labels) => terms.every((t) => holds(t, labels));
}

function parseTerm(term: string): Term {
  const set = /^(.+?)\s+(in|notin)\s+\((.*)\)$/.exec(term);
  if (set) {
    return {
      kind: set[2] === "in" ? "in" : "notin",
      key: unescape(set[1]!.trim()),
      values: splitUnescaped(set[3]!, ",").map((v) => unescape(v.trim())),
    };
  }
  const eq = splitUnescaped(term, "==");
  if (eq.length === 2) {
    return { kind: "eq", key: unescape(eq[0]!.trim()), value: unescape(eq[1]!.trim()) };
  }
  const ne = splitUnescaped(term, "!=");
  if (ne.length === 2) {
    return { kind: "ne", key: unescape(ne[0]!.trim()), value: unescape(ne[1]!.trim()) };
  }
  if (term === "" || /[=!()]/.test(term.replace(/\\./g, ""))) {
    throw new Error(`Invalid label selector term "${term}"`);
  }
  return { kind: "exists", key: unescape(term) };
}

function holds(t: Term, labels: Record<string, string>): boolean {
  const v = labels[t.key];
  switch (t.kind) {
    case "exists":
      return v !== undefined;
    case "eq":
      return v === t.value;
    case "ne":
      return v !== t.value;
    case "in":
      return v !== undefined && t.values.includes(v);
    case "notin":
      return v === undefined || !t.values.includes(v);
  }
}

function splitUnescaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\\" && i + 1 < text.length) {
      cur += ch + text[i + 1];
      i++;
      continue;
    }
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (depth === 0 && text.startsWith(sep, i)) {
      out.push(cur);
      cur = "";
      i += sep.length - 1;
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}
