/**
 * The hierarchical DRF allocator: it keeps the books (what each agent has, what each framework
 * holds per role and agent, refuse filters, suppression) and, on each run, tenders every free
 * agent slice whole to the first eligible framework in weighted-DRF order of roles, then DRF
 * order of the role's frameworks (Mesos stage 2, coarse-grained). Pure: time comes in as `now`.
 */
import type { Attribute } from "../../protocol/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DrfSorter, type ScalarAmount, scalarsOf } from "./drf_sorter.ts";
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

/** A role's quota: scalar amounts in whole units by name (Mesos' QuotaConfig). */
export interface Quota {
  /** Held back from other roles until the role holds this much. */
  guarantees: Readonly<Record<string, number>>;
  /** Never offered past: the role's allocation plus an offer stays within it. */
  limits: Readonly<Record<string, number>>;
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
  /** role -> quota, milli-units by scalar name. */
  readonly #quotas = new Map<
    string,
    { guarantees: Map<string, number>; limits: Map<string, number> }
  >();
  readonly #fairnessExcluded: string[];
  readonly #roleSorter: DrfSorter;
  readonly #frameworkSorters = new Map<string, DrfSorter>();
  /** Frameworks' shares over all their roles, for `shares()`. */
  readonly #frameworkTotals: DrfSorter;
  readonly #minAllocatable: [string, number][];
  /** Cluster total scalars, milli-units; pushed to the sorters lazily. */
  readonly #totalMilli = new Map<string, number>();
  /**
   * Reserved scalars by role over all agents, milli-units: as Mesos, a role's reservations count
   * toward its DRF share and quota whether or not they are allocated.
   */
  readonly #reservedMilli = new Map<string, Map<string, number>>();
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
   * Sets a role's quota (none when undefined). Offers to the role are cut to its limits; while a
   * role holds less than its guarantees, that much of the cluster's free resources is held back
   * from roles without an unmet guarantee, and roles with one are served first.
   */
  setQuota(role: string, quota: Quota | undefined): void {
    if (!quota) {
      this.#quotas.delete(role);
      return;
    }
    const milli = (amounts: Readonly<Record<string, number>>) =>
      new Map(Object.entries(amounts).map(([name, v]) => [name, Math.round(v * 1000)]));
    this.#quotas.set(role, { guarantees: milli(quota.guarantees), limits: milli(quota.limits) });
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

  /**
   * Applies an operation (RESERVE, UNRESERVE, CREATE, DESTROY) to free resources of an agent:
   * `from` leaves its total and free pool and `to` takes its place. False, changing nothing,
   * when `from` is not all free (offered or in use).
   */
  convertAvailable(agentId: string, from: Resources, to: Resources): boolean {
    const agent = this.#agents.get(agentId);
    if (!agent || !agent.free.contains(from)) return false;
    this.#convert(agent, from, to);
    return true;
  }

  /**
   * Applies an operation to resources a framework holds on an agent under a role (an offer it
   * accepted): its holding, the agent's total and the role's books change from `from` to `to`.
   * Throws when the framework does not hold `from` there.
   */
  convertAllocated(allocation: Allocation, to: Resources): void {
    const { frameworkId, role, agentId, resources: from } = allocation;
    const agent = this.#agents.get(agentId);
    const held = agent?.holdings.get(frameworkId)?.get(role);
    if (!agent || !held?.contains(from)) {
      throw new Error(`Framework "${frameworkId}" does not hold ${from} on agent "${agentId}"`);
    }
    this.#unbook(frameworkId, role, agentId, from);
    this.#convert(agent, from, to);
    this.#book(frameworkId, role, agent, to);
  }

  #convert(agent: AgentBook, from: Resources, to: Resources): void {
    this.#addTotal(agent.total, -1);
    agent.total = agent.total.subtract(from).add(to);
    this.#addTotal(agent.total, +1);
    if (agent.free.contains(from)) agent.free = agent.free.subtract(from).add(to);
    else this.#refreshFree(agent);
  }

