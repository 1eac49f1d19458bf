/**
 * Maintenance schedules, as Mesos' UPDATE_MAINTENANCE_SCHEDULE, START_MAINTENANCE and
 * STOP_MAINTENANCE: a machine in the schedule is DRAINING (its agents' offers carry the
 * `unavailability`, and frameworks holding resources there get inverse offers, which they
 * accept or decline); START_MAINTENANCE takes machines DOWN (their agents' tasks are killed,
 * they get no offers and may not register); STOP_MAINTENANCE brings them back UP and out of
 * the schedule. The schedule and the machines down are durable; inverse offers and answers
 * are not (as in Mesos: a new master asks again).
 */
import { badRequest, checkRecordSize, TenderError } from "../../base/mod.ts";
import {
  type InverseOffer,
  isTerminalState,
  type MachineId,
  type Unavailability,
} from "../../protocol/mod.ts";
import { kill } from "./calls.ts";
import type { MasterContext } from "./context.ts";
import type { MasterView } from "./master_view.ts";
import {
  type InverseOfferAnswer,
  machineKey,
  machineOfAgent,
  type MaintenanceSchedule,
  matches,
} from "./machines.ts";
import { agentUrl, refuseUntil, rescindOffer } from "./offers.ts";
import type { AgentRecord } from "./records.ts";

/** UPDATE_MAINTENANCE_SCHEDULE: replaces the schedule (machines DOWN must stay in it). */
export function updateSchedule(ctx: MasterContext, schedule: MaintenanceSchedule): void {
  const seen = new Set<string>();
  schedule.windows.forEach((window, w) => {
    if (window.machine_ids.length === 0) {
      throw badRequest(`'windows[${w}].machine_ids': a window needs at least one machine`);
    }
    window.machine_ids.forEach((machine, m) => {
      const at = `'windows[${w}].machine_ids[${m}]`;
      if (machine.hostname === undefined && machine.ip === undefined) {
        throw badRequest(`${at}': a machine needs a hostname or an ip`);
      }
      if (machine.ip !== undefined && !isIp(machine.ip)) {
        throw badRequest(`${at}.ip' "${machine.ip}" is not an IP address`);
      }
      const key = machineKey(machine);
      if (seen.has(key)) {
        throw badRequest(`${at}': machine ${describe(machine)} is in more than one window`);
      }
      seen.add(key);
    });
  });
  // The schedule is one stored record: one the store cannot hold is refused before anything changes.
  checkRecordSize("'schedule'", { ...ctx.maintenance.record, schedule });
  for (const machine of ctx.maintenance.record.down) {
    if (!seen.has(machineKey(machine))) {
      throw badRequest(
        `Machine ${
          describe(machine)
        } is DOWN: it cannot leave the schedule (STOP_MAINTENANCE first)`,
      );
    }
  }
  const before = affectedAgents(ctx);
  const windowOf = (s: MaintenanceSchedule) =>
    new Map(
      s.windows.flatMap((w) =>
        w.machine_ids.map((m) => [machineKey(m), JSON.stringify(w.unavailability)] as const)
      ),
    );
  const old = windowOf(ctx.maintenance.record.schedule), next = windowOf(schedule);
  ctx.maintenance.record = { ...ctx.maintenance.record, schedule };
  // A machine that left the schedule or moved to another time is asked (and answered) afresh.
  const unchanged = (key: string) => next.has(key) && next.get(key) === old.get(key);
  for (const key of [...ctx.maintenance.answers.keys()]) {
    if (!unchanged(key)) ctx.maintenance.answers.delete(key);
  }
  for (const [id, io] of ctx.maintenance.inverseOffers) {
    if (!unchanged(io.machine)) rescindInverseOffer(ctx, id);
  }
  // Offers made under the old schedule say the wrong unavailability: take them back.
  for (const agentId of new Set([...before, ...affectedAgents(ctx)])) {
    for (const offer of ctx.offers.forAgent(agentId)) rescindOffer(ctx, offer);
  }
  persist(ctx);
  sendInverseOffers(ctx);
}

