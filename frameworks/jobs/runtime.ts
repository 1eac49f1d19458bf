/**
 * The jobs framework's shell around its core: runs one operation at a time, commits the records
 * it changed, and only then makes the driver calls it asked for (in order, apart from the
 * operations, so a slow master never holds up the API) and hands its events on. A timer ticks
 * the core when a schedule is due, and at least every `tickMs`.
 */
import type { SchedulerDriver } from "../../mod.ts";
import type { Clock, Logger } from "../../base/mod.ts";
import type { Command, JobEvent, JobsCore } from "./core/jobs_core.ts";
import type { JobsStore } from "./store/jobs_store.ts";

/** The driver calls the runtime makes (a `SchedulerDriver` is one; tests pass a fake). */
export type DriverPort = Pick<
  SchedulerDriver,
  "launch" | "decline" | "kill" | "reconcile" | "revive" | "suppress"
>;

/** What the runtime needs. */
export interface JobsRuntimeDeps {
  /** Builds a core over the stored books (again after a failed commit). */
  makeCore(): JobsCore;
  store: JobsStore;
  clock: Clock;
  log: Logger;
  /** Called with each operation's events once its changes are durable. */
  onEvents?(events: readonly JobEvent[]): void;
}

/** Runs the core's operations: persist, then send. */
export class JobsRuntime {
  readonly #deps: JobsRuntimeDeps;
  #core: JobsCore;
  #driver: DriverPort | undefined;
  #ops: Promise<unknown> = Promise.resolve();
  #sends: Promise<void> = Promise.resolve();
  #stale = false;
  /** The loop's next tick, and how to bring it forward (an operation made one due earlier). */
  #wake: { at: number; early: AbortController } | undefined;

  private constructor(deps: JobsRuntimeDeps, core: JobsCore) {
    this.#deps = deps;
    this.#core = core;
  }

  /** Loads the books from the store. */
  static async start(deps: JobsRuntimeDeps): Promise<JobsRuntime> {
    const core = deps.makeCore();
    core.recover(await deps.store.load());
    return new JobsRuntime(deps, core);
  }

  /** The driver the commands go to (set once it exists). */
  set driver(driver: DriverPort) {
    this.#driver = driver;
  }

  /** Reads the books (no changes allowed: use `run` for operations). */
  get core(): Pick<
    JobsCore,
    | "jobs"
    | "job"
    | "activeRuns"
    | "activeRun"
    | "history"
    | "nextRunAt"
    | "waitingRuns"
    | "counters"
    | "frameworkId"
  > {
    return this.#core;
  }

  /**
   * Runs `op` on the core after the operations before it; resolves with its result once its
   * changes are durable (its driver calls are queued by then). Rejects with what `op` threw.
   */
  run<T>(op: (core: JobsCore) => T): Promise<T> {
    const next = this.#ops.then(() => this.#apply(op));
    this.#ops = next.catch(() => {});
    return next;
  }

  /**
   * Ticks until `signal` aborts: when a schedule is due, and at least every `tickMs`. An operation
   * that makes a tick due sooner (a new schedule) wakes it early.
   */
  async loop(signal: AbortSignal, tickMs: number): Promise<void> {
    const clock = this.#deps.clock;
    while (!signal.aborted) {
      const at = this.#core.nextWakeAt(tickMs);
      const early = new AbortController();
      this.#wake = { at, early };
      try {
        await clock.sleep(Math.max(at - clock.now(), 5), AbortSignal.any([signal, early.signal]));
      } catch {
        if (signal.aborted) return;
      }
      this.#wake = undefined;
      await this.run((core) => core.tick()).catch((e) =>
        this.#deps.log.error("jobs tick failed", { error: e })
      );
    }
  }

  /** Resolves once every queued operation and driver call is done. */
  async settled(): Promise<void> {
    await this.#ops;
    await this.#sends;
  }

  async #apply<T>(op: (core: JobsCore) => T): Promise<T> {
    if (this.#stale) await this.#reload();
    let result: T;
    try {
      result = op(this.#core);
    } catch (e) {
      this.#core.drain(); // a refused request changes nothing (operations check before they act)
      throw e;
    }
    const { changes, commands, events } = this.#core.drain();
    try {
      await this.#deps.store.commit(changes);
    } catch (e) {
      // The books are ahead of the store: rebuild them from it before the next operation.
      this.#stale = true;
      this.#deps.log.error("jobs: a write failed; reloading the books", { error: e });
      throw e;
    }
    if (commands.length > 0) this.#send(commands);
    const wake = this.#wake;
    if (wake && this.#core.nextWakeAt(wake.at - this.#deps.clock.now()) < wake.at) {
      wake.early.abort();
    }
    if (events.length > 0) {
      for (const e of events) this.#deps.log.info(e.eventType, { ...e });
      this.#deps.onEvents?.(events);
    }
    return result;
  }

  async #reload(): Promise<void> {
    const core = this.#deps.makeCore();
    core.recover(await this.#deps.store.load());
    this.#core = core;
    this.#stale = false;
  }

  #send(commands: readonly Command[]): void {
    this.#sends = this.#sends.then(async () => {
      for (const c of commands) {
        try {
          await this.#call(c);
        } catch (e) {
          this.#deps.log.warn(`jobs: ${c.type} failed`, { error: e });
          if (c.type === "launch") {
            const ids = c.tasks.map((t) => t.task_id.value);
            this.run((core) => core.launchFailed(ids)).catch(() => {});
          }
        }
      }
    });
  }

  async #call(c: Command): Promise<void> {
    const driver = this.#driver;
    if (!driver) throw new Error("no driver yet");
    switch (c.type) {
      case "launch":
        return await driver.launch([c.offerId], c.tasks, { refuse_seconds: 1 });
      case "decline":
        return await driver.decline(c.offerIds, { refuse_seconds: c.refuseSeconds });
      case "kill":
        return await driver.kill(c.taskId, c.agentId);
      case "reconcile":
        return await driver.reconcile(c.tasks);
      case "revive":
        return await driver.revive();
      case "suppress":
        return await driver.suppress();
    }
  }
}