  /**
   * What a role consumes toward its quota, milli-units by scalar name: its reservations
   * (allocated or not) and its unreserved allocation, as Mesos counts quota consumption.
   */
  consumption(role: string): Map<string, number> {
    if (!this.#roleSorter.has(role)) return new Map(this.#reservedMilli.get(role) ?? []);
    return new Map(scalarsOf(this.#roleSorter.allocation(role)));
  }

  /** An agent's total as the books have it (operations applied); undefined for an unknown id. */
  totalOf(agentId: string): Resources | undefined {
    return this.#agents.get(agentId)?.total;
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
    const headroom = this.#headroom();
    for (let k = 0; k < n; k++) {
      const agent = this.#agents.get(order[(start + k) % n]!)!;
      if (!agent.active || !this.#allocatable(agent.free)) continue;
      // Without quotas the first grant takes the whole slice; a grant cut by a quota leaves
      // the rest of the slice to the next (framework, role) in order.
      const granted = new Set<string>();
      while (this.#allocatable(agent.free)) {
        const grant = this.#pick(agent, now, { granted, headroom });
        if (!grant) break;
        granted.add(`${grant.role}\u0000${grant.frameworkId}`);
        out.push(grant);
      }
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

  /**
   * The first (role, framework) in DRF order that takes the agent's free slice, cut to the
   * role's quota limit and, for a role without an unmet guarantee, to what the others'
   * guarantees leave (Mesos' quota headroom). Roles with an unmet guarantee go first.
   */
  #pick(
    agent: AgentBook,
    now: number,
    run: { granted: ReadonlySet<string>; headroom: Headroom | undefined },
  ): Allocation | undefined {
    const roles = this.#roleSorter.sorted();
    const { headroom } = run;
    const first = headroom ? roles.filter((r) => this.#unmetGuarantee(r)) : [];
    for (const role of first.length > 0 ? [...first, ...roles] : roles) {
      const guaranteed = first.includes(role);
      if (!guaranteed && first.length > 0 && this.#unmetGuarantee(role)) continue;
      let offer = this.#capToLimit(role, agent.free.allocatableTo(role));
      if (headroom) {
        offer = capScalars(offer, headroom.spare(guaranteed ? this.#unmet(role) : undefined));
      }
      if (!this.#allocatable(offer)) continue;
      const sorter = this.#frameworkSorters.get(role)!;
      for (const frameworkId of sorter.sorted()) {
        if (run.granted.has(`${role}\u0000${frameworkId}`)) continue;
        const fw = this.#frameworks.get(frameworkId)!;
        if (fw.filters.size > 0 && fw.filters.blocks(agent.id, role, offer, now)) continue;
        const unmetBefore = headroom ? this.#unmet(role) : undefined;
        this.#book(frameworkId, role, agent, offer);
        headroom?.granted(offer, unmetBefore, this.#unmet(role));
        return { frameworkId, role, agentId: agent.id, resources: offer };
      }
    }
    return undefined;
  }

  /** What a role still lacks of its guarantees, milli-units by name (none: empty). */
  #unmet(role: string): Map<string, number> {
    const out = new Map<string, number>();
    const quota = this.#quotas.get(role);
    if (!quota) return out;
    const held = this.#roleSorter.has(role) ? this.#roleSorter.allocation(role) : undefined;
    for (const [name, milli] of quota.guarantees) {
      const lack = milli - (held?.scalarMilli(name) ?? 0);
      if (lack > 0) out.set(name, lack);
    }
    return out;
  }

  #unmetGuarantee(role: string): boolean {
    return this.#unmet(role).size > 0;
  }

  /** The slice cut so that the role's allocation plus it stays within the role's limits. */
  #capToLimit(role: string, free: Resources): Resources {
    const limits = this.#quotas.get(role)?.limits;
    if (!limits || limits.size === 0) return free;
    const held = this.#roleSorter.has(role) ? this.#roleSorter.allocation(role) : undefined;
    const room = new Map<string, number>();
    for (const [name, milli] of limits) {
      room.set(name, Math.max(0, milli - (held?.scalarMilli(name) ?? 0)));
    }
    return capScalars(free, room);
  }

  /**
   * The quota headroom of a run: the cluster's free scalars (active agents) and what roles
   * lack of their guarantees; undefined when no role has a guarantee.
   */
  #headroom(): Headroom | undefined {
    const required = new Map<string, number>();
    for (const role of this.#quotas.keys()) {
      for (const [name, milli] of this.#unmet(role)) {
        required.set(name, (required.get(name) ?? 0) + milli);
      }
    }
    if (required.size === 0) return undefined;
    const free = new Map<string, number>();
    for (const agent of this.#agents.values()) {
      if (!agent.active) continue;
      for (const [name, milli] of scalarsOf(agent.free.unreserved())) {
        free.set(name, (free.get(name) ?? 0) + milli);
      }
    }
    return new Headroom(free, required);
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
    this.#roleSorter.allocatedScalars(role, unreservedScalars(resources, scalars));
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
    this.#roleSorter.unallocatedScalars(role, unreservedScalars(resources, scalars));
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
      const reserved = this.#reservedMilli.get(role);
      if (reserved && reserved.size > 0) this.#roleSorter.allocatedScalars(role, [...reserved]);
    }
    return sorter;
  }

  #newSorter(): DrfSorter {
    return new DrfSorter({ fairnessExcluded: this.#fairnessExcluded });
  }

  #addTotal(total: Resources, sign: 1 | -1): void {
    this.#trackReservations(total, sign);
    for (const name of total.names()) {
      if (total.kind(name) !== "SCALAR") continue;
      const milli = (this.#totalMilli.get(name) ?? 0) + sign * total.scalarMilli(name);
      if (milli > 0) this.#totalMilli.set(name, milli);
      else this.#totalMilli.delete(name);
    }
    this.#totalDirty = true;
  }

  /** Counts (or uncounts) an agent total's reservations toward their roles. */
  #trackReservations(total: Resources, sign: 1 | -1): void {
    for (const [role, reserved] of total.reservedByRole()) {
      const scalars = scalarsOf(reserved);
      let book = this.#reservedMilli.get(role);
      if (!book) this.#reservedMilli.set(role, book = new Map());
      for (const [name, milli] of scalars) {
        const next = (book.get(name) ?? 0) + sign * milli;
        if (next > 0) book.set(name, next);
        else book.delete(name);
      }
      if (book.size === 0) this.#reservedMilli.delete(role);
      if (!this.#roleSorter.has(role)) continue;
      if (sign > 0) this.#roleSorter.allocatedScalars(role, scalars);
      else this.#roleSorter.unallocatedScalars(role, scalars);
    }
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

/** A run's running count of free scalars and of what guarantees still need. */
class Headroom {
  constructor(
    readonly free: Map<string, number>,
    readonly required: Map<string, number>,
  ) {}

  /**
   * What a role may take, by name (names not listed: all): what is free beyond every unmet
   * guarantee, plus what the role itself still lacks of its own (`own`).
   */
  spare(own?: ReadonlyMap<string, number>): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, need] of this.required) {
      const beyond = Math.max(0, (this.free.get(name) ?? 0) - need);
      out.set(name, beyond + (own?.get(name) ?? 0));
    }
    return out;
  }

  /** Accounts for a grant, and for how much it met of its role's guarantees. */
  granted(
    resources: Resources,
    unmetBefore: ReadonlyMap<string, number> | undefined,
    unmetAfter: ReadonlyMap<string, number>,
  ): void {
    for (const [name, milli] of scalarsOf(resources.unreserved())) {
      this.free.set(name, Math.max(0, (this.free.get(name) ?? 0) - milli));
    }
    for (const [name, before] of unmetBefore ?? []) {
      const met = before - (unmetAfter.get(name) ?? 0);
      if (met > 0) this.required.set(name, Math.max(0, (this.required.get(name) ?? 0) - met));
    }
  }
}

/** The bundle with each scalar named in `caps` cut to at most that many milli-units. */
function capScalars(resources: Resources, caps: ReadonlyMap<string, number>): Resources {
  // Reservations are the role's already (counted in its consumption): only unreserved is cut.
  const unreserved = resources.unreserved();
  let cut: Record<string, number> | undefined;
  for (const [name, cap] of caps) {
    if (unreserved.kind(name) !== "SCALAR" || unreserved.scalarMilli(name) <= cap) continue;
    (cut ??= {})[name] = cap / 1000;
  }
  if (!cut) return resources;
  const names = new Set(Object.keys(cut));
  const capped = unreserved.filter((n) => !names.has(n)).add(Resources.scalars(cut));
  return unreserved === resources ? capped : capped.add(resources.reserved());
}

/** The scalars of `resources` that count toward a role's allocation: the unreserved ones. */
function unreservedScalars(
  resources: Resources,
  scalars: readonly ScalarAmount[],
): readonly ScalarAmount[] {
  const unreserved = resources.unreserved();
  return unreserved === resources ? scalars : scalarsOf(unreserved);
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
