/**
 * Exact resource arithmetic. Scalars are held as integer milli-units (Mesos keeps three
 * decimal digits), so 0.1 + 0.2 cpus is exactly 0.3; ranges as sorted, disjoint, inclusive
 * intervals; sets as sorted item lists. Values are immutable.
 */
import type { Range, Resource } from "./mesos.ts";

type Kind = "SCALAR" | "RANGES" | "SET";
type Entry =
  | { kind: "SCALAR"; milli: number }
  | { kind: "RANGES"; ranges: readonly Range[] }
  | { kind: "SET"; items: readonly string[] };

const MILLI = 1000;

/** Rounds a decimal to whole milli-units, as Mesos rounds scalars to three digits. */
export function toMilli(value: number): number {
  return Math.round(value * MILLI);
}

/** An immutable bag of named resources. */
export class Resources {
  readonly #entries: ReadonlyMap<string, Entry>;

  private constructor(entries: ReadonlyMap<string, Entry>) {
    this.#entries = entries;
  }

  /** No resources at all. */
  static empty(): Resources {
    return new Resources(new Map());
  }

  /** From Mesos `Resource` messages; entries of the same name are summed. Roles are ignored. */
  static fromMesos(list: readonly Resource[]): Resources {
    let out = Resources.empty();
    for (const r of list) {
      if (r.type === "SCALAR") out = out.add(Resources.scalars({ [r.name]: r.scalar?.value ?? 0 }));
      else if (r.type === "RANGES") out = out.add(Resources.ranges(r.name, r.ranges?.range ?? []));
      else out = out.add(Resources.#of(r.name, { kind: "SET", items: normSet(r.set?.item ?? []) }));
    }
    return out;
  }

  /** Scalars by name, in whole units (`{cpus: 0.5, mem: 128}`). */
  static scalars(values: Record<string, number>): Resources {
    const m = new Map<string, Entry>();
    for (const [name, v] of Object.entries(values)) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new Error(`resource "${name}" must be a finite non-negative number, got ${v}`);
      }
      const milli = toMilli(v);
      if (milli > 0) m.set(name, { kind: "SCALAR", milli });
    }
    return new Resources(m);
  }

  /** One ranges resource (`ports`, `[{begin: 31000, end: 32000}]`). */
  static ranges(name: string, ranges: readonly Range[]): Resources {
    const norm = normRanges(ranges);
    return norm.length === 0
      ? Resources.empty()
      : Resources.#of(name, { kind: "RANGES", ranges: norm });
  }

  /**
   * Parses the agent flag syntax: `cpus:2;mem:1024;ports:[31000-32000,33000-33100];disks:{a,b}`.
   * Throws an error naming the bad part.
   */
  static parse(text: string): Resources {
    let out = Resources.empty();
    for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
      const m = /^([A-Za-z_][\w.-]*)(?:\([^)]*\))?:(.+)$/.exec(part);
      if (!m) throw new Error(`invalid resource "${part}": expected name:value`);
      const name = m[1]!, value = m[2]!.trim();
      if (value.startsWith("[")) {
        if (!value.endsWith("]")) throw new Error(`invalid ranges for "${name}": ${value}`);
        const ranges = value.slice(1, -1).split(",").map((s) => s.trim()).filter(Boolean).map(
          (s) => {
            const r = /^(\d+)\s*-\s*(\d+)$/.exec(s);
            if (!r || Number(r[1]) > Number(r[2])) {
              throw new Error(`invalid range "${s}" for "${name}"`);
            }
            return { begin: Number(r[1]), end: Number(r[2]) };
          },
        );
        out = out.add(Resources.ranges(name, ranges));
      } else if (value.startsWith("{")) {
        if (!value.endsWith("}")) throw new Error(`invalid set for "${name}": ${value}`);
        const items = value.slice(1, -1).split(",").map((s) => s.trim()).filter(
          Boolean,
        );
        out = out.add(Resources.#of(name, { kind: "SET", items: normSet(items) }));
      } else {
        const v = Number(value);
        if (!Number.isFinite(v) || v < 0) {
          throw new Error(`invalid scalar for "${name}": "${value}"`);
        }
        out = out.add(Resources.scalars({ [name]: v }));
      }
    }
    return out;
  }

  static #of(name: string, entry: Entry): Resources {
    // An empty entry would make a bag that is not isEmpty() and breaks subtract().
    return isEmptyEntry(entry) ? Resources.empty() : new Resources(new Map([[name, entry]]));
  }

  /** Names present, sorted. */
  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** The kind of a named resource, if present. */
  kind(name: string): Kind | undefined {
    return this.#entries.get(name)?.kind;
  }

  isEmpty(): boolean {
    return this.#entries.size === 0;
  }

  /** A scalar in whole units (0 when absent). */
  scalar(name: string): number {
    return this.scalarMilli(name) / MILLI;
  }

  /** A scalar in milli-units (0 when absent). */
  scalarMilli(name: string): number {
    const e = this.#entries.get(name);
    return e?.kind === "SCALAR" ? e.milli : 0;
  }

  /** The ranges of a named resource (empty when absent). */
  ranges(name: string): readonly Range[] {
    const e = this.#entries.get(name);
    return e?.kind === "RANGES" ? e.ranges : [];
  }

  /** The items of a set resource (empty when absent). */
  set(name: string): readonly string[] {
    const e = this.#entries.get(name);
    return e?.kind === "SET" ? e.items : [];
  }

  /** The sum. */
  add(other: Resources): Resources {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    const m = new Map(this.#entries);
    for (const [name, b] of other.#entries) {
      const a = m.get(name);
      if (!a) m.set(name, b);
      else m.set(name, combine(name, a, b, +1));
    }
    return new Resources(m);
  }

  /** The difference. Throws when `other` is not contained in this. */
  subtract(other: Resources): Resources {
    if (other.isEmpty()) return this;
    if (!this.contains(other)) {
      throw new Error(`cannot subtract ${other} from ${this}: not contained`);
    }
    const m = new Map(this.#entries);
    for (const [name, b] of other.#entries) {
      const e = combine(name, m.get(name)!, b, -1);
      if (isEmptyEntry(e)) m.delete(name);
      else m.set(name, e);
    }
    return new Resources(m);
  }

  /** Whether every resource of `other` is present here in at least that amount. */
  contains(other: Resources): boolean {
    for (const [name, b] of other.#entries) {
      const a = this.#entries.get(name);
      if (!a) {
        if (isEmptyEntry(b)) continue;
        return false;
      }
      if (a.kind !== b.kind) return false;
      if (a.kind === "SCALAR" && b.kind === "SCALAR" && a.milli < b.milli) return false;
      if (a.kind === "RANGES" && b.kind === "RANGES" && !rangesContain(a.ranges, b.ranges)) {
        return false;
      }
      if (a.kind === "SET" && b.kind === "SET" && !b.items.every((i) => a.items.includes(i))) {
        return false;
      }
    }
    return true;
  }

  equals(other: Resources): boolean {
    return this.contains(other) && other.contains(this);
  }

  /** Only the named resources. */
  filter(predicate: (name: string) => boolean): Resources {
    return new Resources(new Map([...this.#entries].filter(([n]) => predicate(n))));
  }

  /** Mesos `Resource` messages, unreserved (`role: "*"`) unless given a role for allocation_info. */
  toMesos(allocationRole?: string): Resource[] {
    const out: Resource[] = [];
    for (const name of this.names()) {
      const e = this.#entries.get(name)!;
      const base = {
        name,
        role: "*",
        ...(allocationRole ? { allocation_info: { role: allocationRole } } : {}),
      };
      if (e.kind === "SCALAR") {
        out.push({ ...base, type: "SCALAR", scalar: { value: e.milli / MILLI } });
      } else if (e.kind === "RANGES") {
        out.push({ ...base, type: "RANGES", ranges: { range: e.ranges.map((r) => ({ ...r })) } });
      } else out.push({ ...base, type: "SET", set: { item: [...e.items] } });
    }
    return out;
  }

  /** The flat map `/master/state` uses: `{"cpus":1,"mem":128,"ports":"[31000-31000]"}`. */
  toFlat(): Record<string, number | string> {
    const out: Record<string, number | string> = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
    for (const name of this.names()) {
      const e = this.#entries.get(name)!;
      if (e.kind === "SCALAR") out[name] = e.milli / MILLI;
      else if (e.kind === "RANGES") out[name] = formatRanges(e.ranges);
      else out[name] = `{${e.items.join(",")}}`;
    }
    return out;
  }

  /** The flag syntax `Resources.parse` reads. */
  toString(): string {
    return this.names().map((name) => {
      const e = this.#entries.get(name)!;
      if (e.kind === "SCALAR") return `${name}:${e.milli / MILLI}`;
      if (e.kind === "RANGES") return `${name}:${formatRanges(e.ranges)}`;
      return `${name}:{${e.items.join(",")}}`;
    }).join(";");
  }
}

/** `[31000-31005,31010-31010]` */
export function formatRanges(ranges: readonly Range[]): string {
  return `[${ranges.map((r) => `${r.begin}-${r.end}`).join(",")}]`;
}

/** Sorts and merges overlapping or adjacent ranges. */
export function normRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter((r) => r.begin <= r.end).map((r) => ({ ...r })).sort((a, b) =>
    a.begin - b.begin
  );
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push(r);
  }
  return out;
}

function rangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  return inner.every((r) => outer.some((o) => o.begin <= r.begin && r.end <= o.end));
}

function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let out = a.map((r) => ({ ...r }));
  for (const cut of b) {
    const next: Range[] = [];
    for (const r of out) {
      if (cut.end < r.begin || cut.begin > r.end) next.push(r);
      else {
        if (r.begin < cut.begin) next.push({ begin: r.begin, end: cut.begin - 1 });
        if (cut.end < r.end) next.push({ begin: cut.end + 1, end: r.end });
      }
    }
    out = next;
  }
  return out;
}

function normSet(items: readonly string[]): string[] {
  return [...new Set(items)].sort();
}

function combine(name: string, a: Entry, b: Entry, sign: 1 | -1): Entry {
  if (a.kind === "SCALAR" && b.kind === "SCALAR") {
    return { kind: "SCALAR", milli: a.milli + sign * b.milli };
  }
  if (a.kind === "RANGES" && b.kind === "RANGES") {
    return {
      kind: "RANGES",
      ranges: sign > 0
        ? normRanges([...a.ranges, ...b.ranges])
        : subtractRanges(a.ranges, b.ranges),
    };
  }
  if (a.kind === "SET" && b.kind === "SET") {
    return {
      kind: "SET",
      items: sign > 0
        ? normSet([...a.items, ...b.items])
        : a.items.filter((i) => !b.items.includes(i)),
    };
  }
  throw new Error(`resource "${name}" is ${a.kind} on one side and ${b.kind} on the other`);
}

function isEmptyEntry(e: Entry): boolean {
  if (e.kind === "SCALAR") return e.milli === 0;
  if (e.kind === "RANGES") return e.ranges.length === 0;
  return e.items.length === 0;
}
