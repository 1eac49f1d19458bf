/**
 * The hierarchical DRF allocator: it keeps the books (what each agent has, what each framework
 * holds per role and agent, refuse filters, suppression) and, on each run, tenders every free
 * agent slice whole to the first eligible framework in weighted-DRF order of roles, then DRF
 * order of the role's frameworks (Mesos stage 2, coarse-grained). Pure: time comes in as `now`.
 */
import type { Attribute } from "../../protocol/mesos.ts";
import { Resources } from "../../protocol/resources.ts";
import { DrfSorter, scalarsOf } from "./drf_sorter.ts";
import { RefuseFilters } from "./refuse_filters.ts";
import { saturatingDifference } from "./saturating_difference.ts";

/** An agent as the allocator sees it. */
export interface AgentSlot {
  id: string;
  hostname: string;
  total: Resources;
  attributes: Attribute[];
}

/** Resources of one agent counted as a framework's, under one role (an offer or running tasks). */
export interface Allocation {
  frameworkId: string;
  role: string;
  agentId: string;
  resources: Resources;
}

/** Options of an `Allocator`. */
export interface AllocatorOptions {
  /**
   * Bundles smaller than this (in every named scalar) are not offered. Default cpus:0.01;mem:32
   * semantics as Mesos (a bundle is allocatable if it has at least the cpus OR at least the mem).
   */
  minAllocatable?: Resources;
  /** Scalar names left out of DRF shares (default ["gpus"]). */
  fairnessExcluded?: string[];
}

interface AgentBook {
  readonly id: string;
  hostname: string;
  total: Resources;
  attributes: Attribute[];
  active: boolean;
  /** framework id -> role -> resources held on this agent. */
  readonly holdings: Map<string, Map<string, Resources>>;
  /** `total` minus every holding, floored at nothing. */
  free: Resources;
  /** Whether free and holdings are disjoint and add up to `total` (no over-commit). */
  exact: boolean;
}

interface FrameworkBook {
  readonly id: string;
  roles: Set<string>;
  suppressed: Set<string>;
  active: boolean;
  /** False while known only from `allocate()` (tasks recovered before the framework re-subscribed). */
  registered: boolean;
  /** Agents where it holds something. */
  readonly agents: Set<string>;
  /** role -> on how many agents it holds something under that role. */
  readonly roleHoldings: Map<string, number>;
  readonly filters: RefuseFilters;
}

/** Hierarchical weighted-DRF allocator with Mesos' offer semantics. */
export class Allocator {
  readonly #agents = new Map<string, AgentBook>();
  /** Agent ids, sorted: the deterministic base order of a run. */
  readonly #agentOrder: string[] = [];
  readonly #frameworks = new Map<string, FrameworkBook>();
  readonly #weights = new Map<string, number>();
  readonly #fairnessExcluded: string[];
  readonly #roleSorter: DrfSorter;
  readonly #frameworkSorters = new Map<string, DrfSorter>();
  /** Frameworks' shares over all their roles, for `shares()`. */
  readonly #frameworkTotals: DrfSorter;
  readonly #minAllocatable: [string, number][];
  /** Cluster total scalars, milli-units; pushed to the sorters lazily. */
  readonly #totalMilli = new Map<string, number>();
  #totalDirty = false;
  #runs = 0;

