/**
 * Marathon app definitions: schema, normalisation, validation with Marathon's 422 bodies,
 * groups, declared ports and the translation to a Mesos `TaskInfo`.
 *
 * @module
 * @example
 * ```ts
 * import { parseApp } from "./frameworks/marathon/app/mod.ts";
 * const app = parseApp({ id: "web", cmd: "httpd -f -p $PORT0" }); // app.id === "/web"
 * ```
 */
export * from "./schema.ts";
export * from "./normalize.ts";
export * from "./path_id.ts";
export * from "./constraint.ts";
export * from "./violations.ts";
export * from "./parse.ts";
export * from "./group.ts";
export * from "./ports.ts";
export * from "./task_info.ts";
export { validateApp, type ValidateOptions } from "./validate.ts";
export { validateLegacy } from "./validate_legacy.ts";
