/**
 * Tender's built-in image registry: an OCI Distribution Spec (Docker Registry HTTP API v2)
 * server that `docker push`/`docker pull` and skopeo use unchanged.
 *
 * @module
 * @example
 * ```ts
 * import { serveRegistry } from "./registry/mod.ts";
 * const registry = await serveRegistry({ workDir: "./.tender/registry", port: 5000 });
 * // docker push 127.0.0.1:5000/web:1
 * await registry.close();
 * ```
 */
export {
  type OpenedRegistry,
  openRegistry,
  type RegistryOptions,
  type RunningRegistry,
  serveRegistry,
} from "./server.ts";
export type { AuthOptions } from "./auth.ts";
export { collectGarbage, type GcOptions, type GcReport } from "./gc.ts";
export { createApp } from "./app.ts";
export { Registry } from "./registry.ts";
export { RegistryError } from "./errors.ts";
