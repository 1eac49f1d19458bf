/**
 * The Marathon scheduler's shell, on the SDK: it runs the core's operations (`core/scheduler_core.ts`)
 * one at a time — a subscription, a status update, a reconciliation pass, a readiness answer —
 * and for each persists the changes (`MarathonStore.apply`), then makes the driver calls, then
 * publishes the events. A failed write (a lost race is tried again on the newer books; a deposed
 * leader's `LeadershipLostError` is not) sends nothing. Real I/O stays here: offers are planned by
 * the core and their secrets resolved here, per launch, into the TaskInfos only; readiness probes
 * run here and come back as `readiness()` operations; a revive asked for later is a timer.
 * A pass runs every second, after each status update and when a deployment starts or moves on;
 * after it the service moves deployments on (`syncDeployments`).
 */
import type { Scheduler, SchedulerDriver, SubscribedInfo } from "../../../mod.ts";
import { type Clock, type Ids, TenderError } from "../../../base/mod.ts";
import type { Offer, TaskStatus } from "../../../protocol/mod.ts";
import { type SecretOwner, secretSources } from "../secrets/app_secrets.ts";
import type { SecretStore } from "../secrets/secret_store.ts";
import type { Backoff } from "../deployment/backoff.ts";
import type { EventBus } from "../events/event_bus.ts";
import type { Instance } from "../model/instance.ts";
import type { MarathonService } from "../service/marathon_service.ts";
import type { MarathonStore } from "../store/store.ts";
import type { DriverCall, Launched } from "../core/changes.ts";
import { secretOwners } from "../core/offers.ts";
import { mergeChanges, PendingBooks } from "../core/pending_books.ts";
import {
  DEFAULT_RECONCILIATION_INTERVAL_MS,
  SchedulerCore,
  type SchedulerOutcome,
} from "../core/scheduler_core.ts";
import { probeReadiness } from "./readiness.ts";

export { DEFAULT_RECONCILIATION_INTERVAL_MS };

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

/** The driver calls the scheduler makes (a `SchedulerDriver` is one; tests pass a fake). */
export type DriverPort = Pick<
  SchedulerDriver,
  "launch" | "accept" | "decline" | "kill" | "reconcile" | "revive"
>;

/** An operation waiting to be computed and written. */
interface QueuedOperation {
  compute: (core: SchedulerCore) => SchedulerOutcome;
  send: (calls: readonly DriverCall[]) => Promise<void>;
  /** Called once the outcome `compute` answered last is written and its calls made. */
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** How many times an operation whose write lost a race is run again on the newer books. */
const ATTEMPTS = 5;

/** The Marathon scheduler. Hand it to a `SchedulerDriver` and call `run()` beside it. */
export class MarathonScheduler implements Scheduler {
  readonly #d: MarathonSchedulerDeps;
  #driver: DriverPort | undefined;
  #core: Promise<SchedulerCore> | undefined;
  /** The books with the changes of the batch being computed. */
  #pending: PendingBooks | undefined;
  /** Operations waiting for the batch in flight. */
  #queue: QueuedOperation[] = [];
  #flushing: Promise<void> | undefined;
  /** Their driver calls, in the operations' order. */
  #sending: Promise<void> = Promise.resolve();
  #ticking: Promise<void> = Promise.resolve();
  #queuedTick: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  readonly #probing = new Map<string, Promise<void>>();
  /** Why the last offers did not fit, per app (for `/v2/queue`). */
  readonly lastReasons = new Map<string, string[]>();

  constructor(deps: MarathonSchedulerDeps) {
    this.#d = deps;
  }

