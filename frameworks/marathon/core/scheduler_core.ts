/**
 * The Marathon scheduler's decisions, pure: each operation (a subscription, a status update, a
 * reconciliation pass, a readiness result, a plan of offers) reads the books and answers an
 * `Outcome` — the instance, backoff and failure records to persist, the driver calls to make once
 * they are, the events to publish. Time comes in as `now`; ids from the `Ids` passed in. Besides the
 * books it keeps only what Marathon keeps in memory (when each kill was sent, the last revive and
 * reconciliation), as a `SchedulerMemo` an outcome carries and the shell settles once it is persisted.
 */
import type { Ids } from "../../../base/mod.ts";
import { isTerminalState, type Offer, type TaskStatus } from "../../../protocol/mod.ts";
import { appIdOfInstance, instanceIdOfTask } from "../app/path_id.ts";
import { type App, isResident } from "../app/normalize.ts";
import type { Backoff } from "../deployment/backoff.ts";
import { heldApps } from "../deployment/progress.ts";
import { configVersion, isHealthy, reconcileApp } from "../deployment/reconcile.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import { type Instance, isActive, isBackoffWorthy, isTerminal } from "../model/instance.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import { applyStatus, unreachableVerdict } from "../scheduler/instance_status.ts";
import { applyPodStatus } from "../scheduler/pod_status.ts";
import { readinessDue } from "../scheduler/readiness.ts";
import { type Launched, type Outcome, outcome } from "./changes.ts";
import {
  awaitsRelaunch,
  launchFailed,
  launchOffers,
  type OfferPlans,
  planOffers,
  type SecretValues,
} from "./offers.ts";
import { InstanceDraft } from "./instance_draft.ts";
import {
  keepsReservation,
  killInto,
  reconcileInto,
  resume,
  taskIdsOf,
} from "./instance_actions.ts";
import type { MarathonBooks } from "./state.ts";

/** Marathon's default `reconciliation_interval`. */
export const DEFAULT_RECONCILIATION_INTERVAL_MS = 600_000;
const REVIVE_EVERY_MS = 5_000;

const STARTING: ReadonlySet<Instance["condition"]> = new Set([
  "Provisioned",
  "Staging",
  "Starting",
]);

/** What the scheduler remembers between operations, in memory only (as Marathon does). */
export interface SchedulerMemo {
  /** When a kill was last sent, by task id (kills are re-sent every 10 s until a terminal status). */
  readonly killSentAt: ReadonlyMap<string, number>;
  lastRevive: number;
  /** When task states were last reconciled with the master (since the driver subscribed). */
  reconciledAt: number | undefined;
  /** Whether the last pass wanted launches (a new want revives at once). */
  wantedLaunch: boolean;
}

/** An outcome and the memo to keep once it is persisted. */
export interface SchedulerOutcome extends Outcome {
  memo: SchedulerMemo;
}

/** A pass's outcome, and the readiness probes now due (the shell runs them, `readiness()` takes the answer). */
export interface TickOutcome extends SchedulerOutcome {
  probes: { app: App; instance: Instance }[];
}

/** What the core needs besides the books. */
export interface SchedulerCoreOptions {
  books: MarathonBooks;
  backoff: Backoff;
  ids: Ids;
  /** Instances not running this long after launch are killed and replaced (default 300 s). */
  launchTimeoutMs?: number;
  /** Task states are reconciled with the master this often (default 600 s, as Marathon). */
  reconciliationIntervalMs?: number;
  /** The framework's role (`--mesos-role`): resident apps reserve for it (default `*`). */
  role?: string;
  /** The framework's principal, recorded on reservations and volumes. */
  principal?: string;
}

