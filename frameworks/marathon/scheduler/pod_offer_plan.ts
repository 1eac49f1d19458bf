/**
 * The pure launch planner for pods, the twin of `planLaunches`: which pod instances to launch
 * on which offer (several per offer up to `maxPerOffer`), spread over hostnames, constraints
 * seeing the instances placed in this round. Each instance is one task group.
 */
import { type Offer, Resources } from "../../../protocol/mod.ts";
import { instanceIdFor } from "../app/path_id.ts";
import { configVersion, reconcileApp } from "../deployment/reconcile.ts";
import { type Instance, isActive } from "../model/instance.ts";
import type { AgentSite } from "../placement/agent_values.ts";
import { spreadOrder } from "../placement/offer_matcher.ts";
import { matchPodOffer, type PodMatch } from "../placement/pod_matcher.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import type { Pod } from "../pod/schema.ts";
import { podTaskId } from "../pod/task_group.ts";

/** One pod instance to launch on one offer. */
export interface PlannedPodLaunch {
  offerId: string;
  pod: Pod;
  /** The instance record to store before launching (condition Provisioned). */
  instance: Instance;
  match: PodMatch;
}

/** Inputs of `planPodLaunches`. */
export interface PodPlanInput {
  pods: readonly Pod[];
  instances: readonly Instance[];
  offers: readonly Offer[];
  /** Whether a pod may launch now (its backoff delay has passed). */
  mayLaunch: (pod: Pod) => boolean;
  uuid: () => string;
  now: number;
  maxPerOffer?: number;
}

/** The launches, the offers left unused, and per pod why nothing fitted. */
export interface PodPlan {
  launches: PlannedPodLaunch[];
  unusedOfferIds: string[];
  reasons: Map<string, string[]>;
  /** Pods that launch nothing until the kills of their rolling restart are sent. */
  awaitingKills: string[];
}

function siteOf(i: Instance): AgentSite | undefined {
  return i.hostname === undefined ? undefined : { hostname: i.hostname, attributes: i.attributes };
}

/** Plans launches for every pod that needs instances, over `offers`. */
export function planPodLaunches(input: PodPlanInput): PodPlan {
  const maxPerOffer = input.maxPerOffer ?? 5;
  const remaining = new Map(input.offers.map((o) => [o.id.value, o]));
  const perOffer = new Map<string, number>();
  const launches: PlannedPodLaunch[] = [];
  const reasons = new Map<string, string[]>();
  const awaitingKills: string[] = [];
  for (const pod of [...input.pods].sort((a, b) => a.id.localeCompare(b.id))) {
    const spec = podRunSpec(pod);
    const mine = input.instances.filter((i) => i.appId === pod.id);
    const actions = reconcileApp(spec, mine);
    let wanted = actions.launch;
    if (wanted === 0 || !input.mayLaunch(pod)) continue;
    if (actions.kill.length > 0) {
      awaitingKills.push(pod.id);
      continue;
    }
    const placed = mine.filter(isActive).flatMap((i) => siteOf(i) ?? []);
    while (wanted > 0) {
      const candidates = spreadOrder(
        [...remaining.values()].filter((o) => (perOffer.get(o.id.value) ?? 0) < maxPerOffer),
        placed,
      );
      const found = candidates.map((offer) => ({ offer, fit: matchPodOffer(pod, offer, placed) }))
        .find(({ fit }) => fit.ok);
      if (!found || !found.fit.ok) {
        const why = candidates.map((o) => matchPodOffer(pod, o, placed))
          .flatMap((f) => (f.ok ? [] : [f.reason]));
        reasons.set(pod.id, [...(reasons.get(pod.id) ?? []), ...why]);
        break;
      }
      const { offer, fit } = found;
      const instanceId = instanceIdFor(pod.id, input.uuid());
      const tasks = pod.containers.map((c) => ({
        name: c.name,
        taskId: podTaskId(instanceId, c.name),
        condition: "Provisioned" as const,
        since: input.now,
      }));
      launches.push({
        offerId: offer.id.value,
        pod,
        instance: {
          instanceId,
          taskId: tasks[0]?.taskId ?? instanceId,
          appId: pod.id,
          version: configVersion(spec),
          condition: "Provisioned",
          goal: "Running",
          agentId: offer.agent_id.value,
          hostname: offer.hostname,
          attributes: offer.attributes,
          hostPorts: fit.hostPorts.flat(),
          stagedAt: input.now,
          since: input.now,
          tasks,
        },
        match: {
          agentId: offer.agent_id.value,
          hostname: offer.hostname,
          containers: fit.containers,
          executor: fit.executor,
          hostPorts: fit.hostPorts,
        },
      });
      const taken = [...fit.containers, fit.executor].reduce(
        (sum, r) => sum.add(Resources.fromMesos(r)),
        Resources.empty(),
      );
      remaining.set(offer.id.value, {
        ...offer,
        resources: Resources.fromMesos(offer.resources).subtract(taken)
          .toMesos(offer.allocation_info?.role),
      });
      perOffer.set(offer.id.value, (perOffer.get(offer.id.value) ?? 0) + 1);
      placed.push({ hostname: offer.hostname, attributes: offer.attributes });
      wanted--;
    }
  }
  const used = new Set(launches.map((l) => l.offerId));
  return {
    launches,
    unusedOfferIds: input.offers.map((o) => o.id.value).filter((id) => !used.has(id)),
    reasons,
    awaitingKills,
  };
}
