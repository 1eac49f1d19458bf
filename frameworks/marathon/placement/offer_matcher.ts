/**
 * The offer matcher: whether one more instance of an app fits an offer (roles, containerizer,
 * constraints, scalar resources, host ports) and, when it does, exactly what to take from it.
 * Pure; "does not fit" is a value with Marathon's reason name first (`InsufficientMemory: …`).
 */
import {
  CONTAINERIZERS_ATTRIBUTE,
  type Offer,
  type Resource,
  resourceMeta,
  Resources,
  runsImages,
} from "../../../protocol/mod.ts";
import { parseConstraints } from "../app/constraint.ts";
import type { App } from "../app/normalize.ts";
import { hostPortRequests } from "../app/ports.ts";
import type { AgentSite } from "./agent_values.ts";
import { constraintsFit } from "./constraints.ts";
import { pickHostPorts } from "./host_ports.ts";
import { takeResources, usableForTasks } from "./take.ts";

/** What to take from an offer for one instance, or why it does not fit. */
export type OfferFit =
  | { ok: true; resources: Resource[]; hostPorts: number[] }
  | { ok: false; reason: string };

const SCALARS: readonly [keyof Pick<App, "cpus" | "mem" | "disk" | "gpus">, string, string][] = [
  ["cpus", "cpus", "InsufficientCpus"],
  ["mem", "mem", "InsufficientMemory"],
  ["disk", "disk", "InsufficientDisk"],
  ["gpus", "gpus", "InsufficientGpus"],
];

/** The site (hostname, attributes) an offer comes from. */
export function offerSite(offer: Offer): AgentSite {
  return { hostname: offer.hostname, attributes: offer.attributes };
}

/**
 * Whether one instance of `app` fits `offer`, given the sites of the app's instances already
 * placed (all of them, old and new, as Marathon checks constraints against every instance).
 */
export function matchOffer(app: App, offer: Offer, placed: readonly AgentSite[]): OfferFit {
  const roles = app.acceptedResourceRoles;
  const usable = offer.resources.filter((r) =>
    usableForTasks(r.name, resourceMeta(r)) && (!roles || roles.includes(r.role ?? "*"))
  );
  if (usable.length === 0) {
    return { ok: false, reason: "UnfulfilledRole: no resources in an accepted role" };
  }

  // An agent without a containerizer for images would fail the task at once, every backoff.
  if (app.container?.docker?.image && !runsImages(offer.attributes)) {
    const has = offer.attributes.find((a) => a.name === CONTAINERIZERS_ATTRIBUTE)?.text?.value;
    return {
      ok: false,
      reason: `UnfulfilledContainerizer: the agent runs no images (containerizers: ${has})`,
    };
  }

  const fit = constraintsFit(parseConstraints(app.constraints), offerSite(offer), placed);
  if (!fit.ok) return fit;

  const have = Resources.fromMesos(usable);
  const need: Record<string, number> = {};
  for (const [key, name, reason] of SCALARS) {
    const amount = app[key];
    if (amount <= 0) continue;
    if (have.scalar(name) < amount) {
      return { ok: false, reason: `${reason}: need ${amount}, offer has ${have.scalar(name)}` };
    }
    need[name] = amount;
  }
  const pick = pickHostPorts(hostPortRequests(app), have.ranges("ports"));
  if (!pick.ok) return pick;

  // Taken piece by piece: an offer's reserved cpus must be named with their reservation.
  const take = takeResources(have, need, pick.ports);
  if (!take) return { ok: false, reason: "InsufficientResources: the offer changed" };
  return { ok: true, resources: take.toMesos(offer.allocation_info?.role), hostPorts: pick.ports };
}

/**
 * Offers ordered for spreading: those on hostnames holding the fewest instances of the app
 * first (stable otherwise), so replicas land on distinct agents when they can.
 */
export function spreadOrder<T extends { hostname: string }>(
  offers: readonly T[],
  placed: readonly AgentSite[],
): T[] {
  const count = new Map<string, number>();
  for (const p of placed) count.set(p.hostname, (count.get(p.hostname) ?? 0) + 1);
  return offers
    .map((o, i) => ({ o, i, n: count.get(o.hostname) ?? 0 }))
    .sort((a, b) => a.n - b.n || a.i - b.i)
    .map((x) => x.o);
}
