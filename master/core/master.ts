/**
 * The master's pure core: named operations over its books. It performs no I/O; after each
 * operation the shell takes `drain()` — the records to persist, then the events to send —
 * and persists before it acknowledges anything.
 */
import type { AgentCall, Call, MachineId } from "../../protocol/mod.ts";
import type { Clock, Ids } from "../../base/mod.ts";
import { isTerminalState, Resources } from "../../protocol/mod.ts";
import { TenderError } from "../../base/mod.ts";
import {
  accept,
  acknowledge,
  decline,
  kill,
  reconcile,
  sendDueKills,
  setSuppressed,
  shutdownExecutor,
} from "./calls.ts";
import type { Authorizer, Change, MasterOptions, Outgoing } from "./context.ts";
import { agentTimeoutMs, MasterContext } from "./context.ts";
import type { MasterView } from "./master_view.ts";
import { disconnect, expireFailovers, subscribe, teardown } from "./frameworks.ts";
import {
  disconnectAgent,
  expireAgents,
  forgetGoneAgents,
  heartbeat,
  recordUpdate,
  requireAgentPrincipal,
  subscribeAgent,
} from "./agents.ts";
import { drainAgent, markAgentGone, reactivateAgent } from "./maintenance.ts";
import { allocate, rescindOffer } from "./offers.ts";
import { operateOnAgent, type ResourceOperation } from "./reservations.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "./records.ts";
import type { MaintenanceRecord, MaintenanceSchedule } from "./machines.ts";
import {
  answerInverseOffers,
  refuseIfDown,
  sendInverseOffers,
  startMaintenance,
  stopMaintenance,
  updateSchedule,
} from "./maintenance_schedule.ts";
import { type QuotaRecord, updateQuota, updateWeights, type WeightRecord } from "./roles.ts";

/** What the store gives back on start-up. */
export interface Snapshot {
  agents: AgentRecord[];
  frameworks: FrameworkRecord[];
  tasks: TaskRecord[];
  removedFrameworks: string[];
  /** Agent ids marked gone (MARK_AGENT_GONE). */
  goneAgents?: string[];
  /** Roles' quotas and weights (UPDATE_QUOTA, UPDATE_WEIGHTS). */
  quotas?: QuotaRecord[];
  weights?: WeightRecord[];
  /** The maintenance schedule and the machines down. */
  maintenance?: MaintenanceRecord;
}

/**
 * The core as an operator call sees it inside `MasterRuntime.operator()`: named operations and
 * the read-only `view`; not the books themselves, nor the shell's `recover`/`drain`.
 */
export type MasterOperations = Omit<Master, "ctx" | "recover" | "drain">;

/** The master core. One instance per master process; not thread-safe (the shell serialises). */
export class Master {
  readonly ctx: MasterContext;

  constructor(deps: { clock: Clock; ids: Ids; authorizer?: Authorizer }, options: MasterOptions) {
    this.ctx = new MasterContext(deps, options);
  }

  get id(): string {
    return this.ctx.masterId;
  }

  /** The books, read-only (what the HTTP, dashboard and metrics layers get). */
  get view(): MasterView {
    return this.ctx;
  }

  /**
   * Loads the books from a snapshot. Every framework starts disconnected (its failover
   * timeout runs from when it was last connected, or from now); every agent gets the
   * re-register timeout to come back.
   */
  recover(snapshot: Snapshot): void {
    const { ctx } = this;
    const now = ctx.now();
    for (const id of snapshot.removedFrameworks) ctx.removedFrameworks.add(id);
    for (const id of snapshot.goneAgents ?? []) ctx.goneAgents.add(id);
    for (const quota of snapshot.quotas ?? []) {
      ctx.quotas.set(quota.role, quota);
      ctx.allocator.setQuota(quota.role, quota);
    }
    for (const { role, weight } of snapshot.weights ?? []) {
      ctx.weights.set(role, weight);
      ctx.allocator.setWeight(role, weight);
    }
    if (snapshot.maintenance) ctx.maintenance.record = snapshot.maintenance;
    for (const agent of snapshot.agents) {
      ctx.agents.set(agent.id, agent);
      ctx.allocator.addAgent({
        id: agent.id,
        hostname: agent.info.hostname,
        total: Resources.fromMesos(agent.info.resources),
        attributes: agent.info.attributes,
      });
      ctx.allocator.deactivateAgent(agent.id);
      const grace = ctx.options.agentReregisterTimeoutMs - agentTimeoutMs(ctx.options);
      ctx.silentSince.set(agent.id, now + grace);
    }
    for (const framework of snapshot.frameworks) {
      const record = { ...framework, disconnectedTime: framework.disconnectedTime ?? now };
      ctx.frameworks.set(record.id, record);
      ctx.allocator.addFramework(record.id, {
        roles: record.roles,
        suppressedRoles: record.suppressedRoles,
        active: false,
      });
    }
    for (const task of snapshot.tasks) {
      ctx.putTask(task);
      if (!isTerminalState(task.state) && ctx.agents.has(task.agentId)) {
        ctx.allocator.allocate(
          task.frameworkId,
          task.role,
          task.agentId,
          Resources.fromMesos(task.resources),
        );
      }
    }
    ctx.changes.length = 0;
  }

