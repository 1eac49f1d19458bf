/** Agent lifecycle: (re)registration with reconciliation, status updates, silence, loss. */
import type { AgentInfo, AgentTask, TaskStatus } from "../../protocol/mod.ts";
import { forbidden } from "../../security/mod.ts";
import {
  badRequest,
  checkRecordSize,
  isPlainHost,
  pathSafeId,
  TenderError,
} from "../../base/mod.ts";
import { isTerminalState, Resources } from "../../protocol/mod.ts";
import { agentTimeoutMs, type MasterContext } from "./context.ts";
import { isPartitionAware, masterStatus } from "./frameworks.ts";
import { markDrainedIfEmpty } from "./maintenance.ts";
import { rescindOffer } from "./offers.ts";
import { reregisteredTotal } from "./reservations.ts";
import type { AgentRecord, TaskRecord } from "./records.ts";
import { withStatus } from "./records.ts";

/**
 * An agent that registered with another cluster: this master's store was lost, replaced or is
 * another cluster's. Adopting the agent would let the master forget its tasks and frameworks
 * launch them again (duplicates), so it is refused and the refusal said loudly.
 */
export class ClusterMismatchError extends TenderError {
  constructor(agent: string, agentCluster: string, ours: string) {
    super(
      "conflict",
      `Agent ${agent} registered with cluster "${agentCluster}", but this master's store ` +
        `belongs to cluster "${ours}": the store was lost or replaced, or this is another ` +
        `cluster's master. Restore the store (or point the agent at its own masters); to adopt ` +
        `this cluster's agents after losing its store for good, start the master on an empty ` +
        `store with --cluster-id ${agentCluster}`,
    );
    this.name = "ClusterMismatchError";
  }
}

/** Admits a new agent or re-admits a known one on a new stream, and reconciles its tasks. */
export function subscribeAgent(
  ctx: MasterContext,
  request: {
    info: AgentInfo;
    tasks: AgentTask[];
    streamId: string;
    ip?: string;
    clusterId?: string;
    scheme?: "http" | "https";
    /** The principal the request authenticated as (undefined: none). */
    principal?: string;
  },
): string {
  const now = ctx.now();
  const claimed = request.info.id?.value;
  if (
    request.clusterId !== undefined && ctx.clusterId !== undefined &&
    request.clusterId !== ctx.clusterId
  ) {
    throw new ClusterMismatchError(
      `"${claimed ?? request.info.hostname}"`,
      request.clusterId,
      ctx.clusterId,
    );
  }
  // Checked before anything changes: a refused SUBSCRIBE leaves no trace.
  if (claimed !== undefined) pathSafeId("agent id", claimed);
  if (claimed !== undefined && ctx.goneAgents.has(claimed)) {
    // Mesos shuts such an agent down: it must start afresh (a new work dir, hence a new id).
    throw new TenderError(
      "forbidden",
      `Agent "${claimed}" has been marked gone by the operator and may not register again; ` +
        `start it with a fresh work directory to register as a new agent`,
    );
  }
  for (const host of [request.info.hostname, request.ip ?? "127.0.0.1"]) {
    if (!isPlainHost(host)) {
      throw badRequest(
        `Agent address ${JSON.stringify(host.slice(0, 80))} is not a host name or IP`,
      );
    }
  }
  checkRecordSize("'agent_info'", request.info);
  for (const report of request.tasks) {
    pathSafeId("task id", report.task.task_id.value);
    checkRecordSize(`Task "${report.task.task_id.value}"`, report);
  }
  const existing = claimed ? ctx.agents.get(claimed) : undefined;
  if (existing) requireAgentPrincipal(ctx, existing.id, request.principal);
  if (!ctx.authorizer.allows("register_agents", request.principal, request.info.hostname)) {
    throw forbidden("register_agents", request.principal, request.info.hostname);
  }
  const id = claimed ?? ctx.nextAgentId();
  const old = ctx.agentConnections.get(id);
  if (old) {
    ctx.outbox.push({ to: "close_agent", agentId: id, streamId: old.streamId });
  }
  for (const offer of ctx.offers.forAgent(id)) rescindOffer(ctx, offer);
  const total = reregisteredTotal(existing?.info.resources, request.info.resources);
  const record: AgentRecord = {
    id,
    info: { ...request.info, resources: total.resources, id: { value: id } },
    ip: request.ip ?? existing?.ip,
    ...(request.scheme === "https" ? { scheme: "https" as const } : {}),
    ...(request.principal ?? existing?.principal) === undefined
      ? {}
      : { principal: request.principal ?? existing?.principal },
    deactivated: existing?.deactivated ?? false,
    drain: existing?.drain,
    registeredTime: existing?.registeredTime ?? now,
    reregisteredTime: existing ? now : undefined,
    unreachableTime: undefined,
  };
  ctx.putAgent(record);
  ctx.agentConnections.set(id, { streamId: request.streamId, lastSeen: now });
  ctx.silentSince.delete(id);
  ctx.allocator.addAgent({
    id,
    hostname: record.info.hostname,
    total: Resources.fromMesos(record.info.resources),
    attributes: record.info.attributes,
  });
  if (!record.deactivated) ctx.allocator.activateAgent(id);
  ctx.sendToAgent(id, {
    type: "SUBSCRIBED",
    subscribed: {
      agent_id: { value: id },
      master_id: ctx.masterId,
      heartbeat_interval_seconds: ctx.options.heartbeatIntervalMs / 1000,
      ...(ctx.clusterId === undefined ? {} : { cluster_id: ctx.clusterId }),
    },
  });
  if (total.resend) {
    ctx.sendToAgent(id, {
      type: "CHECKPOINT_RESOURCES",
      checkpoint_resources: { resources: total.resend.toMesos() },
    });
  }
  reconcileAgentTasks(ctx, id, request.tasks);
  ctx.wantAllocation(id);
  return id;
}

