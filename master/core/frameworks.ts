/** Framework lifecycle: subscribe, failover, disconnect, teardown. */
import type { FrameworkInfo, TaskStatus } from "../../protocol/mod.ts";
import { forbidden } from "../../security/mod.ts";
import { badRequest, checkRecordSize, pathSafeId, TenderError } from "../../base/mod.ts";
import { isTerminalState, Resources } from "../../protocol/mod.ts";
import type { MasterContext } from "./context.ts";
import { withdrawOffers } from "./offers.ts";
import type { FrameworkRecord, TaskRecord } from "./records.ts";
import { withStatus } from "./records.ts";

/** What a successful SUBSCRIBE gives the shell. */
export interface Subscription {
  frameworkId: string;
  resubscribed: boolean;
}

/** The roles a framework asks for (MULTI_ROLE: `roles`, else `role`, default "*"). */
export function rolesOf(info: FrameworkInfo): string[] {
  const multi = info.capabilities?.some((c) => c.type === "MULTI_ROLE") ?? false;
  if (multi && info.roles && info.roles.length > 0) return [...new Set(info.roles)];
  return [info.role ?? "*"];
}

/** Whether the framework understands TASK_UNREACHABLE and friends. */
export function isPartitionAware(framework: FrameworkRecord | undefined): boolean {
  return framework?.info.capabilities?.some((c) => c.type === "PARTITION_AWARE") ?? false;
}

/**
 * Subscribes (or re-subscribes) a scheduler on a new stream. Throws a 400 error naming the
 * problem for an invalid request; changes nothing then.
 */
export function subscribe(
  ctx: MasterContext,
  request: {
    info: FrameworkInfo;
    frameworkId?: string;
    suppressedRoles?: string[];
    streamId: string;
    /** The principal the request authenticated as (undefined: none). */
    principal?: string;
  },
): Subscription {
  const info = withPrincipal(ctx, request.info, request.principal);
  const claimed = request.frameworkId ?? info.id?.value;
  if (claimed !== undefined) pathSafeId("framework id", claimed);
  checkRecordSize("'framework_info'", info);
  if (request.frameworkId && info.id && request.frameworkId !== info.id.value) {
    throw badRequest(
      `'framework_id' ("${request.frameworkId}") differs from 'framework_info.id' ("${info.id.value}")`,
    );
  }
  if (claimed && ctx.removedFrameworks.has(claimed)) {
    throw badRequest(`Framework "${claimed}" has been removed; subscribe without an id`);
  }
  if (info.user === "") throw badRequest("'framework_info.user' must not be empty");
  const roles = rolesOf(info);
  const now = ctx.now();
  const existing = claimed ? ctx.frameworks.get(claimed) : undefined;
  if (existing && existing.info.principal !== info.principal) {
    // The framework id is public (Marathon shows it at /v2/info): it is bound to the principal
    // that registered it, or anyone could fail the framework over and tear it down.
    throw new TenderError(
      "forbidden",
      `Framework "${claimed}" is registered by ${principalText(existing.info.principal)}; ` +
        `it cannot be subscribed to as ${principalText(info.principal)} (a framework's ` +
        "principal cannot change: tear it down with the operator's TEARDOWN and register anew)",
    );
  }
  for (const role of roles) {
    if (!ctx.authorizer.allows("register_frameworks", info.principal, role)) {
      throw forbidden("register_frameworks", info.principal, role);
    }
  }
  const id = claimed ?? ctx.nextFrameworkId();
  const old = ctx.frameworkConnections.get(id);
  if (old) {
    ctx.outbox.push({
      to: "close_framework",
      frameworkId: id,
      streamId: old.streamId,
      error: "Framework failed over",
    });
  }
  const record: FrameworkRecord = {
    id,
    info: { ...info, id: { value: id } },
    roles,
    registeredTime: existing?.registeredTime ?? now,
    reregisteredTime: existing ? now : undefined,
    disconnectedTime: undefined,
    suppressedRoles: request.suppressedRoles ?? [],
  };
  ctx.putFramework(record);
  ctx.frameworkConnections.set(id, { streamId: request.streamId, lastSeen: now });
  // The old stream's offers mean nothing to the new one.
  withdrawOffers(ctx, ctx.offers.forFramework(id));
  ctx.allocator.addFramework(id, {
    roles,
    suppressedRoles: record.suppressedRoles,
    active: true,
  });
  ctx.allocator.activateFramework(id);
  ctx.sendToFramework(id, {
    type: "SUBSCRIBED",
    subscribed: {
      framework_id: { value: id },
      heartbeat_interval_seconds: ctx.options.heartbeatIntervalMs / 1000,
      master_info: {
        id: ctx.masterId,
        hostname: ctx.options.hostname,
        port: ctx.options.port,
      },
    },
  });
  // Updates the framework missed while away: the agent would resend them, but not at once.
  for (const task of ctx.tasksOfFramework(id)) {
    const latest = task.statuses[task.statuses.length - 1];
    if (task.pendingUuid && latest) {
      ctx.sendToFramework(id, { type: "UPDATE", update: { status: latest } });
    }
  }
  ctx.wantAllocation();
  return { frameworkId: id, resubscribed: existing !== undefined };
}