/** The scheduler's operations over the books. */
export class SchedulerCore {
  readonly #o: SchedulerCoreOptions;
  #memo: SchedulerMemo = {
    killSentAt: new Map(),
    lastRevive: 0,
    reconciledAt: undefined,
    wantedLaunch: false,
  };

  constructor(options: SchedulerCoreOptions) {
    this.#o = options;
  }

  /** Keeps an outcome's memo (the shell: once its changes are persisted, or gathered to be). */
  settle(done: SchedulerOutcome): void {
    this.#memo = done.memo;
  }

  /** The memo now, to `restore` when the write of the outcomes settled since fails. */
  get memo(): SchedulerMemo {
    return this.#memo;
  }

  restore(memo: SchedulerMemo): void {
    this.#memo = memo;
  }

  /**
   * The driver subscribed: the framework id is kept, task states are reconciled (every task
   * Marathon knows, then implicitly every task the master runs for it) and offers revived.
   */
  subscribed(info: { frameworkId: string; resubscribed: boolean }, now: number): SchedulerOutcome {
    const out = this.#start();
    out.changes.push({ kind: "framework_id", value: info.frameworkId });
    out.events.push({
      type: info.resubscribed ? "scheduler_reregistered_event" : "scheduler_registered_event",
      data: { frameworkId: info.frameworkId },
    });
    reconcileInto(out, this.#o.books.instances(), now);
    this.#revive(out, true, now);
    return out;
  }

  /** A status update: the instance's bookkeeping, backoff on failures, events. */
  update(status: TaskStatus, now: number): SchedulerOutcome {
    const out = this.#start();
    const books = this.#o.books;
    const taskId = status.task_id.value;
    const instanceId = instanceIdOfTask(taskId);
    const appId = appIdOfInstance(instanceId);
    const before = appId ? books.instance(appId, instanceId) : undefined;
    if (!appId || !before) {
      if (!isTerminalState(status.state)) {
        out.driver.push({
          type: "kill",
          taskId,
          ...(status.agent_id?.value ? { agentId: status.agent_id.value } : {}),
        });
      }
      out.events.push({
        type: "unknown_instance_terminated_event",
        data: { instanceId, runSpecId: appId ?? "", condition: status.state },
      });
      return out;
    }
    const pod = before.tasks ? books.pod(appId) : undefined;
    const checked = new Set(pod?.containers.flatMap((c) => (c.healthCheck ? [c.name] : [])));
    const after = before.tasks
      ? applyPodStatus(before, status, now, checked)
      : applyStatus(before, status, now);
    out.events.push({
      type: "status_update_event",
      data: {
        slaveId: after.agentId ?? "",
        taskId,
        taskStatus: status.state,
        message: status.message ?? "",
        appId,
        host: after.hostname ?? "",
        ipAddresses: [],
        ports: after.hostPorts,
        version: after.version,
      },
    });
    if (after.condition !== before.condition) {
      out.events.push({
        type: "instance_changed_event",
        data: {
          instanceId,
          condition: after.condition,
          runSpecId: appId,
          agentId: after.agentId ?? "",
          host: after.hostname ?? "",
          runSpecVersion: after.version,
        },
      });
    }
    if (after.healthy !== before.healthy && after.healthy !== undefined) {
      out.events.push({
        type: "health_status_changed_event",
        data: { appId, instanceId, version: after.version, alive: after.healthy },
      });
    }
    const draft = new InstanceDraft(books);
    const killSentAt = new Map(out.memo.killSentAt);
    if (isTerminal(after.condition)) {
      if (keepsReservation(before)) {
        // A resident instance outlives its task: it waits on its reservation (Reserved), to be
        // relaunched there while wanted, kept while suspended.
        draft.set({
          ...before,
          condition: "Reserved",
          since: now,
          reservation: { ...before.reservation!, state: "Suspended" },
          ...(status.message !== undefined ? { message: status.message } : {}),
        });
      } else {
        draft.delete(appId, instanceId);
        // Reserved resources to destroy: offers at once.
        if (before.reservation) this.#revive(out, true, now);
      }
      for (const id of taskIdsOf(after)) killSentAt.delete(id);
      out.memo = { ...out.memo, killSentAt };
      if (before.goal === "Running" && isBackoffWorthy(after.condition)) {
        this.#recordFailure(out, { appId, after, status, now });
      }
    } else {
      // A task that started on its reservation proves the reservation and volumes exist.
      draft.set(
        after.reservation?.state === "New"
          ? { ...after, reservation: { ...after.reservation, state: "Launched" } }
          : { ...after },
      );
    }
    out.changes.unshift(...draft.changes());
    return out;
  }

  /** Records a task's failure (`lastTaskFailure`) and grows its app's launch backoff. */
  #recordFailure(
    out: SchedulerOutcome,
    f: { appId: string; after: Instance; status: TaskStatus; now: number },
  ): void {
    const { appId, after, status, now } = f;
    out.changes.push({
      kind: "last_failure",
      appId,
      value: {
        appId,
        host: after.hostname ?? "",
        message: status.message ?? "",
        state: status.state,
        taskId: status.task_id.value,
        timestamp: new Date(now).toISOString(),
        version: after.version,
        slaveId: after.agentId ?? "",
      },
    });
    const app = this.#runSpec(appId);
    if (app && configVersion(app) === after.version) {
      const next = this.#o.backoff.failed(app, after.version, this.#o.books.backoff(appId), now);
      out.changes.push({ kind: "backoff", id: appId, value: next });
      // Offers declined meanwhile are filtered: ask again the moment the delay runs out.
      out.driver.push({
        type: "revive",
        at: this.#o.backoff.launchAllowedAt(app, after.version, next, now),
      });
    }
  }

  /** A revive asked for earlier (`{type: "revive", at}`) is due. */
  reviveDue(now: number): SchedulerOutcome {
    const out = this.#start();
    this.#revive(out, true, now);
    return out;
  }

  /**
   * One reconciliation pass: unreachable instances, launch timeouts, instances of apps gone,
   * surplus and replaced instances killed (`reconcileApp`), resident instances resumed or let go,
   * backoff reset after a healthy run, offers revived when launches are wanted, the periodic
   * reconciliation with the master; and the readiness probes due. Without a driver (`connected`
   * false: none has subscribed yet) nothing is sent.
   */
  tick(now: number, connected: boolean): TickOutcome {
    const out: TickOutcome = { ...this.#start(), probes: [] };
    const books = this.#o.books;
    const draft = new InstanceDraft(books);
    const apps = new Map(books.apps().map((a) => [a.id, a]));
    const pods = new Map(books.pods().map((p) => [p.id, p]));
    const specs = new Map<string, RunSpec>([
      ...apps,
      ...[...pods.values()].map((p) => [p.id, podRunSpec(p)] as const),
    ]);
    const instances = books.instances();
    const killSentAt = new Map(out.memo.killSentAt);
    const kills: Instance[] = [];
    let forgotReservation = false;
    for (const i of instances) {
      const app = specs.get(i.appId);
      const verdict = unreachableVerdict(app, i, now);
      if (verdict === "inactive") {
        draft.update(i.appId, i.instanceId, (c) => ({
          ...c,
          condition: "UnreachableInactive",
          since: now,
        }));
      } else if (verdict === "expunge") {
        // Expunged: forgotten at once (its agent may never answer), killed should it return.
        draft.delete(i.appId, i.instanceId);
        if (connected) {
          killInto(out, killSentAt, i, pods.get(i.appId) ?? apps.get(i.appId), now);
        }
        continue;
      }
      if (i.reservation && (!app || i.goal === "Decommissioned")) {
        // Its app is gone, or it was wiped: the task is killed, then the instance forgotten,
        // and the offers that carry its reservation destroy and unreserve it (garbage).
        if (i.condition === "Reserved") {
          draft.delete(i.appId, i.instanceId);
          forgotReservation = true;
        } else if (i.goal !== "Decommissioned") {
          draft.update(i.appId, i.instanceId, (c) => ({ ...c, goal: "Decommissioned" }));
        }
        continue;
      }
      if (!app && isActive(i)) kills.push(i);
      const launchTimeout = this.#o.launchTimeoutMs ?? 300_000;
      if (
        app && i.goal === "Running" && STARTING.has(i.condition) &&
        now - i.stagedAt >= launchTimeout
      ) {
        kills.push(i);
      }
    }
    for (const i of instances) {
      const app = apps.get(i.appId);
      if (app && configVersion(app) === i.version && readinessDue(app, i, now)) {
        out.probes.push({ app, instance: i });
      }
    }
    let wantLaunch = false;
    const held = heldApps(books.deployments());
    for (const app of specs.values()) {
      if (held.has(app.id)) continue;
      const mine = instances.filter((i) => i.appId === app.id);
      const actions = reconcileApp(app, mine);
      kills.push(...actions.kill);
      if (actions.launch > 0) wantLaunch = true;
      if (mine.some(awaitsRelaunch)) wantLaunch = true;
      if (actions.launch > 0 && isResident(app)) resume(draft, app, mine, actions.launch);
      this.#resetBackoffAfterHealthyRun(out, app, mine, now);
    }
    for (const i of kills) draft.update(i.appId, i.instanceId, (c) => ({ ...c, goal: "Stopped" }));
    if (connected) {
      const stopping = draft.all().filter((i) =>
        i.goal !== "Running" && !isTerminal(i.condition) && i.condition !== "Reserved"
      );
      for (const i of stopping) {
        killInto(out, killSentAt, i, pods.get(i.appId) ?? apps.get(i.appId), now);
      }
      // Revive at once when launches become wanted (offers were declined for 30 s before), and
      // when a reservation was let go (the offer carrying it is where it is destroyed).
      if (wantLaunch || forgotReservation) {
        this.#revive(out, !out.memo.wantedLaunch || forgotReservation, now);
      }
      out.memo.wantedLaunch = wantLaunch;
      const every = this.#o.reconciliationIntervalMs ?? DEFAULT_RECONCILIATION_INTERVAL_MS;
      if (out.memo.reconciledAt !== undefined && now - out.memo.reconciledAt >= every) {
        reconcileInto(out, draft.all(), now);
      }
    }
    out.memo = { ...out.memo, killSentAt };
    out.changes.unshift(...draft.changes());
    return out;
  }

  /** A readiness probe's answer, taken at `probedAt`. */
  readiness(
    probe: { appId: string; instanceId: string; ready: boolean },
    probedAt: number,
  ): SchedulerOutcome {
    const out = this.#start();
    const draft = new InstanceDraft(this.#o.books);
    draft.update(probe.appId, probe.instanceId, (c) => ({
      ...c,
      ready: probe.ready,
      readinessProbedAt: probedAt,
    }));
    out.changes.push(...draft.changes());
    return out;
  }

  /** Plans launches on `offers` (`core/offers.ts`); nothing changes until `launch()`. */
  planOffers(offers: readonly Offer[], now: number): OfferPlans {
    return planOffers(
      {
        books: this.#o.books,
        backoff: this.#o.backoff,
        uuid: () => this.#o.ids.uuid(),
        role: this.#o.role ?? "*",
        ...(this.#o.principal ? { principal: this.#o.principal } : {}),
      },
      offers,
      now,
    );
  }

  /** The planned launches, with the secret values the shell read for them. */
  launch(plans: OfferPlans, secrets: SecretValues): SchedulerOutcome {
    return { ...launchOffers(this.#o.books, plans, secrets), memo: { ...this.#memo } };
  }

  /** A launch the driver refused (`launched` as its call named them). */
  launchFailed(launched: readonly Launched[], error: unknown): SchedulerOutcome {
    return { ...launchFailed(this.#o.books, launched, error), memo: { ...this.#memo } };
  }

  #runSpec(id: string): RunSpec | undefined {
    const app = this.#o.books.app(id);
    if (app) return app;
    const pod = this.#o.books.pod(id);
    return pod ? podRunSpec(pod) : undefined;
  }

  #resetBackoffAfterHealthyRun(
    out: Outcome,
    app: RunSpec,
    mine: readonly Instance[],
    now: number,
  ): void {
    const state = this.#o.books.backoff(app.id);
    if (!state) return;
    const runs = mine.filter((i) => isHealthy(app, i) && i.startedAt !== undefined)
      .map((i) => i.startedAt!);
    if (runs.length === 0) return;
    if (this.#o.backoff.ran(state, Math.min(...runs), now) === undefined) {
      out.changes.push({ kind: "backoff", id: app.id, value: null });
    }
  }

  #revive(out: SchedulerOutcome, force: boolean, now: number): void {
    if (!force && now - out.memo.lastRevive < REVIVE_EVERY_MS) return;
    out.memo.lastRevive = now;
    out.driver.push({ type: "revive" });
  }

  #start(): SchedulerOutcome {
    return { ...outcome(), memo: { ...this.#memo } };
  }
}