/**
 * Brings the master's view of an agent's tasks in line with the agent's report: tasks the
 * agent runs but the master lost are re-learned (or killed when their framework is gone);
 * tasks the master expected but the agent does not have are lost.
 */
function reconcileAgentTasks(ctx: MasterContext, agentId: string, reported: AgentTask[]): void {
  const seen = new Set<string>();
  for (const report of reported) {
    const frameworkId = report.framework_id.value;
    const taskId = report.task.task_id.value;
    seen.add(`${frameworkId}\u0000${taskId}`);
    const framework = ctx.frameworks.get(frameworkId);
    if (!framework) {
      ctx.sendToAgent(agentId, {
        type: "SHUTDOWN_FRAMEWORK",
        shutdown_framework: { framework_id: { value: frameworkId } },
      });
      continue;
    }
    const known = ctx.getTask(frameworkId, taskId);
    if (!known) {
      if (isTerminalState(report.status.state)) continue;
      const resources = Resources.fromMesos(report.task.resources);
      const role = framework.roles[0] ?? "*";
      ctx.putTask({
        frameworkId,
        agentId,
        role,
        info: report.task,
        resources: resources.toMesos(role),
        state: report.status.state,
        statuses: [report.status],
        killRequested: false,
        ...(report.executor_id ? { executorId: report.executor_id.value } : {}),
      });
      ctx.allocator.allocate(frameworkId, role, agentId, resources);
      continue;
    }
    if (known.killRequested) {
      ctx.sendToAgent(agentId, {
        type: "KILL",
        kill: { framework_id: report.framework_id, task_id: report.task.task_id },
      });
    }
    if (known.state === "TASK_UNREACHABLE" && !isTerminalState(report.status.state)) {
      // Back from a partition: tell the framework the task still runs.
      const status = masterStatus(ctx, { taskId, agentId }, {
        state: report.status.state,
        reason: "REASON_AGENT_REREGISTERED",
        message: "Agent re-registered; the task is still running",
        healthy: report.status.healthy,
      });
      ctx.putTask({ ...known, state: report.status.state, statuses: withStatus(known, status) });
      ctx.sendToFramework(frameworkId, { type: "UPDATE", update: { status } });
    }
  }
  for (const task of ctx.tasksOfAgent(agentId)) {
    const key = `${task.frameworkId}\u0000${task.info.task_id.value}`;
    if (seen.has(key) || isTerminalState(task.state)) continue;
    // The master expected it, the agent does not have it: the launch was lost or it is gone.
    const framework = ctx.frameworks.get(task.frameworkId);
    const state = task.state === "TASK_STAGING"
      ? (isPartitionAware(framework) ? "TASK_DROPPED" : "TASK_LOST")
      : (isPartitionAware(framework) ? "TASK_GONE" : "TASK_LOST");
    terminate(
      ctx,
      task,
      masterStatus(ctx, { taskId: task.info.task_id.value, agentId }, {
        state,
        reason: "REASON_AGENT_REREGISTERED",
        message: "The agent re-registered without this task",
      }),
    );
  }
}

