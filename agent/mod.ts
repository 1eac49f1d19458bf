/**
 * The Tender agent: runs on every node, subscribes to the master, runs tasks in a
 * containerizer (docker, process or simulated) and reports their status reliably.
 *
 * @module
 * @example
 * ```ts
 * import { startAgent } from "./agent/mod.ts";
 * const running = await startAgent({ master: "http://127.0.0.1:5050", port: 0, containerizer: "process" });
 * console.log(running.url, running.agent.id);
 * await running.stop();
 * ```
 */
export {
  Agent,
  type AgentDeps,
  type AgentOptions,
  type AgentState,
  type TaskView,
} from "./agent.ts";
export {
  chooseContainerizer,
  type ContainerizerKind,
  type RunningAgent,
  startAgent,
  type StartAgentOptions,
} from "./start_agent.ts";
export { agentApp } from "./http.ts";
export { agentResources, defaultResources, parseAttributes } from "./resources_detect.ts";
export { type PendingUpdate, StatusUpdateManager, UpdateStreams } from "./status_update_manager.ts";
export type { Containerizer, ContainerSpec, Termination } from "./containerizer/containerizer.ts";
export { ProcessContainerizer } from "./containerizer/process.ts";
export { SimulatedContainerizer } from "./containerizer/simulated.ts";
export { DockerContainerizer, probeDocker } from "./containerizer/docker.ts";
