/**
 * What every Tender process shares that is not a wire protocol, each concern in one home: the
 * error type with its one code → HTTP status table and `onError`, request limits, logging, flags,
 * Prometheus, group commit, the `Clock`/`Ids` effects, finding the leading master, and small
 * process and stream helpers. It imports nothing else of Tender; `protocol/` builds on it.
 *
 * @module
 * @example
 * ```ts
 * import { createLogger, HTTP_STATUS, TenderError } from "./base/mod.ts";
 * const log = createLogger({ level: "info", component: "example" });
 * const err = new TenderError("not_found", 'Cannot launch task "web.1": offer "o-7" is unknown');
 * log.warn(err.message, { status: HTTP_STATUS[err.code] });
 * ```
 */
export * from "./errors.ts";
export * from "./http_limits.ts";
export * from "./limits.ts";
export * from "./json_stream.ts";
export * from "./hop_by_hop.ts";
export * from "./streams.ts";
export * from "./log.ts";
export * from "./flags.ts";
export * from "./prometheus.ts";
export * from "./group_commit.ts";
export * from "./clock.ts";
export * from "./masters.ts";
export * from "./file_limit.ts";
export * from "./private_files.ts";
export * from "./current_user.ts";
export * from "./user_name.ts";