/**
 * Records a status update from an agent, durably, and forwards it to the framework. A retry
 * of an update already recorded is forwarded again but not recorded twice.
 */
export function recordUpdate(
  ctx: MasterContext,
  agentId: string,
  update: { frameworkId: string; status: TaskStatus },
): void {
  requireConnectedAgent(ctx, agentId);
  const { frameworkId, status } = update;
  checkRecordSize(`The status of task "${status.task_id.value}"`, status);
  ctx.counters.statusUpdates += 1;
  const task = ctx.getTask(frameworkId, status.task_id.value);
  if (!task || !ctx.frameworks.has(frameworkId)) {
    // Nobody will ever acknowledge it: acknowledge on the framework's behalf.
    if (status.uuid) {
      ctx.sendToAgent(agentId, {
        type: "ACKNOWLEDGE",
        acknowledge: {
          framework_id: { value: frameworkId },
          task_id: status.task_id,
          uuid: status.uuid,
        },
      });
    }
    return;
  }
  if (task.agentId !== agentId) {
    throw badRequest(
      `Task "${status.task_id.value}" runs on agent "${task.agentId}", not "${agentId}"`,
    );
  }
  const draining = ctx.agents.get(agentId)?.drain !== undefined;
  const full: TaskStatus = {
    ...status,
    agent_id: { value: agentId },
    ...(draining && status.state === "TASK_KILLED" ? { reason: "REASON_AGENT_DRAINING" } : {}),
  };
  const latest = task.statuses[task.statuses.length - 1];
  if (!(status.uuid && latest?.uuid === status.uuid)) {
    const wasTerminal = isTerminalState(task.state);
    ctx.putTask({
      ...task,
      state: status.state,
      statuses: withStatus(task, full),
      pendingUuid: status.uuid,
    });
    if (isTerminalState(status.state) && !wasTerminal) {
      ctx.allocator.recover({
        frameworkId,
        role: task.role,
        agentId,
        resources: Resources.fromMesos(task.resources),
      });
      ctx.wantAllocation(agentId);
      markDrainedIfEmpty(ctx, agentId);
    }
  }
  // An agent retries an update until the framework acknowledges it. A retry the framework's
  // stream already carried is news to nobody: forwarding it again would only add an update and
  // an acknowledgement to a master that is slow to pass acknowledgements on (issue 17: 2.6
  // duplicates per task). It goes again on a new stream (resubscribed frameworks also get their
  // pending updates at once) or after RETRY_FORWARD_MS, should an acknowledgement have been lost.
  const streamId = ctx.frameworkConnections.get(frameworkId)?.streamId;
  if (status.uuid && streamId) {
    const sent = ctx.forwarded.get(status.uuid);
    const now = ctx.now();
    if (sent?.streamId === streamId && now - sent.at < RETRY_FORWARD_MS) return;
    // Kept in the order sent, so entries past RETRY_FORWARD_MS (which hold nothing back any
    // more: an update never acknowledged, its task gone) are dropped from the front.
    ctx.forwarded.delete(status.uuid);
    ctx.forwarded.set(status.uuid, { streamId, at: now });
    for (const [uuid, entry] of ctx.forwarded) {
      if (now - entry.at < RETRY_FORWARD_MS) break;
      ctx.forwarded.delete(uuid);
    }
  }
  ctx.sendToFramework(frameworkId, { type: "UPDATE", update: { status: full } });
}

/** How long an update forwarded on a framework's stream is not forwarded again on it. */
export const RETRY_FORWARD_MS = 60_000;

/** An agent's heartbeat. */
export function heartbeat(ctx: MasterContext, agentId: string): void {
  const conn = requireConnectedAgent(ctx, agentId);
  conn.lastSeen = ctx.now();
}

/** The agent's stream closed; it has until the agent timeout to come back. */
export function disconnectAgent(ctx: MasterContext, agentId: string, streamId: string): void {
  const conn = ctx.agentConnections.get(agentId);
  if (!conn || conn.streamId !== streamId) return;
  ctx.agentConnections.delete(agentId);
  ctx.silentSince.set(agentId, conn.lastSeen);
  ctx.allocator.deactivateAgent(agentId);
  for (const offer of ctx.offers.forAgent(agentId)) rescindOffer(ctx, offer);
}

/**
 * Marks agents that missed `maxAgentPingTimeouts` pings in a row (silent for that many
 * `agentPingTimeoutMs`) unreachable and reports their tasks.
 */
