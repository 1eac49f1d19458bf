/**
 * The pure planner of resident apps (persistent volumes), as Marathon plans them:
 * - garbage first: resources an offer carries reserved with this framework's labels for an
 *   instance Marathon no longer knows (its app was deleted) are destroyed and unreserved
 *   (DESTROY + UNRESERVE), so that nothing stays reserved behind a deleted app;
 * - a reserved instance whose task ended is relaunched only on an offer from its agent that
 *   carries its reservation (labelled with its instance id) and every one of its volumes;
 * - a new instance reserves what it needs from an offer's unreserved resources, creates its
 *   volumes and launches on them: RESERVE, CREATE, LAUNCH in one ACCEPT.
 */
import {
  type Offer,
  type Operation,
  type Reservation as ResourceReservation,
  type ResourceMeta,
  Resources,
} from "../../../protocol/mod.ts";
import type { App } from "../app/normalize.ts";
import { instanceIdFor, safePath } from "../app/path_id.ts";
import { persistentVolumesOf, reservedDisk } from "../app/resident.ts";
import { type OfferMatch, taskIdFor } from "../app/task_info.ts";
import { configVersion, reconcileApp } from "../deployment/reconcile.ts";
import { type Instance, isActive, type LocalVolume } from "../model/instance.ts";
import { matchOffer, spreadOrder } from "../placement/offer_matcher.ts";
import { provisionedInstance } from "./offer_plan.ts";

/** Marathon's reservation label naming the framework that reserved. */
export const FRAMEWORK_ID_LABEL = "marathon_framework_id";
/** Marathon's reservation label naming the instance (its name kept for compatibility). */
export const RESERVATION_ID_LABEL = "marathon_task_id";

/** Inputs of `planResident`. */
export interface ResidentPlanInput {
  /** The resident apps no deployment holds back. */
  apps: readonly App[];
  /** Every instance Marathon knows (of every app): reservations of others are never garbage. */
  instances: readonly Instance[];
  offers: readonly Offer[];
  frameworkId: string;
  /** The role reservations are made for (Marathon's `--mesos-role`). */
  role: string;
  /** The framework's principal, recorded on reservations and volumes when it has one. */
  principal?: string;
  mayLaunch: (app: App) => boolean;
  uuid: () => string;
  now: number;
}

/** One launch of a resident instance: the operations before its LAUNCH, and its placement. */
export interface ResidentLaunch {
  offerId: string;
  app: App;
  /** The instance record to store before accepting (condition Provisioned). */
  instance: Instance;
  /** RESERVE and CREATE for a new instance; none for a relaunch. */
  operations: Operation[];
  match: OfferMatch;
}

/** What to do with the offers. */
export interface ResidentPlan {
  /** DESTROY + UNRESERVE of garbage, per offer (such an offer is used for nothing else). */
  cleanups: { offerId: string; operations: Operation[] }[];
  launches: ResidentLaunch[];
  /** Offers the plan uses (the others go on to the ordinary planners). */
  usedOfferIds: Set<string>;
  /** Per app, why an offer did not serve it (for `/v2/queue`). */
  reasons: Map<string, string[]>;
}

/** Which instance a reserved resource belongs to, when this framework reserved it. */
export function reservationOwner(meta: ResourceMeta, frameworkId: string): string | undefined {
  const last = meta.reservations[meta.reservations.length - 1];
  const labels = new Map((last?.labels?.labels ?? []).map((l) => [l.key, l.value]));
  if (labels.get(FRAMEWORK_ID_LABEL) !== frameworkId) return undefined;
  return labels.get(RESERVATION_ID_LABEL);
}

/** An offer's resources reserved for `instanceId` by this framework (volumes included). */
function reservedFor(offer: Offer, frameworkId: string, instanceId: string): Resources {
  return Resources.fromMesos(offer.resources).filterMeta((_, m) =>
    reservationOwner(m, frameworkId) === instanceId
  );
}

