/**
 * The framework SDK: the `Scheduler` callbacks, the `SchedulerDriver` that speaks the Mesos v1
 * scheduler API, and helpers to pick resources out of offers and build tasks.
 *
 * @module
 * @example
 * ```ts
 * import { SchedulerDriver } from "./sdk/mod.ts";
 * const driver = new SchedulerDriver({
 *   offers: (d, offers) => d.decline(offers.map((o) => o.id.value)),
 * }, { master: "http://127.0.0.1:5050", framework: { user: "me", name: "noop" } });
 * await driver.start();
 * ```
 */
export * from "./scheduler.ts";
export * from "./driver.ts";
export * from "./backoff.ts";
export * from "./task_builder.ts";
export * from "./offer_picker.ts";