export function expireAgents(ctx: MasterContext): void {
  const now = ctx.now();
  const timeoutMs = agentTimeoutMs(ctx.options);
  for (const agent of ctx.agents.values()) {
    if (agent.unreachableTime !== undefined) continue;
    const conn = ctx.agentConnections.get(agent.id);
    const lastSeen = conn?.lastSeen ?? ctx.silentSince.get(agent.id) ?? now;
    if (now - lastSeen < timeoutMs) continue;
    markUnreachable(ctx, agent);
  }
}

/**
 * Forgets agents unreachable for `agentMaxAgeMs`: their records and their tasks' records go,
 * so the store does not keep every agent that ever was (Mesos' registry GC).
 */
export function forgetGoneAgents(ctx: MasterContext): void {
  const now = ctx.now();
  for (const agent of [...ctx.agents.values()]) {
    if (agent.unreachableTime === undefined) continue;
    if (now - agent.unreachableTime < ctx.options.agentMaxAgeMs) continue;
    for (const task of ctx.tasksOfAgent(agent.id)) ctx.removeTask(task);
    ctx.allocator.removeAgent(agent.id);
    ctx.agents.delete(agent.id);
    ctx.silentSince.delete(agent.id);
    ctx.changes.push({ kind: "agent", id: agent.id, value: null });
  }
}

function markUnreachable(ctx: MasterContext, agent: AgentRecord): void {
  const now = ctx.now();
  const conn = ctx.agentConnections.get(agent.id);
  if (conn) {
    ctx.outbox.push({
      to: "close_agent",
      agentId: agent.id,
      streamId: conn.streamId,
      error: "Agent missed its heartbeats and was marked unreachable",
    });
    ctx.agentConnections.delete(agent.id);
  }
  ctx.allocator.deactivateAgent(agent.id);
  for (const offer of ctx.offers.forAgent(agent.id)) rescindOffer(ctx, offer);
  ctx.putAgent({ ...agent, unreachableTime: now });
  for (const task of ctx.tasksOfAgent(agent.id)) {
    if (isTerminalState(task.state)) continue;
    const framework = ctx.frameworks.get(task.frameworkId);
    const aware = isPartitionAware(framework);
    const status = masterStatus(ctx, { taskId: task.info.task_id.value, agentId: agent.id }, {
      state: aware ? "TASK_UNREACHABLE" : "TASK_LOST",
      reason: "REASON_AGENT_DISCONNECTED",
      message: `Agent "${agent.info.hostname}" has been silent for over ${
        agentTimeoutMs(ctx.options) / 1000
      } s (${ctx.options.maxAgentPingTimeouts} missed pings)`,
      unreachable_time: { nanoseconds: now * 1_000_000 },
    });
    // Kept as UNREACHABLE (not terminal) so that it can come back when the agent does.
    ctx.putTask({ ...task, state: "TASK_UNREACHABLE", statuses: withStatus(task, status) });
    ctx.sendToFramework(task.frameworkId, { type: "UPDATE", update: { status } });
  }
}

/** Ends a task with a master-made terminal status and returns its resources. */
function terminate(ctx: MasterContext, task: TaskRecord, status: TaskStatus): void {
  ctx.allocator.recover({
    frameworkId: task.frameworkId,
    role: task.role,
    agentId: task.agentId,
    resources: Resources.fromMesos(task.resources),
  });
  ctx.sendToFramework(task.frameworkId, { type: "UPDATE", update: { status } });
  ctx.removeTask({ ...task, state: status.state, statuses: withStatus(task, status) });
}

/**
 * Refuses a call as agent `agentId` from another principal than the one it registered as
 * (when the master authenticates). An agent registered before authentication was turned on is
 * bound by its first authenticated call.
 */
export function requireAgentPrincipal(
  ctx: MasterContext,
  agentId: string,
  principal: string | undefined,
): void {
  const agent = ctx.agents.get(agentId);
  if (!ctx.authorizer.authenticating || agent?.principal === undefined) return;
  if (agent.principal === principal) return;
  throw new TenderError(
    "forbidden",
    `Agent "${agentId}" is registered by principal "${agent.principal}"; ` +
      (principal === undefined
        ? "an unauthenticated caller may not act as it"
        : `principal "${principal}" may not act as it`),
  );
}

function requireConnectedAgent(ctx: MasterContext, agentId: string) {
  if (!ctx.agents.has(agentId)) throw badRequest(`Agent "${agentId}" is unknown`);
  const conn = ctx.agentConnections.get(agentId);
  if (!conn) {
    throw new TenderError("forbidden", `Agent "${agentId}" is not subscribed; subscribe first`);
  }
  return conn;
}