/** Plans garbage collection, relaunches and new reservations on `offers`. */
export function planResident(input: ResidentPlanInput): ResidentPlan {
  const plan: ResidentPlan = {
    cleanups: [],
    launches: [],
    usedOfferIds: new Set(),
    reasons: new Map(),
  };
  const known = new Map(input.instances.map((i) => [i.instanceId, i]));
  for (const offer of input.offers) {
    const operations = garbageOperations(offer, input.frameworkId, known);
    if (operations.length === 0) continue;
    plan.cleanups.push({ offerId: offer.id.value, operations });
    plan.usedOfferIds.add(offer.id.value);
  }
  const free = () => input.offers.filter((o) => !plan.usedOfferIds.has(o.id.value));
  const reason = (app: App, text: string) =>
    plan.reasons.set(app.id, [...(plan.reasons.get(app.id) ?? []), text]);

  for (const app of [...input.apps].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!input.mayLaunch(app)) continue;
    const mine = input.instances.filter((i) => i.appId === app.id);
    // Relaunches: each waiting instance on an offer from its agent with its reservation.
    for (const i of mine.filter((i) => i.condition === "Reserved" && i.goal === "Running")) {
      const offer = free().find((o) =>
        o.agent_id.value === i.agentId && holdsReservation(o, input.frameworkId, i)
      );
      if (!offer) {
        reason(app, `NoCorrespondingReservationFound: no offer carries ${i.instanceId}'s`);
        continue;
      }
      plan.launches.push(relaunch(app, i, offer, input));
      plan.usedOfferIds.add(offer.id.value);
    }
    // New instances, once every suspended reservation is taken back (the tick does that; one
    // whose task is still being killed counts too, or a restart would reserve anew).
    const suspended = mine.filter((i) => i.reservation !== undefined && i.goal === "Stopped");
    let wanted = reconcileApp(app, mine).launch - suspended.length;
    const placed = mine.filter(isActive).flatMap((i) =>
      i.hostname === undefined ? [] : [{ hostname: i.hostname, attributes: i.attributes }]
    );
    while (wanted > 0) {
      const launch = spreadOrder(free(), placed).reduce<ResidentLaunch | undefined>(
        (found, offer) => found ?? reserveAndLaunch(app, offer, placed, input, reason),
        undefined,
      );
      if (!launch) break;
      plan.launches.push(launch);
      plan.usedOfferIds.add(launch.offerId);
      placed.push({ hostname: launch.instance.hostname!, attributes: launch.instance.attributes });
      wanted--;
    }
  }
  return plan;
}

/** DESTROY + UNRESERVE for what `offer` holds reserved by this framework for unknown instances. */
function garbageOperations(
  offer: Offer,
  frameworkId: string,
  known: ReadonlyMap<string, Instance>,
): Operation[] {
  const all = Resources.fromMesos(offer.resources);
  const garbage = all.filterMeta((_, m) => {
    const owner = reservationOwner(m, frameworkId);
    if (owner === undefined) return false;
    const i = known.get(owner);
    return !i || (i.goal === "Decommissioned" && i.condition === "Reserved");
  });
  if (garbage.isEmpty()) return [];
  const role = offer.allocation_info?.role;
  const volumes = garbage.filterMeta((_, m) => m.disk !== undefined);
  // Once destroyed, a volume's disk is plain reserved disk: that is what UNRESERVE names.
  const unreserve = garbage.withMeta((m) => ({ reservations: m.reservations }));
  const ops: Operation[] = [];
  if (!volumes.isEmpty()) {
    ops.push({ type: "DESTROY", destroy: { volumes: volumes.toMesos(role) } });
  }
  ops.push({ type: "UNRESERVE", unreserve: { resources: unreserve.toMesos(role) } });
  return ops;
}

/** Whether `offer` carries all of `i`'s reservation: its resources and each of its volumes. */
function holdsReservation(offer: Offer, frameworkId: string, i: Instance): boolean {
  const mine = reservedFor(offer, frameworkId, i.instanceId);
  const ids = new Set(mine.persistentVolumes().map((v) => v.id));
  const volumes = i.reservation?.volumes ?? [];
  return !mine.isEmpty() && volumes.every((v) => ids.has(v.persistenceId));
}

