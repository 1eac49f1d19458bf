/** Turning allocations into offers, and taking offers back. */
import type { Offer } from "../../protocol/mod.ts";
import type { Resources } from "../../protocol/mod.ts";
import type { OfferRecord } from "../allocator/offer_book.ts";
import type { MasterContext } from "./context.ts";
import { machineOfAgent } from "./machines.ts";
import type { AgentRecord } from "./records.ts";

/** Runs the allocator over the pending candidates and sends the resulting offers. */
export function allocate(ctx: MasterContext, everything = false): number {
  const all = everything || ctx.allocateAll;
  if (!all && ctx.allocationCandidates.size === 0) return 0;
  const allocations = ctx.allocator.run(
    ctx.now(),
    all ? undefined : [...ctx.allocationCandidates],
  );
  ctx.allocateAll = false;
  ctx.allocationCandidates.clear();
  const byFramework = new Map<string, Offer[]>();
  for (const a of allocations) {
    const agent = ctx.agents.get(a.agentId);
    if (!agent || !ctx.frameworkConnections.has(a.frameworkId)) {
      ctx.allocator.recover(a);
      continue;
    }
    const record: OfferRecord = {
      id: ctx.nextOfferId(),
      frameworkId: a.frameworkId,
      agentId: a.agentId,
      role: a.role,
      resources: a.resources,
      createdAt: ctx.now(),
    };
    ctx.offers.add(record);
    let list = byFramework.get(a.frameworkId);
    if (!list) byFramework.set(a.frameworkId, list = []);
    list.push(offerMessage(ctx, record));
  }
  for (const [frameworkId, offers] of byFramework) {
    ctx.counters.offersSent += offers.length;
    ctx.sendToFramework(frameworkId, { type: "OFFERS", offers: { offers } });
  }
  return allocations.length;
}

/** Where an agent is reached, as Mesos puts it in offers and inverse offers (`url`). */
export function agentUrl(agent: AgentRecord): NonNullable<Offer["url"]> {
  return {
    scheme: agent.scheme ?? "http",
    address: {
      hostname: agent.info.hostname,
      ...(agent.ip !== undefined ? { ip: agent.ip } : {}),
      port: agent.info.port,
    },
    path: "/slave(1)",
  };
}

/** The Mesos `Offer` message for an outstanding offer. */
export function offerMessage(ctx: MasterContext, offer: OfferRecord): Offer {
  const agent = ctx.agents.get(offer.agentId)!;
  return {
    id: { value: offer.id },
    framework_id: { value: offer.frameworkId },
    agent_id: { value: offer.agentId },
    hostname: agent.info.hostname,
    url: agentUrl(agent),
    resources: offer.resources.toMesos(offer.role),
    attributes: agent.info.attributes,
    executor_ids: [],
    allocation_info: { role: offer.role },
    ...unavailabilityOf(ctx, agent),
  };
}

/** An offer of an agent on a machine in the maintenance schedule says when it goes away. */
function unavailabilityOf(ctx: MasterContext, agent: AgentRecord): Pick<Offer, "unavailability"> {
  const machine = machineOfAgent(ctx, agent);
  return machine ? { unavailability: machine.unavailability } : {};
}

/** Withdraws an outstanding offer: its resources go back, and the framework is told. */
export function rescindOffer(ctx: MasterContext, offer: OfferRecord): void {
  if (!ctx.offers.take(offer.id)) return;
  ctx.allocator.recover({
    frameworkId: offer.frameworkId,
    role: offer.role,
    agentId: offer.agentId,
    resources: offer.resources,
  });
  ctx.counters.offersRescinded += 1;
  ctx.sendToFramework(offer.frameworkId, {
    type: "RESCIND",
    rescind: { offer_id: { value: offer.id } },
  });
  ctx.wantAllocation(offer.agentId);
}

/**
 * Takes offers back without telling the framework (its stream is gone, or it is being
 * removed): their resources return to the pool.
 */
export function withdrawOffers(ctx: MasterContext, offers: readonly OfferRecord[]): void {
  for (const offer of offers) {
    if (!ctx.offers.take(offer.id)) continue;
    ctx.allocator.recover({
      frameworkId: offer.frameworkId,
      role: offer.role,
      agentId: offer.agentId,
      resources: offer.resources,
    });
    ctx.wantAllocation(offer.agentId);
  }
}

/** Returns an offer's resources to the pool, filtered from this framework until `refuseUntil`. */
export function returnOffer(
  ctx: MasterContext,
  offer: OfferRecord,
  unused: Resources,
  refuseUntil?: number,
): void {
  if (unused.isEmpty()) return;
  ctx.allocator.recover(
    { frameworkId: offer.frameworkId, role: offer.role, agentId: offer.agentId, resources: unused },
    refuseUntil === undefined ? undefined : { refuseUntil },
  );
  ctx.wantAllocation(offer.agentId);
}

/** The refuse deadline for a DECLINE or the unused part of an ACCEPT (Mesos: default 5 s). */
export function refuseUntil(ctx: MasterContext, refuseSeconds: number | undefined): number {
  const seconds = refuseSeconds === undefined || refuseSeconds < 0
    ? 5
    : Math.min(refuseSeconds, 31_536_000);
  return ctx.now() + Math.max(seconds * 1000, ctx.options.allocationIntervalMs);
}
