/**
 * The master's metrics as Mesos' `/metrics/snapshot` names them (`master/...`), for clients that
 * read them (GET_METRICS, `/metrics/snapshot`). Read from the same books as `/metrics`.
 */
import { isTerminalState } from "../../protocol/mod.ts";
import type { MasterView } from "../core/master_view.ts";
import { agentBooks, clusterBooks } from "./books.ts";

/**
 * The master's metrics under Mesos' `master/...` names, read from the same books as `/metrics`
 * (the mapping is in docs/decisions.md). GET_METRICS and `/metrics/snapshot` serve it.
 */
export function mesosMetricsSnapshot(ctx: MasterView): Record<string, number> {
  const agents = agentBooks(ctx);
  const count = (s: string) => agents.filter((a) => a.status === s).length;
  const out: Record<string, number> = {
    "master/uptime_secs": (ctx.now() - ctx.startTime) / 1000,
    "master/elected": 1,
    "master/slaves_active": count("active"),
    "master/slaves_connected": count("active"),
    "master/slaves_disconnected": count("disconnected") + count("unreachable"),
    "master/slaves_inactive": agents.filter((a) => ctx.agents.get(a.id)?.deactivated).length,
    "master/slaves_unreachable": count("unreachable"),
    // Agents marked gone (MARK_AGENT_GONE), remembered durably.
    "master/slave_removals": ctx.goneAgents.size,
  };
  const connected = [...ctx.frameworks.keys()].filter((id) => ctx.frameworkConnections.has(id));
  out["master/frameworks_active"] = connected.length;
  out["master/frameworks_connected"] = connected.length;
  out["master/frameworks_disconnected"] = ctx.frameworks.size - connected.length;
  out["master/frameworks_inactive"] = ctx.frameworks.size - connected.length;
  for (const state of ["STAGING", "STARTING", "RUNNING", "KILLING", "UNREACHABLE"]) {
    out[`master/tasks_${state.toLowerCase()}`] = 0;
  }
  for (const t of ctx.tasks.values()) {
    const key = `master/tasks_${t.state.replace(/^TASK_/, "").toLowerCase()}`;
    if (!isTerminalState(t.state)) out[key] = (out[key] ?? 0) + 1;
  }
  const sums = clusterBooks(agents.filter((a) => a.status === "active"));
  for (const name of ["cpus", "mem", "disk", "gpus"]) {
    const total = sums.total[name] ?? 0;
    const used = sums.used[name] ?? 0;
    out[`master/${name}_total`] = total;
    out[`master/${name}_used`] = used;
    out[`master/${name}_percent`] = total === 0 ? 0 : used / total;
  }
  const c = ctx.counters;
  out["master/outstanding_offers"] = ctx.offers.size;
  out["master/messages_launch_tasks"] = c.tasksLaunched;
  out["master/messages_decline_offers"] = c.offersDeclined;
  out["master/messages_status_update"] = c.statusUpdates;
  out["master/offers_sent"] = c.offersSent;
  return out;
}