  /** The core, over the books (read from the store on first use) and the pending changes. */
  #theCore(): Promise<SchedulerCore> {
    this.#core ??= this.#d.store.state().then((books) => {
      this.#pending = new PendingBooks(books);
      return new SchedulerCore({
        books: this.#pending,
        backoff: this.#d.backoff,
        ids: this.#d.ids,
        ...(this.#d.launchTimeoutMs !== undefined
          ? { launchTimeoutMs: this.#d.launchTimeoutMs }
          : {}),
        ...(this.#d.reconciliationIntervalMs !== undefined
          ? { reconciliationIntervalMs: this.#d.reconciliationIntervalMs }
          : {}),
        ...(this.#d.role !== undefined ? { role: this.#d.role } : {}),
        ...(this.#d.principal !== undefined ? { principal: this.#d.principal } : {}),
      });
    });
    this.#core.catch(() => (this.#core = undefined));
    return this.#core;
  }

  /**
   * Runs an operation after those before it. Operations are computed one at a time, each on the
   * books with the changes of those before it; the operations that queued while a write was in
   * flight are written together, in one write (group commit: a burst of status updates is one
   * KV commit, not one each). Once the write landed their events are published and their driver
   * calls queued behind earlier ones; an operation resolves once its own calls are made. A write
   * that lost a race runs the batch again on the newer books; any other failure fails the batch.
   */
  #run<T extends SchedulerOutcome>(
    compute: (core: SchedulerCore) => T,
    send: (calls: readonly DriverCall[]) => Promise<void>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let computed: T | undefined;
      this.#queue.push({
        compute: (core) => (computed = compute(core)),
        send,
        resolve: () => resolve(computed!),
        reject,
      });
      this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    });
  }

  async #flush(): Promise<void> {
    let core: SchedulerCore;
    try {
      core = await this.#theCore();
    } catch (e) {
      for (const op of this.#queue.splice(0)) op.reject(e);
      return;
    }
    while (this.#queue.length > 0) await this.#runBatch(core, this.#queue.splice(0));
  }

  async #runBatch(core: SchedulerCore, batch: QueuedOperation[]): Promise<void> {
    const pending = this.#pending!;
    const memo = core.memo;
    for (let attempt = 1;; attempt++) {
      const outs: (SchedulerOutcome | { error: unknown })[] = batch.map((op) => {
        try {
          const out = op.compute(core);
          pending.add(out.changes);
          core.settle(out);
          return out;
        } catch (error) {
          return { error };
        }
      });
      const changes = mergeChanges(outs.flatMap((o) => ("error" in o ? [] : o.changes)));
      try {
        await this.#d.store.apply(changes);
      } catch (e) {
        pending.clear();
        core.restore(memo);
        if (attempt < ATTEMPTS && e instanceof TenderError && e.code === "conflict") continue;
        for (const op of batch) op.reject(e);
        return;
      }
      pending.clear();
      batch.forEach((op, i) => {
        const out = outs[i]!;
        if ("error" in out) return op.reject(out.error);
        for (const e of out.events) this.#d.events.publish(e.type, e.data);
        const sent = out.driver.length === 0
          ? Promise.resolve()
          : this.#sending.then(() => op.send(out.driver));
        this.#sending = sent.catch(() => {});
        sent.then(() => op.resolve(), op.reject);
      });
      return;
    }
  }

  /** Makes driver calls in order; a failure stops there and is thrown. */
  async #sendStrict(calls: readonly DriverCall[]): Promise<void> {
    for (const c of calls) await this.#call(c);
  }

  /** Makes driver calls in order; a failure is logged and the rest are made. */
  async #sendLogged(calls: readonly DriverCall[]): Promise<void> {
    for (const c of calls) {
      await this.#call(c).catch((e) =>
        c.type === "kill"
          ? console.error(
            JSON.stringify({
              level: "warn",
              msg: "marathon kill",
              taskId: c.taskId,
              error: String(e),
            }),
          )
          : logTickError(e)
      );
    }
  }

  async #call(c: DriverCall): Promise<void> {
    const driver = this.#driver;
    if (!driver) return;
    switch (c.type) {
      case "kill":
        return await driver.kill(c.taskId, c.agentId, c.graceMs);
      case "reconcile":
        return await driver.reconcile(c.tasks);
      case "revive":
        if (c.at !== undefined) return this.#reviveAt(c.at);
        return await driver.revive().catch(() => {});
      case "launch":
        return await driver.launch([c.offerId], c.tasks, { refuse_seconds: c.refuseSeconds });
      case "accept":
        return await driver.accept([c.offerId], c.operations, { refuse_seconds: c.refuseSeconds });
      case "decline":
        return await driver.decline(c.offerIds, { refuse_seconds: c.refuseSeconds });
    }
  }

  async subscribed(driver: DriverPort, info: SubscribedInfo): Promise<void> {
    this.#driver = driver;
    await this.#run(
      (core) =>
        core.subscribed(
          { frameworkId: info.frameworkId, resubscribed: info.resubscribed },
          this.#d.clock.now(),
        ),
      (calls) => this.#sendStrict(calls),
    );
  }

  /**
   * Offers: the core plans them (after a pass that sends the kills a restart's launches wait
   * for, when there are such), the secrets the launches need are read here, then the core's
   * launches are recorded and sent. A launch the driver refuses goes back to the core.
   */
  async offers(driver: DriverPort, offers: Offer[]): Promise<void> {
    this.#driver = driver;
    const core = await this.#theCore();
    let plans = core.planOffers(offers, this.#d.clock.now());
    if (plans.awaitsKills) {
      await this.tick();
      plans = core.planOffers(offers, this.#d.clock.now());
    }
    this.lastReasons.clear();
    for (const [id, reasons] of plans.reasons) this.lastReasons.set(id, reasons);
    const secrets = new Map<string, ReadonlyMap<string, string> | Error>();
    for (const owner of secretOwners(plans)) {
      // Decrypted here, per launch, into the TaskInfos only (never stored).
      secrets.set(
        owner.id,
        await this.#secretValues(owner).catch((e) => e instanceof Error ? e : new Error(String(e))),
      );
    }
    const refused: { launched: Launched[]; error: unknown }[] = [];
    await this.#run((core) => core.launch(plans, secrets), async (calls) => {
      for (const c of calls) {
        if (c.type !== "launch" && c.type !== "accept") {
          await this.#call(c);
          continue;
        }
        const launched = c.launched;
        await this.#call(c).catch((error) => {
          if (launched) refused.push({ launched, error });
          else logTickError(`reservation cleanup failed: ${String(error)}`);
        });
      }
    });
    for (const { launched, error } of refused) {
      await this.#run(
        (core) => core.launchFailed(launched, error),
        (calls) => this.#sendLogged(calls),
      );
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

  async update(driver: DriverPort, status: TaskStatus): Promise<void> {
    this.#driver = driver;
    await this.#run(
      (core) => core.update(status, this.#d.clock.now()),
      (calls) => this.#sendStrict(calls),
    );
    // Not awaited: the update is recorded, so it can be acknowledged (the agent holds the
    // task's next update until then); the pass it calls for serves every update since.
    this.tickSoon();
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
    const out = await this.#run(
      (core) => core.tick(this.#d.clock.now(), this.#driver !== undefined),
      (calls) => this.#sendLogged(calls),
    );
    this.#probeReadiness(out.probes);
    await this.#d.service.syncDeployments();
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

  /**
   * Revives offers at time `at` (while `run()` runs), e.g. when a launch backoff ends: counted
   * from when the failure was handled, not from when its records were written.
   */
  #reviveAt(at: number): void {
    const signal = this.#signal;
    if (!signal || signal.aborted) return;
    this.#d.clock.sleep(Math.max(0, at - this.#d.clock.now()), signal)
      .then(() =>
        this.#run(
          (core) => core.reviveDue(this.#d.clock.now()),
          (calls) => this.#sendLogged(calls),
        )
      )
      .catch(() => {});
  }

  /** Starts due readiness probes in the background (a slow endpoint never holds a tick up). */
  #probeReadiness(
    probes: readonly { app: Parameters<typeof probeReadiness>[0]; instance: Instance }[],
  ) {
    const now = this.#d.clock.now();
    for (const { app, instance: i } of probes) {
      if (this.#probing.has(i.instanceId)) continue;
      const probe = probeReadiness(app, i)
        .then((ready) =>
          this.#run(
            (core) => core.readiness({ appId: i.appId, instanceId: i.instanceId, ready }, now),
            (calls) => this.#sendLogged(calls),
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
}

function logTickError(e: unknown): void {
  console.error(JSON.stringify({ level: "error", msg: "marathon tick", error: String(e) }));
}
