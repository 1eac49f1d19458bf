/**
 * The pure launch planner: given the apps, their instances, fresh offers and which apps are
 * backed off, decide which instances to launch on which offer. Offers are consumed as
 * instances are placed (several per offer up to `maxPerOffer`), replicas spread by preferring
 * hostnames with fewest instances, constraints see the instances placed in this round too.
 */
import { type Offer, Resources } from "../../../protocol/mod.ts";
import { instanceIdFor } from "../app/path_id.ts";
import type { App } from "../app/normalize.ts";
import { type OfferMatch, taskIdFor } from "../app/task_info.ts";
import { configVersion, reconcileApp } from "../deployment/reconcile.ts";
import { type Instance, isActive } from "../model/instance.ts";
import type { AgentSite } from "../placement/agent_values.ts";
import { matchOffer, spreadOrder } from "../placement/offer_matcher.ts";

/** One instance to launch on one offer. */
export interface PlannedLaunch {
  offerId: string;
  app: App;
  /** The instance record to store before launching (condition Provisioned). */
  instance: Instance;
  match: OfferMatch;
}

/** Inputs of `planLaunches`. */
export interface OfferPlanInput {
  apps: readonly App[];
  instances: readonly Instance[];
  offers: readonly Offer[];
  /** Whether an app may launch now (its backoff delay has passed). */
  mayLaunch: (app: App) => boolean;
  /** A fresh uuid per planned instance. */
  uuid: () => string;
  now: number;
  maxPerOffer?: number;
}

/**
 * The launches, the offers left unused, per app why nothing fitted (for `/v2/queue`), and
 * whether instances are still wanted that only `maxPerOffer` kept out of these offers.
 */
export interface OfferPlan {
  launches: PlannedLaunch[];
  unusedOfferIds: string[];
  reasons: Map<string, string[]>;
  capped: boolean;
  /** Apps that launch nothing until the kills their launches make room for are sent. */
  awaitingKills: string[];
}

function siteOf(i: Instance): AgentSite | undefined {
  return i.hostname === undefined ? undefined : { hostname: i.hostname, attributes: i.attributes };
}

/** Plans launches for every app that needs instances, over `offers`. */
export function planLaunches(input: OfferPlanInput): OfferPlan {
  const maxPerOffer = input.maxPerOffer ?? 5;
  const remaining = new Map(input.offers.map((o) => [o.id.value, o]));
  const perOffer = new Map<string, number>();
  const launches: PlannedLaunch[] = [];
  const reasons = new Map<string, string[]>();
  const awaitingKills: string[] = [];
  let capped = false;

  for (const app of [...input.apps].sort((a, b) => a.id.localeCompare(b.id))) {
    const mine = input.instances.filter((i) => i.appId === app.id);
    const actions = reconcileApp(app, mine);
    let wanted = actions.launch;
    if (wanted === 0 || !input.mayLaunch(app)) continue;
    // A rolling restart's launches count on its kills (old instances it replaces): kill first,
    // as Marathon does, or the app runs past its maximumOverCapacity until they are sent.
    if (actions.kill.length > 0) {
      awaitingKills.push(app.id);
      continue;
    }
    const placed = mine.filter(isActive).flatMap((i) => siteOf(i) ?? []);
    while (wanted > 0) {
      const candidates = spreadOrder(
        [...remaining.values()].filter((o) => (perOffer.get(o.id.value) ?? 0) < maxPerOffer),
        placed,
      );
      let launched = false;
      for (const offer of candidates) {
        const fit = matchOffer(app, offer, placed);
        if (!fit.ok) {
          reasons.set(app.id, [...(reasons.get(app.id) ?? []), fit.reason]);
          continue;
        }
        const instance = provisionedInstance(app, offer, {
          instanceId: instanceIdFor(app.id, input.uuid()),
          hostPorts: fit.hostPorts,
          now: input.now,
        });
        launches.push({
          offerId: offer.id.value,
          app,
          instance,
          match: {
            agentId: offer.agent_id.value,
            hostname: offer.hostname,
            resources: fit.resources,
            hostPorts: fit.hostPorts,
          },
        });
        remaining.set(offer.id.value, {
          ...offer,
          resources: Resources.fromMesos(offer.resources).subtract(
            Resources.fromMesos(fit.resources),
          )
            .toMesos(offer.allocation_info?.role),
        });
        perOffer.set(offer.id.value, (perOffer.get(offer.id.value) ?? 0) + 1);
        placed.push({ hostname: offer.hostname, attributes: offer.attributes });
        launched = true;
        wanted--;
        break;
      }
      if (!launched) {
        capped ||= [...perOffer.values()].some((n) => n >= maxPerOffer);
        break;
      }
    }
  }
  const used = new Set(launches.map((l) => l.offerId));
  return {
    launches,
    unusedOfferIds: input.offers.map((o) => o.id.value).filter((id) => !used.has(id)),
    reasons,
    capped,
    awaitingKills,
  };
}

/** A new instance of `app` about to launch its first task on `offer`. */
export function provisionedInstance(
  app: App,
  offer: Offer,
  at: { instanceId: string; hostPorts: number[]; now: number },
): Instance {
  return {
    instanceId: at.instanceId,
    taskId: taskIdFor(at.instanceId),
    appId: app.id,
    version: configVersion(app),
    condition: "Provisioned",
    goal: "Running",
    agentId: offer.agent_id.value,
    hostname: offer.hostname,
    attributes: offer.attributes,
    hostPorts: at.hostPorts,
    stagedAt: at.now,
    since: at.now,
  };
}
