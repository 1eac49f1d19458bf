/**
 * Reservations and persistent volumes: the offer operations RESERVE, UNRESERVE, CREATE and
 * DESTROY (in an ACCEPT, on offered resources) and the operator calls RESERVE_RESOURCES,
 * UNRESERVE_RESOURCES, CREATE_VOLUMES and DESTROY_VOLUMES (on an agent's free resources),
 * validated as Mesos validates them. Each operation turns some resources (`from`) into others
 * (`to`) on one agent; the allocator's books, the agent's record and the agent's checkpointed
 * resources (sent as CHECKPOINT_RESOURCES) change together.
 */
import type { Resource, ResourceMeta } from "../../protocol/mod.ts";
import {
  applyCheckpointed,
  checkpointedOf,
  isTerminalState,
  reservedRole,
  Resources,
  sourceMeta,
} from "../../protocol/mod.ts";
import { badRequest, pathIdProblem, TenderError } from "../../base/mod.ts";
import { type AclAction, forbidden } from "../../security/mod.ts";
import type { MasterContext } from "./context.ts";
import { rescindOffer } from "./offers.ts";
import { roleNameProblem } from "./roles.ts";

/** The four operations that change what an agent's resources are. */
export type ResourceOperationType = "RESERVE" | "UNRESERVE" | "CREATE" | "DESTROY";

/** One operation with its resources (RESERVE/UNRESERVE) or volumes (CREATE/DESTROY). */
export interface ResourceOperation {
  type: ResourceOperationType;
  resources: Resources;
}

/** What an operation does to an agent's resources. */
export interface Conversion {
  from: Resources;
  to: Resources;
}

/**
 * Who asks. A framework passes the role of the offer its operations apply to (reservations and
 * volumes must be of it); an operator may name any role.
 */
export interface Requester {
  principal: string | undefined;
  offerRole?: string;
}

/**
 * Validates `op` against the agent's books and what it may use (`available`: the offer's rest,
 * or the agent's free resources) and returns what it converts. `volumes` holds the
 * `role\0id` of every volume on the agent, including ones created earlier in the same call
 * (this function adds to it). Throws 400 naming the problem, 403 when the ACLs refuse, 409
 * when `available` does not hold the resources (`insufficient` says how to word it).
 */
export function validateOperation(
  ctx: MasterContext,
  a: {
    agentId: string;
    op: ResourceOperation;
    requester: Requester;
    available: Resources;
    volumes: Set<string>;
    what: string;
    insufficient: "bad_request" | "conflict";
  },
): Conversion {
  const { op, what } = a;
  const parts = op.resources.parts();
  if (parts.length === 0) {
    throw badRequest(`${what}: ${op.type} needs at least one resource`);
  }
  let conversion: Conversion = { from: Resources.empty(), to: Resources.empty() };
  for (const part of parts) {
    const c = convertOne(ctx, { ...a, part });
    conversion = { from: conversion.from.add(c.from), to: conversion.to.add(c.to) };
  }
  if (!a.available.contains(conversion.from)) {
    const message = `${what}: ${op.type} needs ${conversion.from} but only ${a.available} ` +
      `is available on agent "${a.agentId}"`;
    throw a.insufficient === "conflict"
      ? new TenderError("conflict", message)
      : badRequest(message);
  }
  return conversion;
}

