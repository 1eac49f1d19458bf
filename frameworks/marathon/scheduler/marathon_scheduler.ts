/**
 * The Marathon framework on the SDK: reconciles the stored desired state (apps and pods) with
 * what runs. Offers → `planLaunches` → LAUNCH, then `planPodLaunches` on the offers left →
 * LAUNCH_GROUP (instances recorded first); status updates → instance bookkeeping (a pod
 * instance's per container), backoff and events; a periodic tick kills surplus and replaced instances
 * (`reconcileApp`), applies the unreachable strategy, revives offers when launches are
 * wanted and moves deployments on. Every (re)subscription reconciles task states with the
 * master, and so does a pass every `reconciliationIntervalMs` (Marathon's
 * `reconciliation_interval`): a task the master runs for Marathon but Marathon does not know is
 * reported by the implicit reconciliation, and killed.
 */
import type { Scheduler, SchedulerDriver, SubscribedInfo } from "../../../mod.ts";
import {
  type Clock,
  type Ids,
  isTerminalState,
  type Offer,
  type Operation,
  type TaskInfo,
  type TaskStatus,
} from "../../../protocol/mod.ts";
import { type SecretOwner, secretSources } from "../secrets/app_secrets.ts";
import type { SecretStore } from "../secrets/secret_store.ts";
import { appIdOfInstance, instanceIdOfTask } from "../app/path_id.ts";
import { type App, isResident } from "../app/normalize.ts";
import { toTaskInfo } from "../app/task_info.ts";
import type { Backoff } from "../deployment/backoff.ts";
import { configVersion, isHealthy, reconcileApp } from "../deployment/reconcile.ts";
import { heldApps } from "../deployment/progress.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import type { Pod } from "../pod/schema.ts";
import { toTaskGroup } from "../pod/task_group.ts";
import type { EventBus } from "../events/event_bus.ts";
import { type Instance, isActive, isBackoffWorthy, isTerminal } from "../model/instance.ts";
import type { MarathonService } from "../service/marathon_service.ts";
import type { MarathonStore } from "../store/store.ts";
import { applyStatus, unreachableVerdict } from "./instance_status.ts";
import { planLaunches } from "./offer_plan.ts";
import { planResident, type ResidentPlan } from "./resident_plan.ts";
import { planPodLaunches } from "./pod_offer_plan.ts";
import { applyPodStatus } from "./pod_status.ts";
import { probeReadiness, readinessDue } from "./readiness.ts";

/** What the scheduler needs. */
export interface MarathonSchedulerDeps {
  store: MarathonStore;
  service: MarathonService;
  events: EventBus;
  clock: Clock;
  ids: Ids;
  backoff: Backoff;
  /** Instances not running this long after launch are killed and replaced (default 300 s). */
  launchTimeoutMs?: number;
  /** Task states are reconciled with the master this often (default 600 s, as Marathon). */
  reconciliationIntervalMs?: number;
  /** Where the values of apps' secrets are read at launch. */
  secrets?: SecretStore;
  /** The framework's role (`--mesos-role`): resident apps reserve for it (default `*`). */
  role?: string;
  /** The framework's principal, recorded on reservations and volumes. */
  principal?: string;
}

/** Marathon's default `reconciliation_interval`. */
export const DEFAULT_RECONCILIATION_INTERVAL_MS = 600_000;

const STARTING: ReadonlySet<Instance["condition"]> = new Set([
  "Provisioned",
  "Staging",
  "Starting",
]);

/** The driver calls the scheduler makes (a `SchedulerDriver` is one; tests pass a fake). */
export type DriverPort = Pick<
  SchedulerDriver,
  "launch" | "accept" | "decline" | "kill" | "reconcile" | "revive"
>;

/** Every task id of an instance (a pod instance has one per container). */
function taskIdsOf(i: Instance): string[] {
  return i.tasks ? i.tasks.map((t) => t.taskId) : [i.taskId];
}

