/**
 * Wire protocols only: the Mesos v1 messages and Mesos' JSON reading rules, the agent protocol,
 * RecordIO framing, Mesos' resource model with exact arithmetic, secrets inside a `TaskInfo` and
 * what Docker parameters mean. Shared concerns that are not wire protocols (errors, limits,
 * logging, flags, the clock, finding the leading master) are in `base/mod.ts`.
 *
 * @module
 * @example
 * ```ts
 * import { CallSchema } from "./protocol/mod.ts";
 * const call = CallSchema.parse({ type: "REVIVE", framework_id: { value: "f" }, revive: {} });
 * ```
 */
export * from "./mesos.ts";
export * from "./mesos_json.ts";
export * from "./agent_api.ts";
export * from "./recordio.ts";
export * from "./resources.ts";
export * from "./secrets.ts";
export * from "./docker_parameters.ts";
