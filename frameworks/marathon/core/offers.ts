/**
 * The scheduler core's offer operations, pure: `planOffers` (which instances go on which offer,
 * and why the others did not fit) and `launchOffers` (the planned launches as records to persist
 * and ACCEPTs to send, once the shell has read the secrets they need), and `launchFailed` (a
 * launch the driver refused: its instances forgotten, relaunches waiting again).
 */
import type { Offer, Operation, TaskInfo } from "../../../protocol/mod.ts";
import { isResident } from "../app/normalize.ts";
import { toTaskInfo } from "../app/task_info.ts";
import type { Backoff } from "../deployment/backoff.ts";
import { heldApps } from "../deployment/progress.ts";
import { configVersion, reconcileApp } from "../deployment/reconcile.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import type { Instance } from "../model/instance.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import { toTaskGroup } from "../pod/task_group.ts";
import { type SecretOwner, secretSources } from "../secrets/app_secrets.ts";
import { planLaunches } from "../scheduler/offer_plan.ts";
import { planPodLaunches } from "../scheduler/pod_offer_plan.ts";
import { planResident } from "../scheduler/resident_plan.ts";
import { type Change, type Launched, type Outcome, outcome } from "./changes.ts";
import type { MarathonBooks } from "./state.ts";

/** What planning offers needs besides the books. */
export interface OfferContext {
  books: MarathonBooks;
  backoff: Backoff;
  uuid: () => string;
  /** The framework's role (resident apps reserve for it). */
  role: string;
  principal?: string;
}

/** The plans for one batch of offers. */
export type OfferPlans = ReturnType<typeof planOffers>;

/** The secret values of an app or a pod by path, or why they cannot be had, by owner id. */
export type SecretValues = ReadonlyMap<string, ReadonlyMap<string, string> | Error>;

/**
 * Plans launches on `offers` for the apps and pods no deployment holds back. Offers of agents
 * scheduled for maintenance are set aside while other agents offer something. Resident apps
 * first (they clean up reservations nobody owns, relaunch on their own and reserve anew), then
 * the other apps on the offers left, then the pods on the offers apps left whole.
 */
export function planOffers(ctx: OfferContext, offers: readonly Offer[], now: number) {
  const { books } = ctx;
  const leaving = offers.filter((o) => o.unavailability !== undefined);
  const setAside = leaving.length > 0 && leaving.length < offers.length;
  if (setAside) offers = offers.filter((o) => o.unavailability === undefined);
  const held = heldApps(books.deployments());
  const apps = books.apps().filter((a) => !held.has(a.id));
  const instances = [...books.instances()];
  const mayLaunch = (spec: RunSpec) =>
    ctx.backoff.launchAllowedAt(spec, configVersion(spec), books.backoff(spec.id), now) <= now;
  const frameworkId = books.frameworkId;
  const residentPlan = frameworkId === undefined ? undefined : planResident({
    apps: apps.filter(isResident),
    instances,
    offers: [...offers],
    frameworkId,
    role: ctx.role,
    ...(ctx.principal ? { principal: ctx.principal } : {}),
    mayLaunch,
    uuid: ctx.uuid,
    now,
  });
  const plan = planLaunches({
    apps: apps.filter((a) => !isResident(a)),
    instances,
    offers: offers.filter((o) => !residentPlan?.usedOfferIds.has(o.id.value)),
    mayLaunch,
    uuid: ctx.uuid,
    now,
  });
  for (const [appId, reasons] of residentPlan?.reasons ?? []) plan.reasons.set(appId, reasons);
  const pods = books.pods().filter((p) => !held.has(p.id));
  const unused = new Set(plan.unusedOfferIds);
  const podPlan = planPodLaunches({
    pods: [...pods],
    instances,
    offers: offers.filter((o) => unused.has(o.id.value)),
    mayLaunch: (pod) => mayLaunch(podRunSpec(pod)),
    uuid: ctx.uuid,
    now,
  });
  // Offers nobody took come back soon while launches are still wanted, else after 30 s.
  const stillWanted = () =>
    [...apps, ...pods.map(podRunSpec)].some((a) =>
      reconcileApp(a, instances.filter((i) => i.appId === a.id)).launch > 0
    ) || instances.some(awaitsRelaunch);
  return {
    /** Offers of agents leaving for maintenance, declined for 5 s. */
    leaving: setAside ? leaving.map((o) => o.id.value) : [],
    plan,
    podPlan,
    residentPlan,
    /** Why nothing fitted, per app or pod (for `/v2/queue`). */
    reasons: new Map([...plan.reasons, ...podPlan.reasons]),
    /** Whether a pass must send kills first (a restart's launches wait for the room they make). */
    awaitsKills: plan.awaitingKills.length > 0 || podPlan.awaitingKills.length > 0,
    /** How long the offers nobody took are declined for (0: there are none). */
    unusedRefuseSeconds: podPlan.unusedOfferIds.length === 0 ? 0 : stillWanted() ? 2 : 30,
  };
}

/** The apps and pods whose secrets the planned launches need. */
export function secretOwners(plans: OfferPlans): (SecretOwner & { id: string })[] {
  const owners = new Map<string, SecretOwner & { id: string }>();
  for (const l of [...plans.residentPlan?.launches ?? [], ...plans.plan.launches]) {
    owners.set(l.app.id, l.app);
  }
  for (const l of plans.podPlan.launches) owners.set(l.pod.id, l.pod);
  return [...owners.values()].filter((o) => secretSources(o).length > 0);
}