/** START_MAINTENANCE: the machines (each DRAINING in the schedule) go DOWN. */
export function startMaintenance(ctx: MasterContext, machines: readonly MachineId[]): void {
  const scheduled = new Set(
    ctx.maintenance.record.schedule.windows.flatMap((w) => w.machine_ids.map(machineKey)),
  );
  const down = new Set(ctx.maintenance.record.down.map(machineKey));
  machines.forEach((machine, i) => {
    const key = machineKey(machine);
    if (!scheduled.has(key)) {
      throw badRequest(`'machines[${i}]': machine ${describe(machine)} is not in the schedule`);
    }
    if (down.has(key)) {
      throw badRequest(`'machines[${i}]': machine ${describe(machine)} is already DOWN`);
    }
  });
  const record = {
    ...ctx.maintenance.record,
    down: [...ctx.maintenance.record.down, ...machines],
  };
  checkRecordSize("'machines'", record);
  ctx.maintenance.record = record;
  const keys = new Set(machines.map(machineKey));
  for (const [id, io] of ctx.maintenance.inverseOffers) {
    if (keys.has(io.machine)) rescindInverseOffer(ctx, id);
  }
  for (const agent of [...ctx.agents.values()]) {
    if (!machines.some((m) => matches(m, agent))) continue;
    ctx.allocator.deactivateAgent(agent.id);
    for (const offer of ctx.offers.forAgent(agent.id)) rescindOffer(ctx, offer);
    ctx.putAgent({ ...agent, deactivated: true });
    for (const task of ctx.tasksOfAgent(agent.id)) {
      if (!isTerminalState(task.state)) kill(ctx, task.frameworkId, { task_id: task.info.task_id });
    }
  }
  persist(ctx);
}

/** STOP_MAINTENANCE: the machines (each DOWN) come back UP and leave the schedule. */
export function stopMaintenance(ctx: MasterContext, machines: readonly MachineId[]): void {
  const down = new Set(ctx.maintenance.record.down.map(machineKey));
  machines.forEach((machine, i) => {
    if (!down.has(machineKey(machine))) {
      throw badRequest(`'machines[${i}]': machine ${describe(machine)} is not DOWN`);
    }
  });
  const keys = new Set(machines.map(machineKey));
  const windows = ctx.maintenance.record.schedule.windows
    .map((w) => ({ ...w, machine_ids: w.machine_ids.filter((m) => !keys.has(machineKey(m))) }))
    .filter((w) => w.machine_ids.length > 0);
  ctx.maintenance.record = {
    schedule: { windows },
    down: ctx.maintenance.record.down.filter((m) => !keys.has(machineKey(m))),
  };
  for (const key of keys) ctx.maintenance.answers.delete(key);
  for (const agent of [...ctx.agents.values()]) {
    if (!machines.some((m) => matches(m, agent)) || agent.drain !== undefined) continue;
    ctx.putAgent({ ...agent, deactivated: false });
    if (ctx.agentConnections.has(agent.id)) ctx.allocator.activateAgent(agent.id);
    ctx.wantAllocation(agent.id);
  }
  persist(ctx);
}

/** Refuses an agent that would register on a machine that is DOWN (403). */
export function refuseIfDown(
  ctx: MasterContext,
  agent: { info: { hostname: string }; ip?: string },
) {
  const machine = machineOfAgent(ctx, agent);
  if (!machine?.down) return;
  throw new TenderError(
    "forbidden",
    `Agent "${agent.info.hostname}" is on machine ${
      describe(machine.machine)
    }, which is DOWN for maintenance: it may register once STOP_MAINTENANCE brings it up`,
  );
}

/**
 * ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS: records the framework's answer for each
 * machine. Ids that are unknown or not the framework's are ignored, as Mesos ignores them.
 */
export function answerInverseOffers(
  ctx: MasterContext,
  frameworkId: string,
  answer: { ids: readonly string[]; status: "ACCEPT" | "DECLINE"; refuseSeconds?: number },
): void {
  for (const id of answer.ids) {
    const io = ctx.maintenance.inverseOffers.get(id);
    if (!io || io.frameworkId !== frameworkId) continue;
    ctx.maintenance.inverseOffers.delete(id);
    let byFramework = ctx.maintenance.answers.get(io.machine);
    if (!byFramework) ctx.maintenance.answers.set(io.machine, byFramework = new Map());
    byFramework.set(frameworkId, {
      status: answer.status,
      timestamp: ctx.now(),
      ...(answer.status === "DECLINE"
        ? { askAgainAt: refuseUntil(ctx, answer.refuseSeconds) }
        : {}),
    });
  }
}

/**
 * Sends an inverse offer to each connected framework that runs tasks on an agent of a DRAINING
 * machine (one that only holds offers there has them rescinded and offered again with the
 * `unavailability`) and has neither one outstanding for it nor answered for the
 * machine. Called after a schedule change and on every tick (frameworks that reconnect, or
 * start tasks there, are asked too).
 */
