/**
 * The Marathon framework's Deno KV store: apps and their versions, groups and the root group's
 * versions, deployments and locks, instances, backoff, framework id.
 *
 * @module
 * @example
 * ```ts
 * import { MarathonStore } from "./frameworks/marathon/store/mod.ts";
 * const kv = await Deno.openKv(":memory:");
 * const store = new MarathonStore(kv);
 * console.log(await store.listApps()); // []
 * kv.close();
 * ```
 */
export * from "./keys.ts";
export * from "./deployment_record.ts";
export * from "./group_record.ts";
export * from "./store.ts";