  /**
   * SUBSCRIBE from a scheduler, on a stream the shell has opened with `streamId`; `principal`
   * is the one the request authenticated as (undefined: none).
   */
  subscribeFramework(
    call: Extract<Call, { type: "SUBSCRIBE" }>,
    streamId: string,
    principal?: string,
  ): string {
    return subscribe(this.ctx, {
      info: call.subscribe.framework_info,
      frameworkId: call.framework_id?.value,
      suppressedRoles: call.subscribe.suppressed_roles,
      streamId,
      principal,
    }).frameworkId;
  }

  /**
   * Any other scheduler call, from a subscribed framework on its current stream; an
   * authenticated call must come from the framework's principal.
   */
  schedulerCall(
    call: Exclude<Call, { type: "SUBSCRIBE" }>,
    streamId: string | null,
    principal?: string,
  ): void {
    const { ctx } = this;
    const frameworkId = call.framework_id.value;
    const framework = ctx.frameworks.get(frameworkId);
    if (!framework) {
      throw new TenderError("bad_request", `Framework "${frameworkId}" cannot be found`);
    }
    if (principal !== undefined && framework.info.principal !== principal) {
      throw new TenderError(
        "forbidden",
        `Principal "${principal}" may not call for framework "${frameworkId}" ` +
          `(registered by ${
            framework.info.principal === undefined
              ? "no principal"
              : `"${framework.info.principal}"`
          })`,
      );
    }
    const conn = ctx.frameworkConnections.get(frameworkId);
    if (!conn) {
      throw new TenderError("forbidden", `Framework "${frameworkId}" is not subscribed`);
    }
    if (streamId === null) throw new TenderError("bad_request", "Missing 'Mesos-Stream-Id' header");
    if (streamId !== conn.streamId) {
      throw new TenderError(
        "bad_request",
        `The stream ID "${streamId}" included in this request did not match the stream ID currently associated with framework ID ${frameworkId}`,
      );
    }
    conn.lastSeen = ctx.now();
    switch (call.type) {
      case "ACCEPT":
        return accept(ctx, call);
      case "DECLINE":
        return decline(ctx, frameworkId, call.decline);
      case "KILL":
        return kill(ctx, frameworkId, call.kill);
      case "ACKNOWLEDGE":
        return acknowledge(ctx, call);
      case "RECONCILE":
        return reconcile(ctx, call);
      case "ACCEPT_INVERSE_OFFERS":
      case "DECLINE_INVERSE_OFFERS": {
        const answer = call.type === "ACCEPT_INVERSE_OFFERS"
          ? call.accept_inverse_offers
          : call.decline_inverse_offers;
        return answerInverseOffers(ctx, frameworkId, {
          ids: answer.inverse_offer_ids.map((id) => id.value),
          status: call.type === "ACCEPT_INVERSE_OFFERS" ? "ACCEPT" : "DECLINE",
          refuseSeconds: answer.filters?.refuse_seconds,
        });
      }
      case "REVIVE":
        return setSuppressed(ctx, frameworkId, { suppress: false, roles: call.revive.roles });
      case "SUPPRESS":
        return setSuppressed(ctx, frameworkId, { suppress: true, roles: call.suppress.roles });
      case "SHUTDOWN":
        return shutdownExecutor(ctx, call);
      case "TEARDOWN":
        return teardown(ctx, frameworkId);
      case "MESSAGE":
      case "REQUEST":
        // Tender's built-in executors take no messages; the allocator takes no requests.
        return;
    }
  }

  /** The scheduler's stream ended. */
  frameworkDisconnected(frameworkId: string, streamId: string): void {
    disconnect(this.ctx, frameworkId, streamId);
  }

