/** Read-only sums over the master's books, shared by `/metrics` and the dashboard. */
import { isTerminalState, Resources } from "../../protocol/mod.ts";
import type { MasterContext } from "../core/context.ts";

/** The state an agent is in, as operators see it. */
export type AgentStatus = "active" | "disconnected" | "unreachable";

/** One agent's resources: what it has, what tasks use, what is tendered in offers. */
export interface AgentBooks {
  id: string;
  hostname: string;
  port: number;
  status: AgentStatus;
  total: Resources;
  used: Resources;
  offered: Resources;
  tasks: number;
}

/** The status of one agent. */
export function agentStatus(ctx: MasterContext, agentId: string): AgentStatus {
  if (ctx.agentConnections.has(agentId)) return "active";
  return ctx.agents.get(agentId)?.unreachableTime === undefined ? "disconnected" : "unreachable";
}

/** Every agent's resource books, in registration order. */
export function agentBooks(ctx: MasterContext): AgentBooks[] {
  const used = new Map<string, Resources>();
  const count = new Map<string, number>();
  for (const t of ctx.tasks.values()) {
    if (isTerminalState(t.state)) continue;
    used.set(
      t.agentId,
      (used.get(t.agentId) ?? Resources.empty()).add(Resources.fromMesos(t.resources)),
    );
    count.set(t.agentId, (count.get(t.agentId) ?? 0) + 1);
  }
  const offered = new Map<string, Resources>();
  for (const o of ctx.offers.all()) {
    offered.set(o.agentId, (offered.get(o.agentId) ?? Resources.empty()).add(o.resources));
  }
  return [...ctx.agents.values()].map((a) => ({
    id: a.id,
    hostname: a.info.hostname,
    port: a.info.port,
    status: agentStatus(ctx, a.id),
    total: Resources.fromMesos(a.info.resources),
    used: used.get(a.id) ?? Resources.empty(),
    offered: offered.get(a.id) ?? Resources.empty(),
    tasks: count.get(a.id) ?? 0,
  }));
}

/** Cluster sums over the agents given (usually the active ones). */
export function clusterBooks(
  agents: readonly AgentBooks[],
): { total: Resources; used: Resources; offered: Resources } {
  let total = Resources.empty(), used = Resources.empty(), offered = Resources.empty();
  for (const a of agents) {
    total = total.add(a.total);
    used = used.add(a.used);
    offered = offered.add(a.offered);
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
