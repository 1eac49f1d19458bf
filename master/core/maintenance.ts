/**
 * Agent maintenance, as Mesos' operator calls DRAIN_AGENT, REACTIVATE_AGENT and MARK_AGENT_GONE:
 * a drained agent gets no new offers and its tasks are killed gracefully, so their frameworks
 * move them elsewhere; once none is left it is DRAINED (and gone, when the drain asked for it).
 * Reactivating offers it again. An agent marked gone is removed for good.
 */
import { badRequest } from "../../base/mod.ts";
import { isTerminalState, Resources } from "../../protocol/mod.ts";
import { kill } from "./calls.ts";
import type { MasterContext } from "./context.ts";
import { isPartitionAware, masterStatus } from "./frameworks.ts";
import { machineOfAgent } from "./machines.ts";
import { rescindOffer } from "./offers.ts";
import { type AgentRecord, withStatus } from "./records.ts";

/**
 * Starts draining an agent; its tasks' kill grace is capped at `maxGracePeriodNs`. With
 * `markGone`, the agent is marked gone (`markAgentGone`) once it is DRAINED.
 */
export function drainAgent(
  ctx: MasterContext,
  agentId: string,
  options: { maxGracePeriodNs?: number; markGone?: boolean } = {},
): void {
  const { maxGracePeriodNs, markGone } = options;
  const agent = requireAgent(ctx, agentId);
  ctx.allocator.deactivateAgent(agentId);
  for (const offer of ctx.offers.forAgent(agentId)) rescindOffer(ctx, offer);
  ctx.putAgent({
    ...agent,
    deactivated: true,
    drain: { state: "DRAINING", maxGracePeriodNs, ...(markGone ? { markGone } : {}) },
  });
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
  if (agent.drain.markGone) markAgentGone(ctx, agentId);
  else ctx.putAgent({ ...agent, drain: { ...agent.drain, state: "DRAINED" } });
}

function requireAgent(ctx: MasterContext, agentId: string): AgentRecord {
  const agent = ctx.agents.get(agentId);
  if (!agent) throw badRequest(`Agent "${agentId}" is unknown`);
  return agent;
}

/**
 * MARK_AGENT_GONE (Mesos semantics): the agent is removed for good — its stream closed, its
 * offers rescinded, its resources dropped; each of its live tasks ends TASK_GONE_BY_OPERATOR
 * (partition-aware frameworks) or TASK_LOST (others), REASON_AGENT_REMOVED_BY_OPERATOR; and its
 * id is remembered so that it is refused should it ever subscribe again. Marking an agent gone
 * twice is a no-op; an unknown id is a 400.
 */
export function markAgentGone(ctx: MasterContext, agentId: string): void {
  if (ctx.goneAgents.has(agentId)) return;
  const agent = ctx.agents.get(agentId);
  if (!agent) throw badRequest(`No agent found with ID "${agentId}"`);
  const conn = ctx.agentConnections.get(agentId);
  if (conn) {
    ctx.outbox.push({
      to: "close_agent",
      agentId,
      streamId: conn.streamId,
      error: "Agent has been marked gone by the operator",
    });
    ctx.agentConnections.delete(agentId);
  }
  for (const offer of ctx.offers.forAgent(agentId)) rescindOffer(ctx, offer);
  for (const task of ctx.tasksOfAgent(agentId)) {
    if (isTerminalState(task.state)) {
      ctx.removeTask(task);
      continue;
    }
    const framework = ctx.frameworks.get(task.frameworkId);
    const status = masterStatus(ctx, { taskId: task.info.task_id.value, agentId }, {
      state: isPartitionAware(framework) ? "TASK_GONE_BY_OPERATOR" : "TASK_LOST",
      reason: "REASON_AGENT_REMOVED_BY_OPERATOR",
      message: `Agent "${agent.info.hostname}" has been marked gone by the operator`,
    });
    ctx.allocator.recover({
      frameworkId: task.frameworkId,
      role: task.role,
      agentId,
      resources: Resources.fromMesos(task.resources),
    });
    ctx.sendToFramework(task.frameworkId, { type: "UPDATE", update: { status } });
    ctx.removeTask({ ...task, state: status.state, statuses: withStatus(task, status) });
  }
  ctx.allocator.removeAgent(agentId);
  ctx.agents.delete(agentId);
  ctx.silentSince.delete(agentId);
  ctx.changes.push({ kind: "agent", id: agentId, value: null });
  ctx.goneAgents.add(agentId);
  ctx.changes.push({ kind: "gone_agent", id: agentId });
}
