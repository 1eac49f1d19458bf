/**
 * Weighted Dominant Resource Fairness (Ghodsi et al., NSDI'11) as a sorter: it keeps each
 * client's allocation and hands out the active clients lowest weighted dominant share first.
 * Only scalar resources count; the order is cached and re-sorted lazily, one touched client
 * at a time, so an allocation run pays O(clients) per grant rather than a full sort.
 */
import { Resources } from "../../protocol/mod.ts";

/** A scalar resource's name and amount in milli-units. */
export type ScalarAmount = readonly [name: string, milli: number];

/** The scalars of a bundle, in milli-units: what a sorter counts. */
export function scalarsOf(resources: Resources): ScalarAmount[] {
  const out: ScalarAmount[] = [];
  for (const name of resources.names()) {
    if (resources.kind(name) === "SCALAR") out.push([name, resources.scalarMilli(name)]);
  }
  return out;
}

/** Options of a `DrfSorter`. */
export interface DrfSorterOptions {
  /** Scalar names left out of dominant shares (Mesos `--fair_sharing_excluded_resource_names`). */
  fairnessExcluded?: readonly string[];
}

interface Client {
  readonly name: string;
  weight: number;
  active: boolean;
  /** How many times `allocated()` was called: the first tie-breaker, as in Mesos. */
  count: number;
  /** Allocated scalars in milli-units, by name. */
  readonly scalars: Map<string, number>;
  /** Cached unweighted dominant share, valid while the client is not dirty. */
  share: number;
}

/** Orders clients (roles, or frameworks within a role) by weighted dominant share, lowest first. */
export class DrfSorter {
  readonly #clients = new Map<string, Client>();
  readonly #excluded: ReadonlySet<string>;
  /** Cluster total of the scalars that count, milli-units by name. */
  #total = new Map<string, number>();
  /** Active clients in order; exact for every client not in `#dirty`. */
  #order: Client[] = [];
  readonly #dirty = new Set<Client>();
  #allDirty = false;
  /** `#order` by name, rebuilt on demand. */
  #names: string[] | undefined;

  constructor(options: DrfSorterOptions = {}) {
    this.#excluded = new Set(options.fairnessExcluded ?? ["gpus"]);
  }

  /** Adds an active client; re-adding one only sets its weight. */
  add(client: string, weight = 1): void {
    checkWeight(client, weight);
    const c = this.#clients.get(client);
    if (c) return this.setWeight(client, weight);
    const fresh: Client = {
      name: client,
      weight,
      active: true,
      count: 0,
      scalars: new Map(),
      share: 0,
    };
    this.#clients.set(client, fresh);
    this.#dirty.add(fresh);
  }

  /** Forgets a client and its allocation. */
  remove(client: string): void {
    const c = this.#clients.get(client);
    if (!c) return;
    this.#clients.delete(client);
    this.#dirty.delete(c);
    const i = this.#order.indexOf(c);
    if (i >= 0) {
      this.#order.splice(i, 1);
      this.#names = undefined;
    }
  }

  /** Whether the client is known. */
  has(client: string): boolean {
    return this.#clients.has(client);
  }

  /** How many clients are known. */
  get size(): number {
    return this.#clients.size;
  }

