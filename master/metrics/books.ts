/**
 * Read-only sums over the master's books, shared by `/metrics` and the dashboard. Sums are
 * plain numbers per resource name (scalars by value, ports one by one), built straight from
 * the Mesos resource lists: a scrape of a 10,000-task master must stay cheap.
 */
import type { Resource } from "../../protocol/mod.ts";
import { isTerminalState, type Resources } from "../../protocol/mod.ts";
import type { MasterView } from "../core/master_view.ts";

/** The state an agent is in, as operators see it. */
export type AgentStatus = "active" | "disconnected" | "unreachable";

/** Amounts per resource name: a scalar's value, or how many ports/items a range/set holds. */
export type Amounts = Record<string, number>;

/** One agent's resources: what it has, what tasks use, what is tendered in offers. */
export interface AgentBooks {
  id: string;
  hostname: string;
  port: number;
  status: AgentStatus;
  total: Amounts;
  used: Amounts;
  offered: Amounts;
  tasks: number;
}

/** The status of one agent. */
export function agentStatus(ctx: MasterView, agentId: string): AgentStatus {
  if (ctx.agentConnections.has(agentId)) return "active";
  return ctx.agents.get(agentId)?.unreachableTime === undefined ? "disconnected" : "unreachable";
}

/** Adds a Mesos resource list into `into` (and returns it). */
export function addMesos(into: Amounts, resources: readonly Resource[]): Amounts {
  for (const r of resources) {
    let n = 0;
    if (r.scalar) n = r.scalar.value;
    else if (r.ranges) { for (const g of r.ranges.range) n += g.end - g.begin + 1; }
    else if (r.set) n = r.set.item.length;
    into[r.name] = (into[r.name] ?? 0) + n;
  }
  return into;
}

/** Adds `Resources` into `into` (and returns it). */
export function addResources(into: Amounts, resources: Resources): Amounts {
  for (const name of resources.names()) into[name] = (into[name] ?? 0) + amount(resources, name);
  return into;
}

/** Every agent's resource books, in registration order. */
export function agentBooks(ctx: MasterView): AgentBooks[] {
  const used = new Map<string, Amounts>();
  const count = new Map<string, number>();
  for (const t of ctx.tasks.values()) {
    if (isTerminalState(t.state)) continue;
    let u = used.get(t.agentId);
    if (!u) used.set(t.agentId, u = {});
    addMesos(u, t.resources);
    count.set(t.agentId, (count.get(t.agentId) ?? 0) + 1);
  }
  const offered = new Map<string, Amounts>();
  for (const o of ctx.offers.all()) {
    let sum = offered.get(o.agentId);
    if (!sum) offered.set(o.agentId, sum = {});
    addResources(sum, o.resources);
  }
  return [...ctx.agents.values()].map((a) => ({
    id: a.id,
    hostname: a.info.hostname,
    port: a.info.port,
    status: agentStatus(ctx, a.id),
    total: addMesos({}, a.info.resources),
    used: used.get(a.id) ?? {},
    offered: offered.get(a.id) ?? {},
    tasks: count.get(a.id) ?? 0,
  }));
}

/** Cluster sums over the agents given (usually the active ones). */
export function clusterBooks(
  agents: readonly AgentBooks[],
): { total: Amounts; used: Amounts; offered: Amounts } {
  const total: Amounts = {}, used: Amounts = {}, offered: Amounts = {};
  const add = (into: Amounts, from: Amounts) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const a of agents) {
    add(total, a.total);
    add(used, a.used);
    add(offered, a.offered);
  }
  return { total, used, offered };
}

/** A resource's size as one number: a scalar's value, or how many ports a range set holds. */
export function amount(resources: Resources, name: string): number {
  const kind = resources.kind(name);
  if (kind === "SCALAR") return resources.scalar(name);
  if (kind === "RANGES") {
    return resources.ranges(name).reduce((n, r) => n + r.end - r.begin + 1, 0);
  }
  if (kind === "SET") return resources.set(name).length;
  return 0;
}