function convertOne(
  ctx: MasterContext,
  a: {
    agentId: string;
    op: ResourceOperation;
    requester: Requester;
    volumes: Set<string>;
    what: string;
    part: { name: string; meta: ResourceMeta; resources: Resources };
  },
): Conversion {
  const { op, requester, part } = a;
  const { meta, resources } = part;
  const label = `${a.what}: ${op.type} of ${resources}`;
  const role = reservedRole(meta);
  const top = meta.reservations[meta.reservations.length - 1];
  const principal = requester.principal;
  const checkRole = () => {
    if (role === undefined) throw badRequest(`${label}: the resources are not reserved`);
    if (requester.offerRole !== undefined && role !== requester.offerRole) {
      throw badRequest(
        `${label}: reserved for role "${role}" but the offer is for role "${requester.offerRole}"`,
      );
    }
  };
  const authorize = (action: AclAction, object: string | undefined) => {
    if (!ctx.authorizer.allows(action, principal, object)) {
      throw forbidden(action, principal, object);
    }
  };
  switch (op.type) {
    case "RESERVE": {
      if (meta.disk) throw badRequest(`${label}: a persistent volume cannot be reserved`);
      checkRole();
      for (const r of meta.reservations) {
        const problem = roleNameProblem(r.role);
        if (problem !== undefined) {
          throw badRequest(`${label}: invalid role "${r.role}": ${problem}`);
        }
      }
      if (top!.type !== "DYNAMIC") {
        throw badRequest(`${label}: only DYNAMIC reservations can be made`);
      }
      const below = reservedRole({ reservations: meta.reservations.slice(0, -1) });
      if (below !== undefined && !role!.startsWith(`${below}/`)) {
        throw badRequest(
          `${label}: a refined reservation's role must be nested in "${below}", not "${role}"`,
        );
      }
      if (principal !== undefined && top!.principal !== principal) {
        throw badRequest(
          `${label}: the reservation's principal ${
            JSON.stringify(top!.principal ?? null)
          } is not the requester's ("${principal}")`,
        );
      }
      authorize("reserve_resources", role);
      return { from: resources.withMeta(popReservation), to: resources };
    }
    case "UNRESERVE": {
      checkRole();
      if (meta.disk) {
        throw badRequest(
          `${label}: it holds persistent volume "${meta.disk.persistence.id}"; DESTROY it first`,
        );
      }
      if (top!.type !== "DYNAMIC") {
        throw badRequest(`${label}: statically reserved resources cannot be unreserved`);
      }
      authorize("unreserve_resources", top!.principal);
      return { from: resources, to: resources.withMeta(popReservation) };
    }
    case "CREATE": {
      const disk = meta.disk;
      if (part.name !== "disk" || !disk?.volume) {
        throw badRequest(
          `${label}: a volume is a "disk" resource with disk.persistence and disk.volume`,
        );
      }
      checkRole();
      const id = disk.persistence.id;
      const problem = pathIdProblem(id);
      if (problem !== undefined) {
        throw badRequest(`${label}: invalid persistence id ${JSON.stringify(id)}: ${problem}`);
      }
      if (disk.volume.mode !== "RW") {
        throw badRequest(`${label}: persistent volumes are created read-write (mode RW)`);
      }
      if (principal !== undefined && disk.persistence.principal !== principal) {
        throw badRequest(
          `${label}: the volume's persistence principal ${
            JSON.stringify(disk.persistence.principal ?? null)
          } is not the requester's ("${principal}")`,
        );
      }
      const key = `${role}\u0000${id}`;
      if (a.volumes.has(key)) {
        throw badRequest(
          `${label}: persistence id "${id}" is already used by a volume of role "${role}" on ` +
            `agent "${a.agentId}"`,
        );
      }
      authorize("create_volumes", role);
      a.volumes.add(key);
      return { from: resources.withMeta(dropDisk), to: resources };
    }
    case "DESTROY": {
      const disk = meta.disk;
      if (!disk) throw badRequest(`${label}: it is not a persistent volume`);
      checkRole();
      const id = disk.persistence.id;
      const user = ctx.tasksOfAgent(a.agentId).find((t) =>
        !isTerminalState(t.state) &&
        Resources.fromMesos(t.resources).persistentVolumes().some((v) =>
          v.id === id && v.role === role
        )
      );
      if (user) {
        throw badRequest(
          `${label}: persistent volume "${id}" is in use by task "${user.info.task_id.value}"`,
        );
      }
      authorize("destroy_volumes", disk.persistence.principal);
      a.volumes.delete(`${role}\u0000${id}`);
      return { from: resources, to: resources.withMeta(dropDisk) };
    }
  }
}

function popReservation(meta: ResourceMeta): ResourceMeta {
  const reservations = meta.reservations.slice(0, -1);
  return meta.disk ? { reservations, disk: meta.disk } : { reservations };
}

function dropDisk(meta: ResourceMeta): ResourceMeta {
  return { reservations: meta.reservations };
}

/**
 * Refuses (409) operator reservations that would take a role past its quota limits: what it
 * reserves from unallocated resources adds to what it consumes (Mesos counts reservations
 * toward quota). Offered resources are the role's already: an ACCEPT's RESERVE adds nothing.
 */
function checkQuotaLimits(ctx: MasterContext, conversions: readonly Conversion[]): void {
  const added = new Map<string, Resources>();
  for (const c of conversions) {
    const before = c.from.reservedByRole();
    for (const [role, reserved] of c.to.reservedByRole()) {
      const had = before.get(role) ?? Resources.empty();
      const gained = reserved.names().filter((n) => reserved.kind(n) === "SCALAR");
      let more = Resources.empty();
      for (const name of gained) {
        const delta = reserved.scalar(name) - had.scalar(name);
        if (delta > 0) more = more.add(Resources.scalars({ [name]: delta }));
      }
      added.set(role, (added.get(role) ?? Resources.empty()).add(more));
    }
  }
  for (const [role, more] of added) {
    const limits = ctx.quotas.get(role)?.limits ?? {};
    const consumed = ctx.allocator.consumption(role);
    for (const [name, limit] of Object.entries(limits)) {
      const after = (consumed.get(name) ?? 0) / 1000 + more.scalar(name);
      if (more.scalar(name) > 0 && after > limit) {
        throw new TenderError(
          "conflict",
          `Reserving ${more} for role "${role}" would take its ${name} to ${after}, past its ` +
            `quota limit of ${limit}`,
        );
      }
    }
  }
}