  constructor(options: AllocatorOptions = {}) {
    this.#fairnessExcluded = options.fairnessExcluded ?? ["gpus"];
    this.#roleSorter = this.#newSorter();
    this.#frameworkTotals = this.#newSorter();
    const min = options.minAllocatable ?? Resources.scalars({ cpus: 0.01, mem: 32 });
    this.#minAllocatable = min.names().filter((n) => min.kind(n) === "SCALAR").map((
      n,
    ) => [n, min.scalarMilli(n)]);
  }

  /** Adds an agent, active. Re-adding updates total and attributes and keeps holdings. */
  addAgent(agent: AgentSlot): void {
    const known = this.#agents.get(agent.id);
    if (known) {
      this.#addTotal(known.total, -1);
      known.hostname = agent.hostname;
      known.attributes = agent.attributes;
      const held = known.exact ? known.total.subtract(known.free) : undefined;
      known.total = agent.total;
      if (held && agent.total.contains(held)) known.free = agent.total.subtract(held);
      else this.#refreshFree(known);
    } else {
      this.#agents.set(agent.id, {
        id: agent.id,
        hostname: agent.hostname,
        total: agent.total,
        attributes: agent.attributes,
        active: true,
        holdings: new Map(),
        free: agent.total,
        exact: true,
      });
      this.#agentOrder.splice(lowerBound(this.#agentOrder, agent.id), 0, agent.id);
    }
    this.#addTotal(agent.total, +1);
  }

  /** Forgets an agent; what frameworks held on it is dropped from every book. */
  removeAgent(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (!agent) return;
    for (const [frameworkId, byRole] of agent.holdings) {
      const fw = this.#frameworks.get(frameworkId)!;
      for (const [role, held] of byRole) this.#unbook(frameworkId, role, agentId, held);
      fw.agents.delete(agentId);
    }
    for (const fw of this.#frameworks.values()) {
      fw.filters.dropAgent(agentId);
      this.#forgetIfDone(fw);
    }
    this.#addTotal(agent.total, -1);
    this.#agents.delete(agentId);
    this.#agentOrder.splice(lowerBound(this.#agentOrder, agentId), 1);
  }

  /** Lets a deactivated agent be offered again. */
  activateAgent(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (agent) agent.active = true;
  }

  /** No offers for this agent (unreachable, draining) until activated; holdings stay. */
  deactivateAgent(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (agent) agent.active = false;
  }

  /**
   * Adds a framework, or updates one's roles, suppressed roles and activity (idempotent).
   * No roles means the default role `*`. Filters survive an update.
   */
  addFramework(
    frameworkId: string,
    opts: { roles: string[]; suppressedRoles?: string[]; active?: boolean },
  ): void {
    const roles = new Set(opts.roles.length > 0 ? opts.roles : ["*"]);
    let fw = this.#frameworks.get(frameworkId);
    const oldRoles = fw ? [...fw.roles] : [];
    if (!fw) {
      fw = {
        id: frameworkId,
        roles,
        suppressed: new Set(),
        active: true,
        registered: true,
        agents: new Set(),
        roleHoldings: new Map(),
        filters: new RefuseFilters(),
      };
      this.#frameworks.set(frameworkId, fw);
    }
    fw.roles = roles;
    fw.suppressed = new Set(opts.suppressedRoles ?? []);
    fw.active = opts.active ?? true;
    fw.registered = true;
    for (const role of roles) this.#sorterFor(role).add(frameworkId);
    for (const role of new Set([...oldRoles, ...roles])) this.#sync(fw, role);
  }

  /** Forgets a framework and returns everything it holds to the pool. */
  removeFramework(frameworkId: string): void {
    const fw = this.#frameworks.get(frameworkId);
    if (!fw) return;
    for (const agentId of fw.agents) {
      const byRole = this.#agents.get(agentId)?.holdings.get(frameworkId);
      for (const [role, held] of byRole ?? []) this.#unbook(frameworkId, role, agentId, held);
    }
    fw.registered = false;
    fw.roles = new Set();
    this.#forgetIfDone(fw);
  }

  /** Lets a (re)connected framework receive offers. */
  activateFramework(frameworkId: string): void {
    this.#setActive(frameworkId, true);
  }

  /** No offers for a disconnected framework; its holdings still count. */
  deactivateFramework(frameworkId: string): void {
    this.#setActive(frameworkId, false);
  }

  /** Weighted DRF across roles: a role's share is divided by its weight (default 1). */
  setWeight(role: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new Error(`Weight of role "${role}" must be a positive number, got ${weight}`);
    }
    this.#weights.set(role, weight);
    if (this.#roleSorter.has(role)) this.#roleSorter.setWeight(role, weight);
  }

  /**
   * Counts resources as allocated to a framework (used on recovery and when tasks are
   * re-learned). An unknown framework is tracked, inactive, until it subscribes. Throws for an
   * unknown agent. Holding more than the agent's total leaves it with nothing free. A holding
   * is a set: a port the (framework, role) already holds on the agent is counted once.
   */
  allocate(frameworkId: string, role: string, agentId: string, resources: Resources): void {
    const agent = this.#agents.get(agentId);
    if (!agent) throw new Error(`Cannot allocate on agent "${agentId}": unknown agent`);
    if (!this.#frameworks.has(frameworkId)) {
      this.#frameworks.set(frameworkId, {
        id: frameworkId,
        roles: new Set(),
        suppressed: new Set(),
        active: false,
        registered: false,
        agents: new Set(),
        roleHoldings: new Map(),
        filters: new RefuseFilters(),
      });
    }
    this.#book(frameworkId, role, agent, resources);
    this.#sync(this.#frameworks.get(frameworkId)!, role);
  }

  /**
   * Returns resources to the pool: an offer declined, rescinded or left unused, or a task that
   * ended. With `refuseUntil`, installs a filter so that this framework is not offered (a subset
   * of) these resources on this agent until then (Mesos: filter expires after max(refuse,
   * allocation interval) — the caller passes the final time). Unknown ids are ignored; more
   * than held is clamped to what is held.
   */
  recover(allocation: Allocation, options: { refuseUntil?: number } = {}): void {
    const { frameworkId, role, agentId, resources } = allocation;
    const fw = this.#frameworks.get(frameworkId);
    if (!fw || !this.#agents.has(agentId)) return;
    const held = this.#agents.get(agentId)!.holdings.get(frameworkId)?.get(role);
    if (held) {
      const back = held.contains(resources)
        ? resources
        : held.subtract(saturatingDifference(held, resources));
      if (!back.isEmpty()) this.#unbook(frameworkId, role, agentId, back);
    }
    if (options.refuseUntil !== undefined && fw.registered) {
      fw.filters.add(agentId, { role, resources, until: options.refuseUntil });
    }
    this.#forgetIfDone(fw, role);
  }

  /** Stops offers to the framework for these roles (all its roles when omitted). */
  suppress(frameworkId: string, roles?: string[]): void {
    const fw = this.#frameworks.get(frameworkId);
    if (!fw) return;
    for (const role of roles ?? fw.roles) {
      fw.suppressed.add(role);
      this.#sync(fw, role);
    }
  }

  /** Unsuppresses these roles (all when omitted) and clears all its filters for them. */
  revive(frameworkId: string, roles?: string[]): void {
    const fw = this.#frameworks.get(frameworkId);
    if (!fw) return;
    const which = roles ? new Set(roles) : undefined;
    for (const role of which ?? [...fw.suppressed]) {
      fw.suppressed.delete(role);
      this.#sync(fw, role);
    }
    fw.filters.clear(which);
  }

  /**
   * One allocation run: offers everything free on the candidate agents (all agents when
   * omitted), roles in weighted-DRF order then frameworks in DRF order, whole remaining agent
   * slice per (framework, role, agent), skipping filtered, suppressed, inactive. The returned
   * resources are now counted as allocated. Agents go in id order, rotated by one each run.
   */
  run(now: number, candidates?: Iterable<string>): Allocation[] {
    this.#flushTotal();
    let order: readonly string[] = this.#agentOrder;
    if (candidates !== undefined) {
      order = [...new Set(candidates)].filter((id) => this.#agents.has(id)).sort();
    }
    const out: Allocation[] = [];
    const n = order.length;
    const start = n === 0 ? 0 : this.#runs++ % n;
    for (let k = 0; k < n; k++) {
      const agent = this.#agents.get(order[(start + k) % n]!)!;
      if (!agent.active || !this.#allocatable(agent.free)) continue;
      const grant = this.#pick(agent, now);
      if (grant) out.push(grant);
    }
    return out;
  }

  /** Free (unallocated) resources of an agent; nothing for an unknown agent. */
  available(agentId: string): Resources {
    return this.#agents.get(agentId)?.free ?? Resources.empty();
  }

  /** Everything counted as held on an agent, by framework and role. */
  allocationsOn(agentId: string): Allocation[] {
    const out: Allocation[] = [];
    for (const [frameworkId, byRole] of this.#agents.get(agentId)?.holdings ?? []) {
      for (const [role, resources] of byRole) out.push({ frameworkId, role, agentId, resources });
    }
    return out;
  }

  /** For state/metrics: each framework's dominant share and each role's (unweighted). */
  shares(): { frameworks: Record<string, number>; roles: Record<string, number> } {
    this.#flushTotal();
    const frameworks: Record<string, number> = {};
    const roles: Record<string, number> = {};
    for (const id of this.#frameworks.keys()) frameworks[id] = this.#frameworkTotals.share(id);
    for (const role of this.#roleSorter.clients()) roles[role] = this.#roleSorter.share(role);
    return { frameworks, roles };
  }

  /** The first (role, framework) in DRF order that takes the agent's whole free slice. */
  #pick(agent: AgentBook, now: number): Allocation | undefined {
    const free = agent.free;
    for (const role of this.#roleSorter.sorted()) {
      const sorter = this.#frameworkSorters.get(role)!;
      for (const frameworkId of sorter.sorted()) {
        const fw = this.#frameworks.get(frameworkId)!;
        if (fw.filters.size > 0 && fw.filters.blocks(agent.id, role, free, now)) continue;
        this.#book(frameworkId, role, agent, free);
        return { frameworkId, role, agentId: agent.id, resources: free };
      }
    }
    return undefined;
  }

  #allocatable(free: Resources): boolean {
    if (this.#minAllocatable.length === 0) return !free.isEmpty();
    for (const [name, milli] of this.#minAllocatable) {
      if (free.scalarMilli(name) >= milli) return true;
    }
    return false;
  }

  #book(frameworkId: string, role: string, agent: AgentBook, resources: Resources): void {
    let byRole = agent.holdings.get(frameworkId);
    if (!byRole) agent.holdings.set(frameworkId, byRole = new Map());
    const before = byRole.get(role);
    byRole.set(role, before ? before.add(resources) : resources);
    if (resources === agent.free) agent.free = Resources.empty();
    else if (agent.free.contains(resources)) agent.free = agent.free.subtract(resources);
    else {
      agent.free = saturatingDifference(agent.free, resources);
      agent.exact = false;
    }
    const fw = this.#frameworks.get(frameworkId)!;
    fw.agents.add(agent.id);
    if (!before) fw.roleHoldings.set(role, (fw.roleHoldings.get(role) ?? 0) + 1);
    const scalars = scalarsOf(resources);
    this.#sorterFor(role).allocatedScalars(frameworkId, scalars);
    this.#roleSorter.allocatedScalars(role, scalars);
    this.#frameworkTotals.allocatedScalars(frameworkId, scalars);
  }

  /** Takes back exactly `resources`, which the framework holds there under the role. */
  #unbook(frameworkId: string, role: string, agentId: string, resources: Resources): void {
    const agent = this.#agents.get(agentId)!;
    const byRole = agent.holdings.get(frameworkId)!;
    const fw = this.#frameworks.get(frameworkId)!;
    const left = byRole.get(role)!.subtract(resources);
    if (!left.isEmpty()) byRole.set(role, left);
    else {
      byRole.delete(role);
      const n = (fw.roleHoldings.get(role) ?? 0) - 1;
      if (n > 0) fw.roleHoldings.set(role, n);
      else fw.roleHoldings.delete(role);
    }
    if (byRole.size === 0) {
      agent.holdings.delete(frameworkId);
      fw.agents.delete(agentId);
    }
    if (agent.exact) agent.free = agent.free.add(resources);
    else this.#refreshFree(agent);
    const scalars = scalarsOf(resources);
    this.#frameworkSorters.get(role)!.unallocatedScalars(frameworkId, scalars);
    this.#roleSorter.unallocatedScalars(role, scalars);
    this.#frameworkTotals.unallocatedScalars(frameworkId, scalars);
  }

  /** Recomputed from the holdings, so that over-committed books heal as holdings go. */
  #refreshFree(agent: AgentBook): void {
    let free = agent.total;
    for (const byRole of agent.holdings.values()) {
      for (const held of byRole.values()) free = saturatingDifference(free, held);
    }
    agent.free = free;
    agent.exact = agent.holdings.size === 0;
  }

  #setActive(frameworkId: string, active: boolean): void {
    const fw = this.#frameworks.get(frameworkId);
    if (!fw) return;
    fw.active = active;
    for (const role of this.#frameworkSorters.keys()) this.#sync(fw, role);
  }

  /** Makes the framework's place in the role's sorter match its state; drops empty roles. */
  #sync(fw: FrameworkBook, role: string): void {
    const sorter = this.#frameworkSorters.get(role);
    if (!sorter || !sorter.has(fw.id)) return;
    const subscribed = fw.roles.has(role);
    if (!subscribed && !fw.roleHoldings.has(role)) sorter.remove(fw.id);
    else if (subscribed && fw.active && !fw.suppressed.has(role)) sorter.activate(fw.id);
    else sorter.deactivate(fw.id);
    if (sorter.size === 0) {
      this.#frameworkSorters.delete(role);
      this.#roleSorter.remove(role);
    }
  }

  /** Drops a framework that neither subscribes nor holds anything any more. */
  #forgetIfDone(fw: FrameworkBook, role?: string): void {
    if (role !== undefined) this.#sync(fw, role);
    else for (const r of this.#frameworkSorters.keys()) this.#sync(fw, r);
    if (!fw.registered && fw.agents.size === 0) {
      this.#frameworks.delete(fw.id);
      this.#frameworkTotals.remove(fw.id);
    }
  }

  #sorterFor(role: string): DrfSorter {
    let sorter = this.#frameworkSorters.get(role);
    if (!sorter) {
      this.#flushTotal();
      sorter = this.#newSorter();
      sorter.setTotal(this.#total());
      this.#frameworkSorters.set(role, sorter);
      this.#roleSorter.add(role, this.#weights.get(role) ?? 1);
    }
    return sorter;
  }

  #newSorter(): DrfSorter {
    return new DrfSorter({ fairnessExcluded: this.#fairnessExcluded });
  }

  #addTotal(total: Resources, sign: 1 | -1): void {
    for (const name of total.names()) {
      if (total.kind(name) !== "SCALAR") continue;
      const milli = (this.#totalMilli.get(name) ?? 0) + sign * total.scalarMilli(name);
      if (milli > 0) this.#totalMilli.set(name, milli);
      else this.#totalMilli.delete(name);
    }
    this.#totalDirty = true;
  }

  #total(): Resources {
    const units: Record<string, number> = {};
    for (const [name, milli] of this.#totalMilli) units[name] = milli / 1000;
    return Resources.scalars(units);
  }

  #flushTotal(): void {
    if (!this.#totalDirty) return;
    this.#totalDirty = false;
    const total = this.#total();
    this.#roleSorter.setTotal(total);
    this.#frameworkTotals.setTotal(total);
    for (const sorter of this.#frameworkSorters.values()) sorter.setTotal(total);
  }
}

function lowerBound(sorted: readonly string[], id: string): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