  /**
   * SUBSCRIBE from an agent on a stream with `streamId`, connected from `remoteIp`; returns the
   * agent id. The agent is known by the address it advertises, else by `remoteIp`.
   */
  subscribeAgent(
    call: Extract<AgentCall, { type: "SUBSCRIBE" }>,
    streamId: string,
    remoteIp?: string,
    principal?: string,
  ): string {
    const ip = call.subscribe.advertise_ip ?? remoteIp;
    refuseIfDown(this.ctx, { info: call.subscribe.agent_info, ip });
    return subscribeAgent(this.ctx, {
      info: call.subscribe.agent_info,
      tasks: call.subscribe.tasks,
      clusterId: call.subscribe.cluster_id,
      streamId,
      ip,
      scheme: call.subscribe.scheme,
      principal,
    });
  }

  /** UPDATE or HEARTBEAT from an agent (authenticated as `principal`, if at all). */
  agentCall(call: Exclude<AgentCall, { type: "SUBSCRIBE" }>, principal?: string): void {
    requireAgentPrincipal(this.ctx, call.agent_id.value, principal);
    // Any call is a sign of life: a busy agent's updates count as much as its heartbeats.
    heartbeat(this.ctx, call.agent_id.value);
    if (call.type === "HEARTBEAT") return;
    recordUpdate(this.ctx, call.agent_id.value, {
      frameworkId: call.update.framework_id.value,
      status: call.update.status,
    });
  }

  /**
   * DRAIN_AGENT: no more offers from it; its tasks are killed, grace capped at
   * `maxGracePeriodNs`; with `markGone`, it is marked gone once drained.
   */
  drainAgent(
    agentId: string,
    options: { maxGracePeriodNs?: number; markGone?: boolean } = {},
  ): void {
    drainAgent(this.ctx, agentId, options);
  }

  /** MARK_AGENT_GONE: the agent is removed for good, its tasks gone; its id is refused after. */
  markAgentGone(agentId: string): void {
    markAgentGone(this.ctx, agentId);
  }

  /**
   * RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES: the operations
   * applied in order to the agent's unallocated resources, by `principal` (see
   * `core/reservations.ts`).
   */
  operateOnAgent(
    agentId: string,
    options: { ops: ResourceOperation[]; principal: string | undefined },
  ): void {
    operateOnAgent(this.ctx, { agentId, ...options });
  }

  /** REACTIVATE_AGENT. */
  reactivateAgent(agentId: string): void {
    reactivateAgent(this.ctx, agentId);
  }

  /** UPDATE_QUOTA: sets roles' quotas (guarantees the cluster can hold, unless `force`). */
  updateQuota(request: { force: boolean; configs: readonly QuotaRecord[] }): void {
    updateQuota(this.ctx, request);
  }

  /** UPDATE_WEIGHTS: sets roles' weights. */
  updateWeights(infos: readonly WeightRecord[]): void {
    updateWeights(this.ctx, infos);
  }

  /** UPDATE_MAINTENANCE_SCHEDULE: replaces the schedule; its machines are DRAINING. */
  updateMaintenanceSchedule(schedule: MaintenanceSchedule): void {
    updateSchedule(this.ctx, schedule);
  }

  /** START_MAINTENANCE: the machines go DOWN (their agents' tasks are killed). */
  startMaintenance(machines: readonly MachineId[]): void {
    startMaintenance(this.ctx, machines);
  }

  /** STOP_MAINTENANCE: the machines come back UP and leave the schedule. */
  stopMaintenance(machines: readonly MachineId[]): void {
    stopMaintenance(this.ctx, machines);
  }

  /** The operator's TEARDOWN: the framework's tasks are killed and it is removed. */
  teardownFramework(frameworkId: string): void {
    teardown(this.ctx, frameworkId);
  }

  /** The agent's stream ended. */
  agentDisconnected(agentId: string, streamId: string): void {
    disconnectAgent(this.ctx, agentId, streamId);
  }

  /**
   * Timer work, called often by the shell: stale offers, silent agents, expired failovers,
   * and an allocation run (over everything when `batch`, else over pending candidates).
   */
  tick(options: { batch: boolean }): void {
    const { ctx } = this;
    if (ctx.options.offerTimeoutMs > 0) {
      for (const offer of ctx.offers.expired(ctx.now(), ctx.options.offerTimeoutMs)) {
        rescindOffer(ctx, offer);
      }
    }
    sendDueKills(ctx);
    expireAgents(ctx);
    forgetGoneAgents(ctx);
    expireFailovers(ctx);
    allocate(ctx, options.batch);
    sendInverseOffers(ctx);
  }

  /** Runs an allocation over the agents whose resources changed, if any. */
  allocatePending(): void {
    allocate(this.ctx);
  }

  /** Takes the records to persist and the messages to send, in order. */
  drain(): { changes: Change[]; outbox: Outgoing[] } {
    const changes = this.ctx.changes.splice(0);
    const outbox = this.ctx.outbox.splice(0);
    return { changes, outbox };
  }
}
