/**
 * The jobs framework on the SDK: hands the driver's callbacks to the runtime as core
 * operations. `update()` resolves once the status is durable, so the driver acknowledges it
 * only then.
 */
import type { Scheduler, SchedulerDriver, SubscribedInfo } from "../../mod.ts";
import type { Offer, TaskStatus } from "../../protocol/mod.ts";
import type { JobsRuntime } from "./runtime.ts";

/** The `Scheduler` of the jobs framework. */
export class JobsScheduler implements Scheduler {
  readonly #runtime: JobsRuntime;

  constructor(runtime: JobsRuntime) {
    this.#runtime = runtime;
  }

  async subscribed(_driver: SchedulerDriver, info: SubscribedInfo): Promise<void> {
    await this.#runtime.run((core) => core.subscribed(info.frameworkId));
  }

  async offers(_driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    await this.#runtime.run((core) => core.offers(offers));
  }

  async update(_driver: SchedulerDriver, status: TaskStatus): Promise<void> {
    await this.#runtime.run((core) => core.update(status));
  }
}
