/**
 * Keeps Marathon's framework at the master. The SDK's driver gives up when the master says the
 * framework is gone — torn down, its failover timeout passed, or taken over by another
 * scheduler subscribing with its id ("Framework failed over") — and a Marathon that went on
 * as before would report tasks running that the master has killed. Real Marathon exits
 * ("committing suicide", forgetting the framework id when the master removed it) and leaves it
 * to its supervisor or a standby; Tender's Marathon is often embedded, so it does the same in
 * place: it logs the loss as an error, reports it (`loss`: `/v2/info`, `/ping` answers 503, a
 * counter in `/metrics`) and registers again with a new driver after a backoff — as a new
 * framework when the master removed the old one (the new registration reconciles the stored
 * instances, finds them unknown, and the apps are launched again), with the same id otherwise.
 */
import type { Scheduler, SchedulerDriver, SubscribedInfo } from "../../../mod.ts";
import type { Clock, Logger } from "../../../base/mod.ts";

/** Why Marathon has no framework at the master right now. */
export interface FrameworkLoss {
  message: string;
  /** When it was noticed (ISO 8601). */
  at: string;
}

/** Options of `FrameworkKeeper`. */
export interface FrameworkKeeperOptions {
  /** Builds a driver for `scheduler`, re-subscribing as `frameworkId` when given. */
  makeDriver(scheduler: Scheduler, frameworkId: string | undefined): SchedulerDriver;
  /** The framework id to subscribe with at first (the stored one). */
  frameworkId: string | undefined;
  clock: Clock;
  log: Logger;
  /** First delay before registering again (default 1 s), doubling to `maxRetryMs` (30 s). */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * Called, instead of subscribing again, when another scheduler took the framework over
   * ("Framework failed over"): a Marathon among several steps down (the new leader holds it);
   * alone, it takes the framework back.
   */
  onTakenOver?: (message: string) => void;
}

/** Runs Marathon's driver and replaces it when the master ends the framework. */
export class FrameworkKeeper {
  readonly #scheduler: Scheduler;
  readonly #options: FrameworkKeeperOptions;
  readonly #life = new AbortController();
  #driver: SchedulerDriver;
  #loss: FrameworkLoss | undefined;
  #failures = 0;
  /** How many times the framework was lost since start. */
  losses = 0;

  constructor(scheduler: Scheduler, options: FrameworkKeeperOptions) {
    this.#scheduler = scheduler;
    this.#options = options;
    this.#driver = options.makeDriver(this.#watching(), options.frameworkId);
  }

  /** The driver now in use (a new one after each loss). */
  get driver(): SchedulerDriver {
    return this.#driver;
  }

  /** Why the framework is lost, while it is (undefined once registered again). */
  get loss(): FrameworkLoss | undefined {
    return this.#loss;
  }

  /** Starts the first driver; later ones start by themselves. */
  start(): void {
    this.#start(this.#driver);
  }

  /** Stops the driver (the framework stays registered, for failover) and registers no more. */
  async stop(): Promise<void> {
    this.#life.abort();
    await this.#driver.stop();
  }

  #start(driver: SchedulerDriver): void {
    driver.start().catch((e) => {
      // A refused first SUBSCRIBE (401, 403, a removed id): the driver gave up at once.
      if (!this.#life.signal.aborted && driver === this.#driver) void this.#lost(driver, e);
    });
  }

  /** The scheduler as the driver sees it: Marathon's, plus noticing when the driver gave up. */
  #watching(): Scheduler {
    const s = this.#scheduler;
    return {
      subscribed: (driver: SchedulerDriver, info: SubscribedInfo) => {
        if (this.#loss) {
          this.#options.log.warn("marathon registered again", {
            frameworkId: info.frameworkId,
            lost: this.#loss.message,
          });
        }
        this.#loss = undefined;
        this.#failures = 0;
        return s.subscribed?.(driver, info);
      },
      offers: (d, o) => s.offers?.(d, o),
      rescind: (d, o) => s.rescind?.(d, o),
      update: (d, u) => s.update?.(d, u),
      message: (d, m) => s.message?.(d, m),
      failure: (d, f) => s.failure?.(d, f),
      disconnected: (d, r) => s.disconnected?.(d, r),
      error: async (driver: SchedulerDriver, message: string) => {
        await s.error?.(driver, message);
        // The driver stops itself only when the master made further work pointless.
        if (driver.running || this.#life.signal.aborted || driver !== this.#driver) {
          if (!s.error) this.#options.log.warn("scheduler driver", { error: message });
          return;
        }
        void this.#lost(driver, message);
      },
    };
  }

  async #lost(driver: SchedulerDriver, reason: unknown): Promise<void> {
    const message = reason instanceof Error ? reason.message : String(reason);
    // Mesos' "Framework has been removed", Tender's 'Framework "x" has been removed; …'. Any
    // other refusal (a 401, a principal the id is not bound to) keeps the id: a new framework
    // would run the apps twice beside tasks the master still has.
    const removed = /has been removed/i.test(message);
    const frameworkId = removed ? undefined : driver.frameworkId;
    const takenOver = !removed && /failed over/i.test(message) && this.#options.onTakenOver;
    this.losses++;
    this.#loss = { message, at: new Date(this.#options.clock.now()).toISOString() };
    const retryMs = Math.min(
      (this.#options.retryMs ?? 1000) * 2 ** this.#failures++,
      this.#options.maxRetryMs ?? 30_000,
    );
    this.#options.log.error("marathon lost its framework at the master", {
      reason: message,
      frameworkId: driver.frameworkId ?? null,
      next: removed
        ? "registering as a new framework"
        : takenOver
        ? "stepping down"
        : "subscribing again as the same framework",
      inMs: takenOver ? 0 : retryMs,
    });
    if (takenOver) {
      await driver.stop().catch(() => {});
      takenOver(message);
      return;
    }
    await this.#options.clock.sleep(retryMs, this.#life.signal).catch(() => {});
    if (this.#life.signal.aborted || driver !== this.#driver) return;
    await driver.stop().catch(() => {});
    const next = this.#options.makeDriver(this.#watching(), frameworkId);
    this.#driver = next;
    this.#start(next);
  }
}
