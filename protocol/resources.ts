/**
 * Exact resource arithmetic. Scalars are held as integer milli-units (Mesos keeps three
 * decimal digits), so 0.1 + 0.2 cpus is exactly 0.3; ranges as sorted, disjoint, inclusive
 * intervals; sets as sorted item lists. Values are immutable.
 *
 * Resources are keyed as Mesos keys them: by name, reservation stack and disk info, so reserved
 * and unreserved cpus never merge and a persistent volume stays whole. `scalar()`, `ranges()`,
 * `set()`, `names()` and `toFlat()` look through the keys (totals by name, as Mesos' `get`);
 * `add`, `subtract` and `contains` go key by key.
 */
import type { DiskInfo, Labels, Range, Resource } from "./mesos.ts";

type Kind = "SCALAR" | "RANGES" | "SET";
type Entry =
  | { kind: "SCALAR"; milli: number }
  | { kind: "RANGES"; ranges: readonly Range[] }
  | { kind: "SET"; items: readonly string[] };

/** One reservation of a stack (Mesos' refined `ReservationInfo`, type always set). */
export interface Reservation {
  type: "STATIC" | "DYNAMIC";
  role: string;
  principal?: string;
  labels?: Labels;
}

/** A persistent volume's disk info (Mesos' `DiskInfo` without `source`). */
export interface VolumeDisk {
  persistence: { id: string; principal?: string };
  volume?: { container_path: string; mode: "RW" | "RO" };
}

/** What sets a resource apart beside its name: its reservations and, for disk, its volume. */
export interface ResourceMeta {
  reservations: readonly Reservation[];
  disk?: VolumeDisk;
}

type Slot = { name: string; meta: ResourceMeta; entry: Entry };

const MILLI = 1000;
const UNRESERVED: ResourceMeta = { reservations: [] };

/** Rounds a decimal to whole milli-units, as Mesos rounds scalars to three digits. */
export function toMilli(value: number): number {
  return Math.round(value * MILLI);
}

/**
 * A wire resource's reservation stack and disk, read from either format: the refined
 * `reservations` or the pre-refinement `role` (+ `reservation` when dynamic). The schema has
 * already refused disagreeing formats.
 */
export function resourceMeta(r: Resource): ResourceMeta {
  if (
    (r.role === undefined || r.role === "*") && r.disk === undefined &&
    (r.reservations === undefined || r.reservations.length === 0)
  ) return UNRESERVED;
  let reservations: Reservation[] = [];
  if (r.reservations && r.reservations.length > 0) {
    reservations = r.reservations.map((x) =>
      reservationOf(x.type === "STATIC" ? "STATIC" : "DYNAMIC", x.role ?? "", x)
    );
  } else if (r.role !== undefined && r.role !== "*") {
    reservations = [
      reservationOf(r.reservation ? "DYNAMIC" : "STATIC", r.role, r.reservation ?? {}),
    ];
  }
  const disk = diskOf(r.disk);
  return disk ? { reservations, disk } : { reservations };
}

function reservationOf(
  type: Reservation["type"],
  role: string,
  x: { principal?: string; labels?: Labels },
): Reservation {
  const out: Reservation = { type, role };
  if (x.principal !== undefined) out.principal = x.principal;
  if (x.labels && x.labels.labels.length > 0) out.labels = x.labels;
  return out;
}

function diskOf(d: DiskInfo | undefined): VolumeDisk | undefined {
  if (!d?.persistence) return undefined;
  const out: VolumeDisk = { persistence: { id: d.persistence.id } };
  if (d.persistence.principal !== undefined) out.persistence.principal = d.persistence.principal;
  if (d.volume) {
    out.volume = { container_path: d.volume.container_path, mode: d.volume.mode ?? "RW" };
  }
  return out;
}

/** The role a resource is reserved for (the last of its stack), or undefined when unreserved. */
export function reservedRole(meta: ResourceMeta): string | undefined {
  return meta.reservations[meta.reservations.length - 1]?.role;
}

/**
 * Whether resources with `meta` may be allocated to `role`: unreserved ones to anyone, reserved
 * ones to their role and its sub-roles (`eng` to `eng/web`), as Mesos' hierarchical roles.
 */
export function isAllocatableTo(meta: ResourceMeta, role: string): boolean {
  const reserved = reservedRole(meta);
  return reserved === undefined || reserved === role || role.startsWith(`${reserved}/`);
}

