/**
 * Wire types and small shared pieces: the Mesos v1 schemas, the agent protocol, RecordIO,
 * resource arithmetic, streams that end on abort, the error type, the Clock/Ids effects, and
 * `Masters`, which finds the leading master among several.
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
export * from "./streams.ts";
export * from "./errors.ts";
export * from "./clock.ts";
export * from "./resources.ts";
export * from "./masters.ts";
export * from "./limits.ts";
export * from "./private_files.ts";
export * from "./secrets.ts";