/**
 * The framework's info with its principal checked against the authenticated one: a different
 * claimed principal is refused, an absent one is filled in (as Mesos does with
 * `--authenticate_frameworks`); without authentication the claimed one is kept (then bound).
 */
function withPrincipal(
  ctx: MasterContext,
  info: FrameworkInfo,
  authenticated: string | undefined,
): FrameworkInfo {
  if (authenticated === undefined) {
    // Where principals can be proven, an unproven claim to one is not taken on trust.
    if (ctx.authorizer.authenticating && info.principal !== undefined) {
      throw new TenderError(
        "unauthorized",
        `'framework_info.principal' ("${info.principal}") needs the request to authenticate ` +
          "as that principal",
      );
    }
    return info;
  }
  if (info.principal !== undefined && info.principal !== authenticated) {
    throw new TenderError(
      "forbidden",
      `'framework_info.principal' ("${info.principal}") differs from the authenticated ` +
        `principal "${authenticated}"`,
    );
  }
  return { ...info, principal: authenticated };
}

function principalText(principal: string | undefined): string {
  return principal === undefined ? "no principal" : `principal "${principal}"`;
}

/** The scheduler's stream closed: offers are rescinded and the failover timeout starts. */
export function disconnect(ctx: MasterContext, frameworkId: string, streamId: string): void {
  const conn = ctx.frameworkConnections.get(frameworkId);
  const framework = ctx.frameworks.get(frameworkId);
  if (!conn || conn.streamId !== streamId || !framework) return;
  ctx.frameworkConnections.delete(frameworkId);
  withdrawOffers(ctx, ctx.offers.forFramework(frameworkId));
  ctx.allocator.deactivateFramework(frameworkId);
  ctx.putFramework({ ...framework, disconnectedTime: ctx.now() });
}

/** Removes frameworks whose failover timeout has passed. */
export function expireFailovers(ctx: MasterContext): void {
  const now = ctx.now();
  for (const framework of [...ctx.frameworks.values()]) {
    if (framework.disconnectedTime === undefined) continue;
    const timeoutMs = (framework.info.failover_timeout ?? 0) * 1000;
    if (now >= framework.disconnectedTime + timeoutMs) teardown(ctx, framework.id);
  }
}

/** Removes a framework: its tasks are killed, its offers withdrawn, its stream closed. */
export function teardown(ctx: MasterContext, frameworkId: string): void {
  const framework = ctx.frameworks.get(frameworkId);
  if (!framework) return;
  withdrawOffers(ctx, ctx.offers.forFramework(frameworkId));
  const agents = new Set<string>();
  for (const task of ctx.tasksOfFramework(frameworkId)) {
    agents.add(task.agentId);
    if (isTerminalState(task.state)) {
      ctx.removeTask(task);
      continue;
    }
    ctx.allocator.recover({
      frameworkId,
      role: task.role,
      agentId: task.agentId,
      resources: Resources.fromMesos(task.resources),
    });
    // The agent kills it (SHUTDOWN_FRAMEWORK below) and nobody is left to hear of it: it is
    // recorded as killed, as Mesos does, not kept in its last state among completed tasks.
    const status = masterStatus(ctx, { taskId: task.info.task_id.value, agentId: task.agentId }, {
      state: "TASK_KILLED",
      reason: "REASON_FRAMEWORK_REMOVED",
      message: `Framework "${frameworkId}" was removed`,
    });
    ctx.removeTask({ ...task, state: "TASK_KILLED", statuses: withStatus(task, status) });
  }
  for (const agentId of agents) {
    ctx.sendToAgent(agentId, {
      type: "SHUTDOWN_FRAMEWORK",
      shutdown_framework: { framework_id: { value: frameworkId } },
    });
    ctx.wantAllocation(agentId);
  }
  if (ctx.frameworkConnections.has(frameworkId)) {
    ctx.outbox.push({ to: "close_framework", frameworkId });
    ctx.frameworkConnections.delete(frameworkId);
  }
  ctx.allocator.removeFramework(frameworkId);
  ctx.deleteFramework(frameworkId);
}

/** A status the master itself makes (reconciliation, loss): unreliable, so no uuid. */
export function masterStatus(
  ctx: MasterContext,
  task: Pick<TaskRecord, "agentId"> & { taskId: string },
  fields: Pick<TaskStatus, "state"> & Partial<TaskStatus>,
): TaskStatus {
  return {
    task_id: { value: task.taskId },
    agent_id: task.agentId ? { value: task.agentId } : undefined,
    source: "SOURCE_MASTER",
    timestamp: ctx.now() / 1000,
    ...fields,
  };
}