function keyOf(name: string, meta: ResourceMeta): string {
  if (meta.reservations.length === 0 && !meta.disk) return name;
  return `${name}\u0000${JSON.stringify([meta.reservations, meta.disk ?? null])}`;
}

/** An immutable bag of resources keyed by name, reservation stack and disk. */
export class Resources {
  readonly #slots: ReadonlyMap<string, Slot>;
  /** Whether every key is a bare name (no reservation, no volume): the fast path. */
  readonly #plain: boolean;

  /** `plain` when the caller knows every key is a bare name (else it is found out). */
  private constructor(slots: ReadonlyMap<string, Slot>, plain?: boolean) {
    this.#slots = slots;
    if (plain === undefined) {
      plain = true;
      for (const [key, slot] of slots) {
        if (key !== slot.name) {
          plain = false;
          break;
        }
      }
    }
    this.#plain = plain;
  }

  /** No resources at all. */
  static empty(): Resources {
    return new Resources(new Map());
  }

  /**
   * From Mesos `Resource` messages; entries of the same name, reservations and disk are summed.
   * Reservations are read from either format (`reservations`, or `role` + `reservation`).
   */
  static fromMesos(list: readonly Resource[]): Resources {
    let out = Resources.empty();
    for (const r of list) {
      const meta = resourceMeta(r);
      const entry: Entry = r.type === "SCALAR"
        ? { kind: "SCALAR", milli: toMilli(r.scalar?.value ?? 0) }
        : r.type === "RANGES"
        ? { kind: "RANGES", ranges: normRanges(r.ranges?.range ?? []) }
        : { kind: "SET", items: normSet(r.set?.item ?? []) };
      out = out.add(Resources.#of(r.name, entry, meta));
    }
    return out;
  }

  /** Scalars by name, in whole units (`{cpus: 0.5, mem: 128}`), unreserved. */
  static scalars(values: Record<string, number>): Resources {
    const m = new Map<string, Slot>();
    for (const [name, v] of Object.entries(values)) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new Error(`resource "${name}" must be a finite non-negative number, got ${v}`);
      }
      const milli = toMilli(v);
      if (milli > 0) m.set(name, { name, meta: UNRESERVED, entry: { kind: "SCALAR", milli } });
    }
    return new Resources(m, true);
  }

  /** One unreserved ranges resource (`ports`, `[{begin: 31000, end: 32000}]`). */
  static ranges(name: string, ranges: readonly Range[]): Resources {
    const norm = normRanges(ranges);
    return norm.length === 0
      ? Resources.empty()
      : Resources.#of(name, { kind: "RANGES", ranges: norm }, UNRESERVED);
  }

  /**
   * Parses the agent flag syntax: `cpus:2;mem:1024;ports:[31000-32000];disks:{a,b}`. A role in
   * parentheses (`cpus(ads):2`) is a STATIC reservation for it, `(*)` unreserved, as Mesos'
   * `--resources`. Throws an error naming the bad part.
   */
  static parse(text: string): Resources {
    let out = Resources.empty();
    for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
      const m = /^([A-Za-z_][\w.-]*)(?:\(([^)]*)\))?:(.+)$/.exec(part);
      if (!m) throw new Error(`invalid resource "${part}": expected name:value`);
      const name = m[1]!, role = m[2]?.trim(), value = m[3]!.trim();
      if (role !== undefined && !/^(\*|[\w.-]+(\/[\w.-]+)*)$/.test(role)) {
        throw new Error(`invalid role "${role}" for "${name}"`);
      }
      const meta: ResourceMeta = role === undefined || role === "*"
        ? UNRESERVED
        : { reservations: [{ type: "STATIC", role }] };
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
        out = out.add(Resources.#of(name, { kind: "RANGES", ranges: normRanges(ranges) }, meta));
      } else if (value.startsWith("{")) {
        if (!value.endsWith("}")) throw new Error(`invalid set for "${name}": ${value}`);
        const items = value.slice(1, -1).split(",").map((s) => s.trim()).filter(
          Boolean,
        );
        out = out.add(Resources.#of(name, { kind: "SET", items: normSet(items) }, meta));
      } else {
        const v = Number(value);
        if (!Number.isFinite(v) || v < 0) {
          throw new Error(`invalid scalar for "${name}": "${value}"`);
        }
        out = out.add(Resources.#of(name, { kind: "SCALAR", milli: toMilli(v) }, meta));
      }
    }
    return out;
  }

  static #of(name: string, entry: Entry, meta: ResourceMeta): Resources {
    // An empty entry would make a bag that is not isEmpty() and breaks subtract().
    return isEmptyEntry(entry)
      ? Resources.empty()
      : new Resources(new Map([[keyOf(name, meta), { name, meta, entry }]]));
  }

  /** Names present, sorted (each once, whatever its reservations). */
  names(): string[] {
    if (this.#plain) return [...this.#slots.keys()].sort();
    return [...new Set([...this.#slots.values()].map((s) => s.name))].sort();
  }

  /** The kind of a named resource, if present. */
  kind(name: string): Kind | undefined {
    if (this.#plain) return this.#slots.get(name)?.entry.kind;
    for (const s of this.#slots.values()) if (s.name === name) return s.entry.kind;
    return undefined;
  }

  isEmpty(): boolean {
    return this.#slots.size === 0;
  }

  /** A scalar in whole units (0 when absent), summed over reservations. */
  scalar(name: string): number {
    return this.scalarMilli(name) / MILLI;
  }

  /** A scalar in milli-units (0 when absent), summed over reservations. */
  scalarMilli(name: string): number {
    if (this.#plain) {
      const e = this.#slots.get(name)?.entry;
      return e?.kind === "SCALAR" ? e.milli : 0;
    }
    let milli = 0;
    for (const s of this.#named(name)) if (s.entry.kind === "SCALAR") milli += s.entry.milli;
    return milli;
  }

  /** The ranges of a named resource (empty when absent), merged over reservations. */
  ranges(name: string): readonly Range[] {
    if (this.#plain) {
      const e = this.#slots.get(name)?.entry;
      return e?.kind === "RANGES" ? e.ranges : [];
    }
    const all: Range[] = [];
    let parts = 0;
    let only: readonly Range[] = [];
    for (const s of this.#named(name)) {
      if (s.entry.kind !== "RANGES") continue;
      parts++;
      only = s.entry.ranges;
      all.push(...s.entry.ranges);
    }
    return parts <= 1 ? only : normRanges(all);
  }

  /** The items of a set resource (empty when absent), merged over reservations. */
  set(name: string): readonly string[] {
    if (this.#plain) {
      const e = this.#slots.get(name)?.entry;
      return e?.kind === "SET" ? e.items : [];
    }
    const all: string[] = [];
    for (const s of this.#named(name)) if (s.entry.kind === "SET") all.push(...s.entry.items);
    return normSet(all);
  }

  *#named(name: string): Iterable<Slot> {
    for (const s of this.#slots.values()) if (s.name === name) yield s;
  }

  /** The sum. */
  add(other: Resources): Resources {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    const m = new Map(this.#slots);
    for (const [key, b] of other.#slots) {
      const a = m.get(key);
      if (!a) m.set(key, b);
      else m.set(key, { name: a.name, meta: a.meta, entry: combine(a.name, a.entry, b.entry, +1) });
    }
    return new Resources(m, this.#plain && other.#plain);
  }

  /** The difference. Throws when `other` is not contained in this. */
  subtract(other: Resources): Resources {
    if (other.isEmpty()) return this;
    if (!this.contains(other)) {
      throw new Error(`cannot subtract ${other} from ${this}: not contained`);
    }
    const m = new Map(this.#slots);
    for (const [key, b] of other.#slots) {
      const a = m.get(key)!;
      const e = combine(a.name, a.entry, b.entry, -1);
      if (isEmptyEntry(e)) m.delete(key);
      else m.set(key, { name: a.name, meta: a.meta, entry: e });
    }
    return new Resources(m, this.#plain || undefined);
  }

  /**
   * Whether every resource of `other` is present here in at least that amount, with the same
   * reservations and disk. A persistent volume is contained only whole, as Mesos never splits one.
   */
  contains(other: Resources): boolean {
    for (const [key, bs] of other.#slots) {
      const b = bs.entry;
      const as = this.#slots.get(key);
      if (!as) {
        if (isEmptyEntry(b)) continue;
        return false;
      }
      const a = as.entry;
      if (a.kind !== b.kind) return false;
      if (a.kind === "SCALAR" && b.kind === "SCALAR") {
        if (a.milli < b.milli) return false;
        if (as.meta.disk && a.milli !== b.milli) return false;
      }
      if (a.kind === "RANGES" && b.kind === "RANGES" && !rangesContain(a.ranges, b.ranges)) {
        return false;
      }
      if (a.kind === "SET" && b.kind === "SET" && !b.items.every((i) => a.items.includes(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * What both have, key by key (same name, reservations and disk): scalars the smaller amount,
   * ranges and sets the items in both.
   */
  intersect(other: Resources): Resources {
    const m = new Map<string, Slot>();
    for (const [key, b] of other.#slots) {
      const a = this.#slots.get(key);
      if (!a || a.entry.kind !== b.entry.kind) continue;
      const x = a.entry, y = b.entry;
      const entry: Entry = x.kind === "SCALAR" && y.kind === "SCALAR"
        ? { kind: "SCALAR", milli: Math.min(x.milli, y.milli) }
        : x.kind === "RANGES" && y.kind === "RANGES"
        ? { kind: "RANGES", ranges: intersectRanges(x.ranges, y.ranges) }
        : x.kind === "SET" && y.kind === "SET"
        ? { kind: "SET", items: x.items.filter((i) => y.items.includes(i)) }
        : { kind: "SCALAR", milli: 0 };
      if (!isEmptyEntry(entry)) m.set(key, { ...a, entry });
    }
    return new Resources(m);
  }

  equals(other: Resources): boolean {
    return this.contains(other) && other.contains(this);
  }

  /** Only the named resources (whatever their reservations). */
  filter(predicate: (name: string) => boolean): Resources {
    return new Resources(new Map([...this.#slots].filter(([, s]) => predicate(s.name))));
  }

  /** Only the resources whose name and meta pass `predicate`. */
  filterMeta(predicate: (name: string, meta: ResourceMeta) => boolean): Resources {
    return new Resources(new Map([...this.#slots].filter(([, s]) => predicate(s.name, s.meta))));
  }

  /** The unreserved resources. */
  unreserved(): Resources {
    return this.#plain ? this : this.filterMeta((_, m) => m.reservations.length === 0);
  }

  /** The reserved resources (for `role` only when given: those whose stack ends in it). */
  reserved(role?: string): Resources {
    if (this.#plain) return Resources.empty();
    return this.filterMeta((_, m) =>
      m.reservations.length > 0 && (role === undefined || reservedRole(m) === role)
    );
  }

  /** Reserved resources by the role they are reserved for. */
  reservedByRole(): Map<string, Resources> {
    const out = new Map<string, Resources>();
    if (this.#plain) return out;
    for (const [key, s] of this.#slots) {
      const role = reservedRole(s.meta);
      if (role === undefined) continue;
      const one = new Resources(new Map([[key, s]]));
      out.set(role, (out.get(role) ?? Resources.empty()).add(one));
    }
    return out;
  }

  /** What `role` may be offered of these: unreserved plus reserved to it or an ancestor. */
  allocatableTo(role: string): Resources {
    return this.#plain ? this : this.filterMeta((_, m) => isAllocatableTo(m, role));
  }

  /** The persistent volumes, each as `{role, id, resources}`. */
  persistentVolumes(): {
    role: string | undefined;
    id: string;
    disk: VolumeDisk;
    resources: Resources;
  }[] {
    const out = [];
    if (this.#plain) return [];
    for (const [key, s] of this.#slots) {
      if (!s.meta.disk) continue;
      out.push({
        role: reservedRole(s.meta),
        id: s.meta.disk.persistence.id,
        disk: s.meta.disk,
        resources: new Resources(new Map([[key, s]])),
      });
    }
    return out;
  }

  /** Each resource with its meta, one per key (for operations that edit reservations). */
  parts(): { name: string; meta: ResourceMeta; resources: Resources }[] {
    return [...this.#slots].map(([key, s]) => ({
      name: s.name,
      meta: s.meta,
      resources: new Resources(new Map([[key, s]])),
    }));
  }

  /** The same amounts with `meta` in place of each resource's own (e.g. a reservation popped). */
  withMeta(meta: (old: ResourceMeta, name: string) => ResourceMeta): Resources {
    let out = Resources.empty();
    for (const s of this.#slots.values()) {
      out = out.add(Resources.#of(s.name, s.entry, meta(s.meta, s.name)));
    }
    return out;
  }

  /**
   * Mesos `Resource` messages in Mesos' ENDPOINT format: `role` ("*" when unreserved) and, for
   * a one-level reservation, the pre-refinement `reservation` (dynamic only), beside the refined
   * `reservations`; `disk` for volumes; `allocation_info` when given a role.
   */
  toMesos(allocationRole?: string): Resource[] {
    const out: Resource[] = [];
    const slots = [...this.#slots.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
    for (const { name, meta, entry: e } of slots) {
      const base: Omit<Resource, "type"> = {
        name,
        role: reservedRole(meta) ?? "*",
        ...(allocationRole ? { allocation_info: { role: allocationRole } } : {}),
      };
      const stack = meta.reservations;
      if (stack.length > 0) {
        base.reservations = stack.map((r) => ({ ...r }));
        const only = stack.length === 1 ? stack[0] : undefined;
        if (only?.type === "DYNAMIC") {
          base.reservation = {
            ...(only.principal !== undefined ? { principal: only.principal } : {}),
            ...(only.labels ? { labels: only.labels } : {}),
          };
        }
      }
      if (meta.disk) {
        base.disk = {
          persistence: { ...meta.disk.persistence },
          ...(meta.disk.volume ? { volume: { ...meta.disk.volume } } : {}),
        };
      }
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
      const kind = this.kind(name);
      if (kind === "SCALAR") out[name] = this.scalarMilli(name) / MILLI;
      else if (kind === "RANGES") out[name] = formatRanges(this.ranges(name));
      else out[name] = `{${this.set(name).join(",")}}`;
    }
    return out;
  }

  /** The flag syntax `Resources.parse` reads (`cpus(ads):2` for a reservation). */
  toString(): string {
    return [...this.#slots.values()].map(({ name, meta, entry: e }) => {
      const role = reservedRole(meta);
      const vol = meta.disk ? `[${meta.disk.persistence.id}]` : "";
      const head = role === undefined ? `${name}${vol}` : `${name}(${role})${vol}`;
      if (e.kind === "SCALAR") return `${head}:${e.milli / MILLI}`;
      if (e.kind === "RANGES") return `${head}:${formatRanges(e.ranges)}`;
      return `${head}:{${e.items.join(",")}}`;
    }).sort().join(";");
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

/** Both inputs sorted and disjoint, as `Resources` keeps them. */
function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!, y = b[j]!;
    const begin = Math.max(x.begin, y.begin), end = Math.min(x.end, y.end);
    if (begin <= end) out.push({ begin, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
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

/** Whether a resource is one an agent checkpoints: dynamically reserved, or a volume. */
function isCheckpointed(meta: ResourceMeta): boolean {
  return meta.disk !== undefined || meta.reservations.some((r) => r.type === "DYNAMIC");
}

/**
 * An agent total's checkpointed resources, as Mesos': its dynamic reservations and persistent
 * volumes (static reservations come back from `--resources` on every start).
 */
export function checkpointedOf(total: Resources): Resources {
  return total.filterMeta((_, meta) => isCheckpointed(meta));
}

/** What a checkpointed resource was made from: its volume dropped, its dynamic reservations popped. */
export function sourceMeta(meta: ResourceMeta): ResourceMeta {
  const reservations = [...meta.reservations];
  while (reservations[reservations.length - 1]?.type === "DYNAMIC") reservations.pop();
  return { reservations };
}

/**
 * An agent's total from its `--resources` (`base`) and its checkpointed resources: each takes
 * the place of what it was made from. Throws, naming what is missing, when `base` does not hold
 * that (the agent was restarted with fewer resources than it had reserved).
 */
export function applyCheckpointed(base: Resources, checkpointed: Resources): Resources {
  const sources = checkpointed.withMeta(sourceMeta);
  if (!base.contains(sources)) {
    throw new Error(
      `the agent's resources ${base} do not hold its checkpointed reservations and volumes ` +
        `(made from ${sources})`,
    );
  }
  return base.subtract(sources).add(checkpointed);
}

/**
 * An agent's reservations as Mesos' master and agent `/state` show them: by role, flat
 * (`reserved_resources`) and as full `Resource`s with their reservations and volumes
 * (`reserved_resources_full`), beside the unreserved rest.
 */
export function reservationViews(total: Resources): {
  reserved_resources: Record<string, Record<string, number | string>>;
  reserved_resources_full: Record<string, Resource[]>;
  unreserved_resources: Record<string, number | string>;
  unreserved_resources_full: Resource[];
} {
  const byRole = [...total.reservedByRole()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  const unreserved = total.unreserved();
  return {
    reserved_resources: Object.fromEntries(byRole.map(([role, r]) => [role, r.toFlat()])),
    reserved_resources_full: Object.fromEntries(byRole.map(([role, r]) => [role, r.toMesos()])),
    unreserved_resources: unreserved.toFlat(),
    unreserved_resources_full: unreserved.toMesos(),
  };
}
