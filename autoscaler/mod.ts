/**
 * Autoscaling of Marathon apps by their labels (`TENDER_AUTOSCALE_*`): a pure decision core
 * (`decide`, Kubernetes' HPA rule with steps, cooldowns and a scale-down window) inside a shell
 * that reads Marathon, the routers' request counters and the agents' CPU statistics, and scales
 * through Marathon's API.
 *
 * @module
 * @example
 * ```ts
 * import { startAutoscaler } from "./autoscaler/mod.ts";
 * const scaler = await startAutoscaler({
 *   marathon: "http://127.0.0.1:8080",
 *   routers: ["http://127.0.0.1:8081"],
 *   port: 0,
 * });
 * console.log(`decisions at ${scaler.url}/events`);
 * await scaler.stop();
 * ```
 */
export {
  type RunningAutoscaler,
  startAutoscaler,
  type StartAutoscalerOptions,
} from "./start_autoscaler.ts";
export {
  type AppStatus,
  type AutoscaleEvent,
  Autoscaler,
  type AutoscalerDeps,
} from "./autoscaler.ts";
export { autoscalerApi, renderAutoscalerMetrics } from "./http.ts";
export {
  decide,
  type Decision,
  freshMemory,
  type Memory,
  type Observation,
} from "./core/decide.ts";
export { DEFAULTS, LABELS, type MetricKind, type Policy, policyOf } from "./core/policy.ts";
export { AgentCpu, agentUrl, cpuUtilisation } from "./sources/agent_cpu.ts";
export { MarathonApps, servingTasks } from "./sources/marathon_apps.ts";
export { requestRate, RouterRequests } from "./sources/router_requests.ts";
