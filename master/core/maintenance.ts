/**
 * Agent maintenance, as Mesos' operator calls DRAIN_AGENT and REACTIVATE_AGENT: a drained
 * agent gets no new offers and its tasks are killed gracefully, so their frameworks move them
 * elsewhere; once none is left it is DRAINED. Reactivating offers it again.
 */
import { badRequest, isTerminalState } from "../../protocol/mod.ts";
import { kill } from "./calls.ts";
import type { MasterContext } from "./context.ts";
import { machineOfAgent } from "./machines.ts";
import { rescindOffer } from "./offers.ts";
import type { AgentRecord } from "./records.ts";

/** Starts draining an agent; its tasks' kill grace is capped at `maxGracePeriodNs`. */
export function drainAgent(ctx: MasterContext, agentId: string, maxGracePeriodNs?: number): void {
  const agent = requireAgent(ctx, agentId);
  ctx.allocator.deactivateAgent(agentId);
  for (const offer of ctx.offers.forAgent(agentId)) rescindOffer(ctx, offer);
  ctx.putAgent({ ...agent, deactivated: true, drain: { state: "DRAINING", maxGracePeriodNs } });
  for (const task of ctx.tasksOfAgent(agentId)) {
    if (isTerminalState(task.state)) continue;
    const own = task.info.kill_policy?.grace_period?.nanoseconds;
    const grace = maxGracePeriodNs === undefined
      ? own
      : Math.min(own ?? maxGracePeriodNs, maxGracePeriodNs);
    kill(ctx, task.frameworkId, {
      task_id: task.info.task_id,
      kill_policy: grace === undefined ? undefined : { grace_period: { nanoseconds: grace } },
    });
  }
  markDrainedIfEmpty(ctx, agentId);
}

/** Ends maintenance: the agent is offered again. */
export function reactivateAgent(ctx: MasterContext, agentId: string): void {
  const agent = requireAgent(ctx, agentId);
  if (machineOfAgent(ctx, agent)?.down) {
    throw badRequest(
      `Agent "${agentId}" is on a machine that is DOWN for maintenance: STOP_MAINTENANCE brings it up`,
    );
  }
  ctx.putAgent({ ...agent, deactivated: false, drain: undefined });
  if (ctx.agentConnections.has(agentId)) ctx.allocator.activateAgent(agentId);
  ctx.wantAllocation(agentId);
}

/** A draining agent with no task left is DRAINED. */
export function markDrainedIfEmpty(ctx: MasterContext, agentId: string): void {
  const agent = ctx.agents.get(agentId);
  if (agent?.drain?.state !== "DRAINING") return;
  if (ctx.tasksOfAgent(agentId).some((t) => !isTerminalState(t.state))) return;
  ctx.putAgent({ ...agent, drain: { ...agent.drain, state: "DRAINED" } });
}

function requireAgent(ctx: MasterContext, agentId: string): AgentRecord {
  const agent = ctx.agents.get(agentId);
  if (!agent) throw badRequest(`Agent "${agentId}" is unknown`);
  return agent;
}