/**
 * The planned launches: new instances recorded (a resident relaunch: the instance it replaces),
 * then per offer one LAUNCH or ACCEPT; an offer none of whose launches can be built (a secret
 * missing) is declined for 1 s, with a `deployment_step_failure` saying why.
 */
export function launchOffers(
  books: MarathonBooks,
  plans: OfferPlans,
  secrets: SecretValues,
): Outcome {
  const out = outcome();
  if (plans.leaving.length > 0) {
    out.driver.push({ type: "decline", offerIds: plans.leaving, refuseSeconds: 5 });
  }
  const build = <T>(owner: { id: string }, make: (values: ReadonlyMap<string, string>) => T) => {
    try {
      const values = secrets.get(owner.id) ?? new Map<string, string>();
      if (values instanceof Error) throw values;
      return make(values);
    } catch (e) {
      out.events.push({
        type: "deployment_step_failure",
        data: {
          reason: `launch of ${owner.id} failed: ${e instanceof Error ? e.message : String(e)}`,
        },
      });
      return undefined;
    }
  };
  const record = (launched: Launched[], instance: Instance, before: Instance | null) => {
    launched.push({ value: instance, before });
    out.changes.push(instanceChange(instance, before));
  };
  const resident = plans.residentPlan;
  for (const c of resident?.cleanups ?? []) {
    // The freed resources come straight back, unreserved, for whoever needs them.
    out.driver.push({
      type: "accept",
      offerId: c.offerId,
      operations: c.operations,
      refuseSeconds: 0,
    });
  }
  for (const [offerId, planned] of Map.groupBy(resident?.launches ?? [], (l) => l.offerId)) {
    const operations: Operation[] = [];
    const launched: Launched[] = [];
    for (const l of planned) {
      const task = build(l.app, (v) => toTaskInfo(l.app, l.instance.instanceId, l.match, v));
      if (!task) continue;
      operations.push(...l.operations, { type: "LAUNCH", launch: { task_infos: [task] } });
      if (l.operations.length > 0) record(launched, l.instance, null);
      else {
        // A relaunch: the instance waiting on its reservation is replaced.
        const held = books.instance(l.instance.appId, l.instance.instanceId);
        if (held) record(launched, l.instance, held);
      }
    }
    out.driver.push(
      operations.length === 0
        ? { type: "decline", offerIds: [offerId], refuseSeconds: 1 }
        : { type: "accept", offerId, operations, refuseSeconds: 1, launched },
    );
  }
  for (const [offerId, planned] of Map.groupBy(plans.plan.launches, (l) => l.offerId)) {
    const tasks: TaskInfo[] = [];
    const launched: Launched[] = [];
    for (const l of planned) {
      const task = build(l.app, (v) => toTaskInfo(l.app, l.instance.instanceId, l.match, v));
      if (!task) continue;
      tasks.push(task);
      record(launched, l.instance, null);
    }
    out.driver.push(
      tasks.length === 0
        ? { type: "decline", offerIds: [offerId], refuseSeconds: 1 }
        // More to launch than an offer may carry: the rest of the offer comes straight back.
        : { type: "launch", offerId, tasks, refuseSeconds: plans.plan.capped ? 0 : 1, launched },
    );
  }
  // Each pod instance is one LAUNCH_GROUP; an offer's are accepted together.
  for (const [offerId, planned] of Map.groupBy(plans.podPlan.launches, (l) => l.offerId)) {
    const operations: Operation[] = [];
    const launched: Launched[] = [];
    for (const l of planned) {
      const group = build(l.pod, (v) => toTaskGroup(l.pod, l.instance.instanceId, l.match, v));
      if (!group) continue;
      operations.push({
        type: "LAUNCH_GROUP",
        launch_group: { executor: group.executor, task_group: { tasks: group.tasks } },
      });
      record(launched, l.instance, null);
    }
    out.driver.push(
      operations.length === 0
        ? { type: "decline", offerIds: [offerId], refuseSeconds: 1 }
        : { type: "accept", offerId, operations, refuseSeconds: 1, launched },
    );
  }
  if (plans.podPlan.unusedOfferIds.length > 0) {
    out.driver.push({
      type: "decline",
      offerIds: plans.podPlan.unusedOfferIds,
      refuseSeconds: plans.unusedRefuseSeconds,
    });
  }
  return out;
}

/**
 * A launch the driver refused: nothing was reserved or launched, so its new instances are
 * forgotten and relaunched ones wait on their reservations again.
 */
export function launchFailed(
  books: MarathonBooks,
  launched: readonly Launched[],
  error: unknown,
): Outcome {
  const out = outcome();
  for (const l of launched) {
    const held = books.instance(l.value.appId, l.value.instanceId);
    if (held) out.changes.push(instanceChange(l.before, held));
  }
  out.events.push({
    type: "deployment_step_failure",
    data: { reason: `launch failed: ${String(error)}` },
  });
  return out;
}

/** An instance written over the one the books hold (null: none, or delete). */
function instanceChange(value: Instance | null, expected: Instance | null): Change {
  const i = (value ?? expected)!;
  return { kind: "instance", appId: i.appId, instanceId: i.instanceId, value, expected };
}

/** A resident instance waiting on its reservation for a relaunch. */
export function awaitsRelaunch(i: Instance): boolean {
  return i.condition === "Reserved" && i.goal === "Running";
}
