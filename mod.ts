/**
 * Tender's public SDK, for writing framework schedulers: implement `Scheduler`, hand it to a
 * `SchedulerDriver`, pack tasks into offers with `OfferPicker` and build them with `taskInfo`.
 * The wire types are Mesos v1's (snake_case JSON), so Mesos documentation applies as is.
 *
 * @module
 * @example
 * ```ts
 * import { OfferPicker, SchedulerDriver, taskInfo } from "./mod.ts";
 *
 * let launched = false;
 * const driver = new SchedulerDriver({
 *   async offers(driver, offers) {
 *     for (const offer of offers) {
 *       const pick = new OfferPicker(offer).pick({ cpus: 0.1, mem: 32 });
 *       if (launched || !pick.ok) {
 *         await driver.decline([offer.id.value], { refuse_seconds: 30 });
 *         continue;
 *       }
 *       launched = true;
 *       await driver.launch([offer.id.value], [taskInfo({
 *         name: "hello", taskId: "hello-1", agentId: offer.agent_id.value,
 *         cpus: 0.1, mem: 32, command: "echo hi",
 *       })]);
 *     }
 *   },
 *   update: (_driver, status) => console.log(status.task_id.value, status.state),
 * }, { master: "http://127.0.0.1:5050", framework: { user: "me", name: "hello" } });
 * await driver.start();
 * ```
 */
export {
  attributeText,
  backoffDelay,
  type BackoffOptions,
  type CallbackResult,
  type CommandSpec,
  DEFAULT_BACKOFF,
  type Demand,
  type DockerSpec,
  type ExecutorMessage,
  type Failure,
  OfferPicker,
  offerResources,
  type Pick,
  pickResources,
  portRanges,
  type Scheduler,
  SchedulerCallError,
  SchedulerDriver,
  type SchedulerDriverOptions,
  type SubscribedInfo,
  taskInfo,
  type TaskSpec,
} from "./sdk/mod.ts";
export {
  type Attribute,
  type Call,
  type CallType,
  type CommandInfo,
  type ContainerInfo,
  type DiscoveryInfo,
  type Event,
  type ExecutorInfo,
  type Filters,
  type FrameworkInfo,
  type HealthCheck,
  isTerminalState,
  type KillPolicy,
  type Labels,
  type Offer,
  type Operation,
  type Range,
  type Resource,
  Resources,
  TASK_STATES,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from "./protocol/mod.ts";
export { type Clock, FakeClock, Masters, systemClock, TenderError } from "./base/mod.ts";