  /** Known clients, in insertion order. */
  clients(): string[] {
    return [...this.#clients.keys()];
  }

  /** Puts the client back into `sort()`. */
  activate(client: string): void {
    this.#setActive(client, true);
  }

  /** Leaves the client out of `sort()`; its allocation still counts. */
  deactivate(client: string): void {
    this.#setActive(client, false);
  }

  /** Whether the client takes part in `sort()`. */
  isActive(client: string): boolean {
    return this.#clients.get(client)?.active ?? false;
  }

  /**
   * Counts `resources` (held on agent `_agentId`) as the client's; unknown clients are added.
   * Only scalar sums are kept: the allocator holds the per-agent books.
   */
  allocated(client: string, _agentId: string, resources: Resources): void {
    this.allocatedScalars(client, scalarsOf(resources));
  }

  /** Takes `resources` back from the client, scalars floored at zero. Throws for an unknown client. */
  unallocated(client: string, _agentId: string, resources: Resources): void {
    this.unallocatedScalars(client, scalarsOf(resources));
  }

  /** `allocated()` for scalars already split out by `scalarsOf()` (one split per grant). */
  allocatedScalars(client: string, scalars: readonly ScalarAmount[]): void {
    if (!this.#clients.has(client)) this.add(client);
    const c = this.#clients.get(client)!;
    c.count++;
    for (const [name, milli] of scalars) c.scalars.set(name, (c.scalars.get(name) ?? 0) + milli);
    this.#dirty.add(c);
  }

  /** `unallocated()` for scalars already split out by `scalarsOf()`. */
  unallocatedScalars(client: string, scalars: readonly ScalarAmount[]): void {
    const c = this.#clients.get(client);
    if (!c) throw new Error(`Cannot unallocate from "${client}": unknown client`);
    for (const [name, amount] of scalars) {
      const milli = (c.scalars.get(name) ?? 0) - amount;
      if (milli > 0) c.scalars.set(name, milli);
      else c.scalars.delete(name);
    }
    this.#dirty.add(c);
  }

  /** The scalar part of the client's allocation (the only part a sorter keeps). */
  allocation(client: string): Resources {
    const units: Record<string, number> = {};
    for (const [name, milli] of this.#clients.get(client)?.scalars ?? []) {
      units[name] = milli / 1000;
    }
    return Resources.scalars(units);
  }

  /** The cluster total shares are measured against (only its scalars matter). */
  setTotal(total: Resources): void {
    const next = new Map<string, number>();
    for (const name of total.names()) {
      if (total.kind(name) !== "SCALAR" || this.#excluded.has(name)) continue;
      next.set(name, total.scalarMilli(name));
    }
    if (sameMap(next, this.#total)) return;
    this.#total = next;
    this.#allDirty = true;
  }

  /** Sets a client's weight: its share is divided by it. */
  setWeight(client: string, weight: number): void {
    checkWeight(client, weight);
    const c = this.#clients.get(client);
    if (!c || c.weight === weight) return;
    c.weight = weight;
    this.#dirty.add(c);
  }

  /** Active clients, lowest weighted share first; ties: fewer allocations, then name. */
  sort(): string[] {
    return this.sorted().slice();
  }

  /** Like `sort()` without the copy: the cached order, valid until the next change. */
  sorted(): readonly string[] {
    this.#resort();
    return this.#names ??= this.#order.map((c) => c.name);
  }

  /** The client's dominant share (unweighted): max over scalars of allocated / total. */
  share(client: string): number {
    const c = this.#clients.get(client);
    if (!c) return 0;
    if (this.#allDirty || this.#dirty.has(c)) return this.#dominant(c);
    return c.share;
  }

  /** The client's dominant share divided by its weight, the sort key. */
  weightedShare(client: string): number {
    const c = this.#clients.get(client);
    return c ? this.share(client) / c.weight : 0;
  }

  #setActive(client: string, active: boolean): void {
    const c = this.#clients.get(client);
    if (!c || c.active === active) return;
    c.active = active;
    this.#dirty.add(c);
  }

  #dominant(c: Client): number {
    let max = 0;
    for (const [name, total] of this.#total) {
      if (total <= 0) continue;
      const s = (c.scalars.get(name) ?? 0) / total;
      if (s > max) max = s;
    }
    return max;
  }

  #resort(): void {
    if (!this.#allDirty && this.#dirty.size === 0) return;
    this.#names = undefined;
    if (this.#allDirty || this.#dirty.size * 4 > this.#order.length) {
      for (const c of this.#clients.values()) c.share = this.#dominant(c);
      this.#order = [...this.#clients.values()].filter((c) => c.active).sort(compare);
    } else {
      for (const c of this.#dirty) {
        const i = this.#order.indexOf(c);
        if (i >= 0) this.#order.splice(i, 1);
      }
      for (const c of this.#dirty) {
        c.share = this.#dominant(c);
        if (c.active) this.#order.splice(this.#insertionPoint(c), 0, c);
      }
    }
    this.#dirty.clear();
    this.#allDirty = false;
  }

  #insertionPoint(c: Client): number {
    let lo = 0, hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.#order[mid]!, c) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function compare(a: Client, b: Client): number {
  const sa = a.share / a.weight, sb = b.share / b.weight;
  if (sa !== sb) return sa - sb;
  if (a.count !== b.count) return a.count - b.count;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function checkWeight(client: string, weight: number): void {
  if (!(weight > 0) || !Number.isFinite(weight)) {
    throw new Error(`Weight of "${client}" must be a positive number, got ${weight}`);
  }
}

function sameMap(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