const RESEND_KILL_MS = 10_000;
const REVIVE_EVERY_MS = 5_000;

/** The Marathon scheduler. Hand it to a `SchedulerDriver` and call `run()` beside it. */
export class MarathonScheduler implements Scheduler {
  readonly #d: MarathonSchedulerDeps;
  #driver: DriverPort | undefined;
  readonly #killSentAt = new Map<string, number>();
  #lastRevive = 0;
  /** When task states were last reconciled with the master (since this driver subscribed). */
  #reconciledAt: number | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #queuedTick: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #wantedLaunch = false;
  readonly #probing = new Map<string, Promise<void>>();
  /** Why the last offers did not fit, per app (for `/v2/queue`). */
  readonly lastReasons = new Map<string, string[]>();

  constructor(deps: MarathonSchedulerDeps) {
    this.#d = deps;
  }

  async subscribed(driver: DriverPort, info: SubscribedInfo): Promise<void> {
    this.#driver = driver;
    await this.#d.store.setFrameworkId(info.frameworkId);
    this.#d.events.publish(
      info.resubscribed ? "scheduler_reregistered_event" : "scheduler_registered_event",
      {
        frameworkId: info.frameworkId,
      },
    );
    await this.#reconcile(driver);
    await this.#revive(driver, true);
  }

  /**
   * Asks the master for the state of every task Marathon knows (explicit), then of every task
   * it runs for Marathon (implicit): the answers correct what Marathon missed, and a task it
   * does not know is killed when its status arrives (`update()`).
   */
  async #reconcile(driver: DriverPort): Promise<void> {
    this.#reconciledAt = this.#d.clock.now();
    const known = (await this.#d.store.listInstances()).filter((i) => !isTerminal(i.condition));
    await driver.reconcile(
      known.flatMap((i) =>
        taskIdsOf(i).map((taskId) => ({ taskId, ...(i.agentId ? { agentId: i.agentId } : {}) }))
      ),
    );
    await driver.reconcile([]);
  }

  async offers(driver: DriverPort, offers: Offer[]): Promise<void> {
    this.#driver = driver;
    // Agents scheduled for maintenance (their offers carry an unavailability) get no new
    // instances while other agents offer something: their offers go back for a short while.
    const leaving = offers.filter((o) => o.unavailability !== undefined);
    if (leaving.length > 0 && leaving.length < offers.length) {
      await driver.decline(leaving.map((o) => o.id.value), { refuse_seconds: 5 });
      offers = offers.filter((o) => o.unavailability === undefined);
    }
    let planned = await this.#planOffers(offers);
    // Kills a restart's launches wait for (an instance turned healthy since the last pass):
    // sent by a pass now, then the offers are planned again.
    if (planned.plan.awaitingKills.length > 0 || planned.podPlan.awaitingKills.length > 0) {
      await this.tick();
      planned = await this.#planOffers(offers);
    }
    const { plan, podPlan, residentPlan, apps, pods, instances } = planned;
    if (residentPlan) await this.#acceptResident(driver, residentPlan);
    this.lastReasons.clear();
    for (const [appId, reasons] of plan.reasons) this.lastReasons.set(appId, reasons);
    for (const [podId, reasons] of podPlan.reasons) this.lastReasons.set(podId, reasons);
    const byOffer = Map.groupBy(plan.launches, (l) => l.offerId);
    for (const [offerId, planned] of byOffer) {
      // Secrets are decrypted here, per launch, into the TaskInfos only (never stored).
      const launches: typeof planned = [];
      const tasks: TaskInfo[] = [];
      for (const l of planned) {
        const task = await this.#withSecrets(
          l.app,
          (values) => toTaskInfo(l.app, l.instance.instanceId, l.match, values),
        );
        if (!task) continue;
        tasks.push(task);
        launches.push(l);
      }
      if (launches.length === 0) {
        await driver.decline([offerId], { refuse_seconds: 1 });
        continue;
      }
      await this.#d.store.addInstances(launches.map((l) => l.instance));
      try {
        await driver.launch(
          [offerId],
          tasks,
          // More to launch than an offer may carry: the rest of the offer comes straight back.
          { refuse_seconds: plan.capped ? 0 : 1 },
        );
      } catch (e) {
        for (const l of launches) {
          await this.#d.store.updateInstance(l.app.id, l.instance.instanceId, () => undefined);
        }
        this.#d.events.publish("deployment_step_failure", {
          reason: `launch failed: ${String(e)}`,
        });
      }
    }
    // Each pod instance is one LAUNCH_GROUP; an offer's are accepted together.
    for (const [offerId, planned] of Map.groupBy(podPlan.launches, (l) => l.offerId)) {
      const launches: typeof planned = [];
      const operations: Operation[] = [];
      for (const l of planned) {
        const group = await this.#withSecrets(
          l.pod,
          (values) => toTaskGroup(l.pod, l.instance.instanceId, l.match, values),
        );
        if (!group) continue;
        operations.push({
          type: "LAUNCH_GROUP",
          launch_group: { executor: group.executor, task_group: { tasks: group.tasks } },
        });
        launches.push(l);
      }
      if (launches.length === 0) {
        await driver.decline([offerId], { refuse_seconds: 1 });
        continue;
      }
      await this.#d.store.addInstances(launches.map((l) => l.instance));
      try {
        await driver.accept([offerId], operations, { refuse_seconds: 1 });
      } catch (e) {
        for (const l of launches) {
          await this.#d.store.updateInstance(l.pod.id, l.instance.instanceId, () => undefined);
        }
        this.#d.events.publish("deployment_step_failure", {
          reason: `launch failed: ${String(e)}`,
        });
      }
    }
    if (podPlan.unusedOfferIds.length > 0) {
      const specs = [...apps, ...pods.map(podRunSpec)];
      const stillWanted = specs.some((a) =>
        reconcileApp(a, instances.filter((i) => i.appId === a.id)).launch > 0
      ) || instances.some(awaitsRelaunch);
      await driver.decline(podPlan.unusedOfferIds, { refuse_seconds: stillWanted ? 2 : 30 });
    }
  }

  /**
   * Sends a resident plan: DESTROY + UNRESERVE of garbage, then per offer each instance's
   * RESERVE, CREATE and LAUNCH in one ACCEPT (a relaunch: its LAUNCH only). Records first.
   */
  async #acceptResident(driver: DriverPort, plan: ResidentPlan): Promise<void> {
    for (const c of plan.cleanups) {
      // The freed resources come straight back, unreserved, for whoever needs them.
      await driver.accept([c.offerId], c.operations, { refuse_seconds: 0 }).catch((e) =>
        logTickError(`reservation cleanup failed: ${String(e)}`)
      );
    }
    for (const [offerId, planned] of Map.groupBy(plan.launches, (l) => l.offerId)) {
      const operations: Operation[] = [];
      const launches: typeof planned = [];
      for (const l of planned) {
        const task = await this.#withSecrets(
          l.app,
          (values) => toTaskInfo(l.app, l.instance.instanceId, l.match, values),
        );
        if (!task) continue;
        operations.push(...l.operations, { type: "LAUNCH", launch: { task_infos: [task] } });
        launches.push(l);
      }
      if (launches.length === 0) {
        await driver.decline([offerId], { refuse_seconds: 1 });
        continue;
      }
      const fresh = launches.filter((l) => l.operations.length > 0).map((l) => l.instance);
      const before = new Map<string, Instance>();
      if (fresh.length > 0) await this.#d.store.addInstances(fresh);
      for (const l of launches.filter((l) => l.operations.length === 0)) {
        await this.#d.store.updateInstance(l.app.id, l.instance.instanceId, (cur) => {
          before.set(cur.instanceId, cur);
          return l.instance;
        });
      }
      try {
        await driver.accept([offerId], operations, { refuse_seconds: 1 });
      } catch (e) {
        // Nothing was reserved or launched: new instances are forgotten, relaunches wait again.
        for (const l of launches) {
          const was = before.get(l.instance.instanceId);
          await this.#d.store.updateInstance(l.app.id, l.instance.instanceId, () => was);
        }
        this.#d.events.publish("deployment_step_failure", {
          reason: `launch failed: ${String(e)}`,
        });
      }
    }
  }

  /**
   * What `build` makes of an app's or a pod's secret values, decrypted here, per launch, into
   * the TaskInfos only (never stored); undefined, with a deployment_step_failure saying why, when
   * they cannot be had.
   */
  async #withSecrets<T>(
    owner: SecretOwner & { id: string },
    build: (values: Map<string, string>) => T,
  ): Promise<T | undefined> {
    try {
      return build(await this.#secretValues(owner));
    } catch (e) {
      this.#d.events.publish("deployment_step_failure", {
        reason: `launch of ${owner.id} failed: ${e instanceof Error ? e.message : String(e)}`,
      });
      return undefined;
    }
  }

  /** The values of an app's or a pod's secrets by path; throws naming one that cannot be had. */
  async #secretValues(owner: SecretOwner): Promise<Map<string, string>> {
    const paths = secretSources(owner);
    if (paths.length === 0) return new Map();
    if (!this.#d.secrets) throw new Error("this Marathon keeps no secrets (--secrets-key-file)");
    const values = await this.#d.secrets.resolve(paths);
    const missing = paths.find((p) => !values.has(p));
    if (missing) throw new Error(`secret '${missing}' does not exist`);
    return values;
  }

  /** Plans launches on `offers` for the apps no deployment holds back. */
  async #planOffers(offers: Offer[]) {
    const now = this.#d.clock.now();
    // Apps before deployments: an app and the deployment that holds it are committed together,
    // so an app read here has its deployment visible to the later read (the other order could
    // see a new group's apps without the deployment that holds its dependents back).
    const stored = await this.#d.store.listApps();
    const held = heldApps(await this.#d.store.listDeployments());
    const apps = stored.filter((a) => !held.has(a.id));
    const instances = await this.#d.store.listInstances();
    const backoffs = new Map(
      await Promise.all(
        apps.map(async (a) => [a.id, await this.#d.store.getBackoff(a.id)] as const),
      ),
    );
    const mayLaunch = (app: App) =>
      this.#d.backoff.launchAllowedAt(app, configVersion(app), backoffs.get(app.id), now) <= now;
    // Resident apps first: they clean up reservations nobody owns, relaunch on their own and
    // reserve anew; the offers they leave go on to the other apps, then the pods.
    const frameworkId = await this.#d.store.getFrameworkId();
    const residentPlan = frameworkId === undefined ? undefined : planResident({
      apps: apps.filter(isResident),
      instances,
      offers,
      frameworkId,
      role: this.#d.role ?? "*",
      ...(this.#d.principal ? { principal: this.#d.principal } : {}),
      mayLaunch,
      uuid: () => this.#d.ids.uuid(),
      now,
    });
    const plan = planLaunches({
      apps: apps.filter((a) => !isResident(a)),
      instances,
      offers: offers.filter((o) => !residentPlan?.usedOfferIds.has(o.id.value)),
      mayLaunch,
      uuid: () => this.#d.ids.uuid(),
      now,
    });
    for (const [appId, reasons] of residentPlan?.reasons ?? []) plan.reasons.set(appId, reasons);
    // Pods take the offers apps left whole (an offer is accepted once).
    const pods = (await this.#d.store.listPods()).filter((p) => !held.has(p.id));
    const unused = new Set(plan.unusedOfferIds);
    const podBackoffs = new Map(
      await Promise.all(
        pods.map(async (p) => [p.id, await this.#d.store.getBackoff(p.id)] as const),
      ),
    );
    const podPlan = planPodLaunches({
      pods,
      instances,
      offers: offers.filter((o) => unused.has(o.id.value)),
      mayLaunch: (pod) => {
        const spec = podRunSpec(pod);
        const at = this.#d.backoff.launchAllowedAt(
          spec,
          configVersion(spec),
          podBackoffs.get(pod.id),
          now,
        );
        return at <= now;
      },
      uuid: () => this.#d.ids.uuid(),
      now,
    });
    return { plan, podPlan, residentPlan, apps, pods, instances };
  }

  async update(driver: DriverPort, status: TaskStatus): Promise<void> {
    this.#driver = driver;
    const now = this.#d.clock.now();
    const taskId = status.task_id.value;
    const instanceId = instanceIdOfTask(taskId);
    const appId = appIdOfInstance(instanceId);
    const before = appId ? await this.#d.store.getInstance(appId, instanceId) : undefined;
    if (!appId || !before) {
      if (!isTerminalState(status.state)) await driver.kill(taskId, status.agent_id?.value);
      this.#d.events.publish("unknown_instance_terminated_event", {
        instanceId,
        runSpecId: appId ?? "",
        condition: status.state,
      });
      return;
    }
    const pod = before.tasks ? await this.#d.store.getPod(appId) : undefined;
    const checked = new Set(pod?.containers.flatMap((c) => (c.healthCheck ? [c.name] : [])));
    const apply = (i: Instance) =>
      i.tasks ? applyPodStatus(i, status, now, checked) : applyStatus(i, status, now);
    const after = apply(before);
    this.#d.events.publish("status_update_event", {
      slaveId: after.agentId ?? "",
      taskId,
      taskStatus: status.state,
      message: status.message ?? "",
      appId,
      host: after.hostname ?? "",
      ipAddresses: [],
      ports: after.hostPorts,
      version: after.version,
    });
    if (after.condition !== before.condition) {
      this.#d.events.publish("instance_changed_event", {
        instanceId,
        condition: after.condition,
        runSpecId: appId,
        agentId: after.agentId ?? "",
        host: after.hostname ?? "",
        runSpecVersion: after.version,
      });
    }
    if (after.healthy !== before.healthy && after.healthy !== undefined) {
      this.#d.events.publish("health_status_changed_event", {
        appId,
        instanceId,
        version: after.version,
        alive: after.healthy,
      });
    }
    if (isTerminal(after.condition) && keepsReservation(before)) {
      // A resident instance outlives its task: it waits on its reservation (Reserved), to be
      // relaunched there while wanted, kept while suspended.
      await this.#d.store.updateInstance(appId, instanceId, (cur) => ({
        ...cur,
        condition: "Reserved",
        since: now,
        reservation: { ...cur.reservation!, state: "Suspended" },
        ...(status.message !== undefined ? { message: status.message } : {}),
      }));
      for (const id of taskIdsOf(after)) this.#killSentAt.delete(id);
      if (before.goal === "Running" && isBackoffWorthy(after.condition)) {
        await this.#recordFailure(appId, after, status, now);
      }
    } else if (isTerminal(after.condition)) {
      await this.#d.store.updateInstance(appId, instanceId, () => undefined);
      if (before.reservation) this.#reviveSoon();
      for (const id of taskIdsOf(after)) this.#killSentAt.delete(id);
      if (before.goal === "Running" && isBackoffWorthy(after.condition)) {
        await this.#recordFailure(appId, after, status, now);
      }
    } else {
      await this.#d.store.updateInstance(appId, instanceId, (cur) => {
        const next = apply(cur);
        // A task that started on its reservation proves the reservation and volumes exist.
        return next.reservation?.state === "New"
          ? { ...next, reservation: { ...next.reservation, state: "Launched" } }
          : { ...next };
      });
    }
    // Not awaited: the update is recorded, so it can be acknowledged (the agent holds the
    // task's next update until then); the pass it calls for serves every update since.
    this.tickSoon();
  }

  /** Records a task's failure (`lastTaskFailure`) and grows its app's launch backoff. */
  async #recordFailure(
    appId: string,
    after: Instance,
    status: TaskStatus,
    now: number,
  ): Promise<void> {
    await this.#d.store.setLastFailure({
      appId,
      host: after.hostname ?? "",
      message: status.message ?? "",
      state: status.state,
      taskId: status.task_id.value,
      timestamp: new Date(now).toISOString(),
      version: after.version,
      slaveId: after.agentId ?? "",
    });
    const app = await this.#runSpec(appId);
    if (app && configVersion(app) === after.version) {
      const state = await this.#d.store.getBackoff(appId);
      const next = this.#d.backoff.failed(app, after.version, state, now);
      await this.#d.store.setBackoff(appId, next);
      // Offers declined meanwhile are filtered: ask again the moment the delay runs out.
      this.#reviveAt(this.#d.backoff.launchAllowedAt(app, after.version, next, now));
    }
  }

  /** Revives offers without waiting (reserved resources to destroy or relaunch on). */
  #reviveSoon(): void {
    if (this.#driver) this.#revive(this.#driver, true).catch(() => {});
  }

  /** An app, or a pod as a run spec. */
  async #runSpec(id: string): Promise<RunSpec | undefined> {
    const app = await this.#d.store.getApp(id);
    if (app) return app;
    const pod = await this.#d.store.getPod(id);
    return pod ? podRunSpec(pod) : undefined;
  }

  disconnected(): void {
    this.#d.events.publish("scheduler_disconnected_event", {});
  }

  /**
   * One reconciliation pass (kills, unreachable, backoff resets, revive, deployments) that
   * starts after this call. Passes run one at a time; callers while one waits to start share it.
   */
  tick(): Promise<void> {
    if (this.#queuedTick) return this.#queuedTick;
    const next = this.#ticking.then(() => {
      this.#queuedTick = undefined;
      return this.#tickOnce();
    });
    this.#queuedTick = next;
    this.#ticking = next.catch(() => {});
    return next;
  }

  async #tickOnce(): Promise<void> {
    const driver = this.#driver;
    const now = this.#d.clock.now();
    const apps = new Map((await this.#d.store.listApps()).map((a) => [a.id, a]));
    const pods = new Map((await this.#d.store.listPods()).map((p) => [p.id, p]));
    const specs = new Map<string, RunSpec>([
      ...apps,
      ...[...pods.values()].map((p) => [p.id, podRunSpec(p)] as const),
    ]);
    const instances = await this.#d.store.listInstances();
    const kills: Instance[] = [];
    let forgotReservation = false;
    for (const i of instances) {
      const app = specs.get(i.appId);
      const verdict = unreachableVerdict(app, i, now);
      if (verdict === "inactive") {
        await this.#d.store.updateInstance(
          i.appId,
          i.instanceId,
          (c) => ({ ...c, condition: "UnreachableInactive", since: now }),
        );
      } else if (verdict === "expunge") {
        // Expunged: forgotten at once (its agent may never answer), killed should it return.
        await this.#d.store.updateInstance(i.appId, i.instanceId, () => undefined);
        if (driver) await this.#kill(driver, i, pods.get(i.appId) ?? apps.get(i.appId), now);
        continue;
      }
      if (i.reservation && (!app || i.goal === "Decommissioned")) {
        // Its app is gone, or it was wiped: the task is killed, then the instance forgotten,
        // and the offers that carry its reservation destroy and unreserve it (garbage).
        if (i.condition === "Reserved") {
          await this.#d.store.updateInstance(i.appId, i.instanceId, () => undefined);
          forgotReservation = true;
        } else if (i.goal !== "Decommissioned") {
          await this.#d.store.updateInstance(
            i.appId,
            i.instanceId,
            (c) => ({ ...c, goal: "Decommissioned" }),
          );
        }
        continue;
      }
      if (!app && isActive(i)) kills.push(i);
      const launchTimeout = this.#d.launchTimeoutMs ?? 300_000;
      if (
        app && i.goal === "Running" && STARTING.has(i.condition) &&
        now - i.stagedAt >= launchTimeout
      ) {
        kills.push(i);
      }
    }
    this.#probeReadiness(apps, instances, now);
    let wantLaunch = false;
    const held = heldApps(await this.#d.store.listDeployments());
    for (const app of specs.values()) {
      if (held.has(app.id)) continue;
      const mine = instances.filter((i) => i.appId === app.id);
      const actions = reconcileApp(app, mine);
      kills.push(...actions.kill);
      if (actions.launch > 0) wantLaunch = true;
      if (mine.some(awaitsRelaunch)) wantLaunch = true;
      if (actions.launch > 0 && isResident(app)) {
        await this.#resume(app, mine, actions.launch);
      }
      await this.#resetBackoffAfterHealthyRun(app, mine, now);
    }
    for (const i of kills) {
      await this.#d.store.updateInstance(i.appId, i.instanceId, (c) => ({ ...c, goal: "Stopped" }));
    }
    if (driver) {
      const stopping = (await this.#d.store.listInstances()).filter((i) =>
        i.goal !== "Running" && !isTerminal(i.condition) && i.condition !== "Reserved"
      );
      for (const i of stopping) {
        await this.#kill(driver, i, pods.get(i.appId) ?? apps.get(i.appId), now);
      }
      // Revive at once when launches become wanted (offers were declined for 30 s before), and
      // when a reservation was let go (the offer carrying it is where it is destroyed).
      if (wantLaunch || forgotReservation) {
        await this.#revive(driver, !this.#wantedLaunch || forgotReservation);
      }
      this.#wantedLaunch = wantLaunch;
      const every = this.#d.reconciliationIntervalMs ?? DEFAULT_RECONCILIATION_INTERVAL_MS;
      if (this.#reconciledAt !== undefined && now - this.#reconciledAt >= every) {
        await this.#reconcile(driver).catch(logTickError);
      }
    }
    await this.#d.service.syncDeployments();
  }

  /**
   * Scaling a resident app up takes back its suspended reservations first (Marathon relaunches
   * on them rather than reserve anew): up to `wanted` of them are wanted running again, on the
   * app's current config.
   */
  async #resume(app: RunSpec, mine: readonly Instance[], wanted: number): Promise<void> {
    const suspended = mine.filter((i) => i.condition === "Reserved" && i.goal === "Stopped");
    for (const i of suspended.slice(0, wanted)) {
      await this.#d.store.updateInstance(i.appId, i.instanceId, (c) => ({
        ...c,
        goal: "Running",
        version: configVersion(app),
      }));
    }
  }

  /** Asks for a pass without waiting for it (its failure is logged). */
  tickSoon(): void {
    this.tick().catch(logTickError);
  }

  /** Runs `tick()` every `intervalMs` until `signal` aborts. */
  async run(signal: AbortSignal, intervalMs = 1000): Promise<void> {
    this.#signal = signal;
    while (!signal.aborted) {
      await this.tick().catch(logTickError);
      await this.#d.clock.sleep(intervalMs, signal).catch(() => {});
    }
  }

  /** Kills an instance's task (each of a pod instance's, with its container's grace). */
  async #kill(
    driver: DriverPort,
    i: Instance,
    spec: App | Pod | undefined,
    now: number,
  ): Promise<void> {
    const tasks = i.tasks
      ? i.tasks.filter((t) => !isTerminal(t.condition)).map((t) => ({
        taskId: t.taskId,
        grace: spec && "containers" in spec
          ? spec.containers.find((c) => c.name === t.name)?.lifecycle?.killGracePeriodSeconds
          : undefined,
      }))
      : [{
        taskId: i.taskId,
        grace: spec && !("containers" in spec) ? spec.taskKillGracePeriodSeconds : undefined,
      }];
    for (const { taskId, grace } of tasks) {
      const sent = this.#killSentAt.get(taskId);
      if (sent !== undefined && now - sent < RESEND_KILL_MS) continue;
      this.#killSentAt.set(taskId, now);
      try {
        await driver.kill(taskId, i.agentId, grace !== undefined ? grace * 1000 : undefined);
      } catch (e) {
        console.error(
          JSON.stringify({ level: "warn", msg: "marathon kill", taskId, error: String(e) }),
        );
      }
    }
  }

  /**
   * Revives offers at time `at` (while `run()` runs), e.g. when a launch backoff ends: counted
   * from when the failure was handled, not from when its records were written.
   */
  #reviveAt(at: number): void {
    const signal = this.#signal;
    if (!signal || signal.aborted) return;
    this.#d.clock.sleep(Math.max(0, at - this.#d.clock.now()), signal)
      .then(() => (this.#driver ? this.#revive(this.#driver, true) : undefined))
      .catch(() => {});
  }

  async #revive(driver: DriverPort, force: boolean): Promise<void> {
    const now = this.#d.clock.now();
    if (!force && now - this.#lastRevive < REVIVE_EVERY_MS) return;
    this.#lastRevive = now;
    await driver.revive().catch(() => {});
  }

  /** Starts due readiness probes in the background (a slow endpoint never holds a tick up). */
  #probeReadiness(
    apps: ReadonlyMap<string, App>,
    instances: readonly Instance[],
    now: number,
  ): void {
    for (const i of instances) {
      const app = apps.get(i.appId);
      if (!app || configVersion(app) !== i.version || !readinessDue(app, i, now)) continue;
      if (this.#probing.has(i.instanceId)) continue;
      const probe = probeReadiness(app, i)
        .then((ready) =>
          this.#d.store.updateInstance(
            i.appId,
            i.instanceId,
            (c) => ({ ...c, ready, readinessProbedAt: now }),
          )
        )
        .then(() => {}, () => {})
        .finally(() => this.#probing.delete(i.instanceId));
      this.#probing.set(i.instanceId, probe);
    }
  }

  /** Resolves once the passes asked for so far have run (tests and shutdown). */
  async settled(): Promise<void> {
    await this.#ticking;
  }

  /** Resolves once no readiness probe is in flight (tests and shutdown). */
  async probesSettled(): Promise<void> {
    await Promise.all(this.#probing.values());
  }

  async #resetBackoffAfterHealthyRun(
    app: RunSpec,
    mine: readonly Instance[],
    now: number,
  ): Promise<void> {
    const state = await this.#d.store.getBackoff(app.id);
    if (!state) return;
    const runs = mine.filter((i) => isHealthy(app, i) && i.startedAt !== undefined).map((i) =>
      i.startedAt!
    );
    const earliest = runs.length > 0 ? Math.min(...runs) : undefined;
    if (earliest === undefined) return;
    const next = this.#d.backoff.ran(state, earliest, now);
    if (next === undefined) await this.#d.store.setBackoff(app.id, undefined);
  }
}

/**
 * Whether an instance keeps its reservation when its task ends: a resident one whose
 * reservation was made (a first launch that never started may have reserved nothing), unless
 * it is being decommissioned (its app deleted).
 */
function keepsReservation(i: Instance): boolean {
  return i.reservation !== undefined && i.reservation.state !== "New" &&
    i.goal !== "Decommissioned";
}

/** A resident instance waiting on its reservation for a relaunch. */
function awaitsRelaunch(i: Instance): boolean {
  return i.condition === "Reserved" && i.goal === "Running";
}

function logTickError(e: unknown): void {
  console.error(JSON.stringify({ level: "error", msg: "marathon tick", error: String(e) }));
}
