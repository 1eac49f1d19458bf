/**
 * Service discovery: the catalog derived from task state, its HTTP API and change stream, and
 * the DNS server. The master imports only this module.
 *
 * @module
 * @example
 * ```ts
 * import { CatalogStore } from "./master/discovery/mod.ts";
 * const store = new CatalogStore();
 * store.update([]); // call with every task the master knows, whenever one changes
 * ```
 */
export * from "./catalog.ts";
export * from "./catalog_store.ts";
export * from "./dns/message.ts";
export * from "./dns/resolver.ts";
export * from "./dns/server.ts";
export * from "./http.ts";
export * from "./catalog_task.ts";
export * from "./catalog_updater.ts";