function relaunch(app: App, i: Instance, offer: Offer, input: ResidentPlanInput): ResidentLaunch {
  const incarnation = (i.incarnation ?? 1) + 1;
  const resources = reservedFor(offer, input.frameworkId, i.instanceId);
  const instance: Instance = {
    ...i,
    taskId: taskIdFor(i.instanceId, incarnation),
    incarnation,
    version: configVersion(app),
    condition: "Provisioned",
    hostname: offer.hostname,
    attributes: offer.attributes,
    stagedAt: input.now,
    since: input.now,
    reservation: { ...i.reservation!, state: "Launched" },
  };
  delete instance.startedAt;
  delete instance.healthy;
  delete instance.ready;
  delete instance.readinessProbedAt;
  delete instance.message;
  delete instance.ipAddress;
  return {
    offerId: offer.id.value,
    app,
    instance,
    operations: [],
    match: {
      agentId: offer.agent_id.value,
      hostname: offer.hostname,
      resources: resources.toMesos(offer.allocation_info?.role),
      hostPorts: i.hostPorts,
      taskId: instance.taskId,
    },
  };
}

function reserveAndLaunch(
  app: App,
  offer: Offer,
  placed: { hostname: string; attributes: Offer["attributes"] }[],
  input: ResidentPlanInput,
  reason: (app: App, text: string) => void,
): ResidentLaunch | undefined {
  // Only unreserved resources can be reserved (Marathon: static reservations cannot be).
  const unreserved = {
    ...offer,
    resources: Resources.fromMesos(offer.resources).unreserved().toMesos(
      offer.allocation_info?.role,
    ),
  };
  const fit = matchOffer({ ...app, disk: reservedDisk(app) }, unreserved, placed);
  if (!fit.ok) {
    reason(app, fit.reason);
    return undefined;
  }
  const instanceId = instanceIdFor(app.id, input.uuid());
  const reservation: ResourceReservation = {
    type: "DYNAMIC",
    role: input.role,
    ...(input.principal ? { principal: input.principal } : {}),
    labels: {
      labels: [
        { key: FRAMEWORK_ID_LABEL, value: input.frameworkId },
        { key: RESERVATION_ID_LABEL, value: instanceId },
      ],
    },
  };
  const reserved = Resources.fromMesos(fit.resources).withMeta(() => ({
    reservations: [reservation],
  }));
  const volumes: LocalVolume[] = persistentVolumesOf(app).map((v) => ({
    containerPath: v.containerPath,
    persistenceId: `${safePath(app.id)}#${v.containerPath}#${input.uuid()}`,
  }));
  let created = Resources.empty();
  let volumeDisk = 0;
  for (const [n, v] of persistentVolumesOf(app).entries()) {
    volumeDisk += v.size;
    created = created.add(
      Resources.scalars({ disk: v.size }).withMeta(() => ({
        reservations: [reservation],
        disk: {
          persistence: {
            id: volumes[n]!.persistenceId,
            ...(input.principal ? { principal: input.principal } : {}),
          },
          volume: { container_path: v.containerPath, mode: "RW" },
        },
      })),
    );
  }
  const forVolumes = Resources.scalars({ disk: volumeDisk }).withMeta(() => ({
    reservations: [reservation],
  }));
  const role = offer.allocation_info?.role;
  const taskResources = reserved.subtract(forVolumes).add(created);
  const instance: Instance = {
    ...provisionedInstance(app, offer, { instanceId, hostPorts: fit.hostPorts, now: input.now }),
    incarnation: 1,
    reservation: { volumes, state: "New", role: input.role },
  };
  return {
    offerId: offer.id.value,
    app,
    instance,
    operations: [
      { type: "RESERVE", reserve: { resources: reserved.toMesos(role) } },
      { type: "CREATE", create: { volumes: created.toMesos(role) } },
    ],
    match: {
      agentId: offer.agent_id.value,
      hostname: offer.hostname,
      resources: taskResources.toMesos(role),
      hostPorts: fit.hostPorts,
      taskId: instance.taskId,
    },
  };
}