/** The `role\0id` of every persistent volume in an agent's total. */
export function volumeKeys(total: Resources): Set<string> {
  return new Set(total.persistentVolumes().map((v) => `${v.role}\u0000${v.id}`));
}

/**
 * The total a re-registering agent gets, and the checkpointed resources to send it: the master's
 * view of dynamic reservations and volumes wins (Mesos' master re-sends its checkpointed
 * resources to a re-registering agent), because a CHECKPOINT_RESOURCES can be lost to a dropped
 * connection after the operation was acknowledged. The agent's `--resources` stay the base. When
 * that base cannot hold the master's view (an agent refuses to start with `--resources` short of
 * its own checkpoint, so only another agent's store under this id could), the agent's is taken.
 */
export function reregisteredTotal(
  known: readonly Resource[] | undefined,
  reported: readonly Resource[],
): { resources: Resource[]; resend?: Resources } {
  const agentTotal = Resources.fromMesos(reported);
  if (known === undefined) return { resources: [...reported] };
  const ours = checkpointedOf(Resources.fromMesos(known));
  const theirs = checkpointedOf(agentTotal);
  if (ours.equals(theirs)) return { resources: [...reported] };
  const base = agentTotal.subtract(theirs).add(theirs.withMeta(sourceMeta));
  try {
    return { resources: applyCheckpointed(base, ours).toMesos(), resend: ours };
  } catch {
    return { resources: [...reported] };
  }
}

/**
 * Makes an agent's record match the allocator's total after operations, durably, and sends the
 * agent its new checkpointed resources (it persists them and makes or removes volume
 * directories).
 */
export function publishAgentTotal(ctx: MasterContext, agentId: string): void {
  const agent = ctx.agents.get(agentId);
  const total = ctx.allocator.totalOf(agentId);
  if (!agent || !total) return;
  ctx.putAgent({ ...agent, info: { ...agent.info, resources: total.toMesos() } });
  ctx.sendToAgent(agentId, {
    type: "CHECKPOINT_RESOURCES",
    checkpoint_resources: { resources: checkpointedOf(total).toMesos() },
  });
}

/**
 * The operator calls: applies `ops` in order to an agent's unallocated resources (outstanding
 * offers on it count as unallocated: they are rescinded when the call is valid). Throws, with
 * nothing changed, for an unknown or disconnected agent (404/409), an invalid operation (400),
 * a refusal by the ACLs (403) or resources that are in use (409).
 */
export function operateOnAgent(
  ctx: MasterContext,
  a: { agentId: string; ops: ResourceOperation[]; principal: string | undefined },
): void {
  const { agentId } = a;
  if (!ctx.agents.has(agentId)) {
    throw new TenderError("not_found", `Agent "${agentId}" is unknown`);
  }
  if (!ctx.agentConnections.has(agentId)) {
    throw new TenderError(
      "conflict",
      `Agent "${agentId}" is not connected: its resources can change only while it is`,
    );
  }
  const offers = ctx.offers.forAgent(agentId);
  let available = offers.reduce(
    (sum, o) => sum.add(o.resources),
    ctx.allocator.available(agentId),
  );
  const volumes = volumeKeys(ctx.allocator.totalOf(agentId) ?? Resources.empty());
  const conversions: Conversion[] = [];
  a.ops.forEach((op, i) => {
    const c = validateOperation(ctx, {
      agentId,
      op,
      requester: { principal: a.principal },
      available,
      volumes,
      what: a.ops.length > 1 ? `operations[${i}]` : op.type.toLowerCase(),
      insufficient: "conflict",
    });
    available = available.subtract(c.from).add(c.to);
    conversions.push(c);
  });
  checkQuotaLimits(ctx, conversions);
  for (const offer of offers) rescindOffer(ctx, offer);
  for (const c of conversions) {
    if (!ctx.allocator.convertAvailable(agentId, c.from, c.to)) {
      // Validated above against the same books: only a bug gets here.
      throw new TenderError("internal", `Agent "${agentId}" no longer has ${c.from} free`);
    }
  }
  publishAgentTotal(ctx, agentId);
  ctx.wantAllocation(agentId);
}
