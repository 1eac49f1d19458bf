/**
 * The Marathon-style service framework: submit apps over Marathon's REST API v2; Marathon
 * plans deployments and keeps the apps running on a Tender (Mesos-style) master.
 *
 * @module
 * @example
 * ```ts
 * import { startMarathon } from "./frameworks/marathon/mod.ts";
 * const marathon = await startMarathon({ master: "http://127.0.0.1:5050", port: 0, workDir: "/tmp/m" });
 * await fetch(`${marathon.url}/v2/apps`, { method: "POST", body: JSON.stringify({ id: "web", cmd: "sleep 100" }) });
 * await marathon.stop();
 * ```
 */
export {
  type MarathonParts,
  runMarathon,
  type RunningMarathon,
  startMarathon,
  type StartMarathonOptions,
} from "./start_marathon.ts";
export { type HaMarathon, startHaMarathon, type StartHaMarathonOptions } from "./ha_marathon.ts";
export { marathonApi, type MarathonApiDeps } from "./api/api.ts";
export { MarathonService } from "./service/marathon_service.ts";
export { MarathonScheduler } from "./scheduler/marathon_scheduler.ts";
export { MarathonStore } from "./store/store.ts";
export { EventBus } from "./events/event_bus.ts";
export { type App, checkApp, parseApp, toTaskInfo } from "./app/mod.ts";