export function sendInverseOffers(ctx: MasterContext): void {
  if (ctx.maintenance.record.schedule.windows.length === 0) return;
  // An inverse offer dies with the stream it went out on: a resubscribed framework is asked again.
  for (const [id, io] of ctx.maintenance.inverseOffers) {
    if (ctx.frameworkConnections.get(io.frameworkId)?.streamId !== io.streamId) {
      ctx.maintenance.inverseOffers.delete(id);
    }
  }
  const outstanding = new Set(
    [...ctx.maintenance.inverseOffers.values()].map((io) => `${io.frameworkId}/${io.agentId}`),
  );
  for (const agent of ctx.agents.values()) {
    const machine = machineOfAgent(ctx, agent);
    if (!machine || machine.down) continue;
    const key = machineKey(machine.machine);
    const answered = ctx.maintenance.answers.get(key);
    const frameworks = new Set(
      ctx.tasksOfAgent(agent.id).filter((t) => !isTerminalState(t.state)).map((t) => t.frameworkId),
    );
    for (const frameworkId of frameworks) {
      const conn = ctx.frameworkConnections.get(frameworkId);
      if (!conn) continue;
      if (outstanding.has(`${frameworkId}/${agent.id}`)) continue;
      const answer = answered?.get(frameworkId);
      if (answer && (answer.askAgainAt === undefined || ctx.now() < answer.askAgainAt)) continue;
      const id = `${ctx.nextOfferId()}-I`;
      ctx.maintenance.inverseOffers.set(id, {
        frameworkId,
        agentId: agent.id,
        machine: key,
        sentAt: ctx.now(),
        streamId: conn.streamId,
      });
      ctx.sendToFramework(frameworkId, {
        type: "INVERSE_OFFERS",
        inverse_offers: { inverse_offers: [inverseOffer(agent, id, frameworkId, machine)] },
      });
    }
  }
}

function inverseOffer(
  agent: AgentRecord,
  id: string,
  frameworkId: string,
  machine: { unavailability: Unavailability },
): InverseOffer {
  return {
    id: { value: id },
    url: agentUrl(agent),
    framework_id: { value: frameworkId },
    agent_id: { value: agent.id },
    unavailability: machine.unavailability,
    resources: [],
  };
}

/**
 * GET_MAINTENANCE_STATUS: draining machines with each framework's answer (UNKNOWN while its
 * inverse offer is outstanding), and the machines down.
 */
export function maintenanceStatus(ctx: MasterView) {
  const down = new Set(ctx.maintenance.record.down.map(machineKey));
  const pending = new Map<string, Map<string, number>>();
  for (const io of ctx.maintenance.inverseOffers.values()) {
    let byFramework = pending.get(io.machine);
    if (!byFramework) pending.set(io.machine, byFramework = new Map());
    byFramework.set(io.frameworkId, io.sentAt);
  }
  const draining = ctx.maintenance.record.schedule.windows
    .flatMap((w) => w.machine_ids)
    .filter((m) => !down.has(machineKey(m)))
    .map((id) => {
      const key = machineKey(id);
      const answers = ctx.maintenance.answers.get(key) ?? new Map<string, InverseOfferAnswer>();
      const statuses = [...answers].map(([frameworkId, answer]) => status(frameworkId, answer));
      for (const [frameworkId, sentAt] of pending.get(key) ?? []) {
        if (!answers.has(frameworkId)) {
          statuses.push(status(frameworkId, { status: "UNKNOWN", timestamp: sentAt }));
        }
      }
      return { id, statuses };
    });
  return { draining_machines: draining, down_machines: ctx.maintenance.record.down };
}

function status(frameworkId: string, answer: { status: string; timestamp: number }) {
  return {
    status: answer.status,
    framework_id: { value: frameworkId },
    timestamp: { nanoseconds: answer.timestamp * 1_000_000 },
  };
}

/** Withdraws an outstanding inverse offer and tells its framework (RESCIND_INVERSE_OFFER). */
function rescindInverseOffer(ctx: MasterContext, id: string): void {
  const io = ctx.maintenance.inverseOffers.get(id);
  if (!io) return;
  ctx.maintenance.inverseOffers.delete(id);
  ctx.sendToFramework(io.frameworkId, {
    type: "RESCIND_INVERSE_OFFER",
    rescind_inverse_offer: { inverse_offer_id: { value: id } },
  });
}

/** The agents whose machines are in the schedule. */
function affectedAgents(ctx: MasterContext): string[] {
  return [...ctx.agents.values()].filter((a) => machineOfAgent(ctx, a)).map((a) => a.id);
}

function persist(ctx: MasterContext): void {
  ctx.changes.push({ kind: "maintenance", value: ctx.maintenance.record });
}

function describe(machine: MachineId): string {
  return JSON.stringify({ hostname: machine.hostname, ip: machine.ip });
}

function isIp(text: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split(".").every((p) => Number(p) <= 255);
  return /^[0-9a-fA-F:]+$/.test(text) && text.includes(":");
}
