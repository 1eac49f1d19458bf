/**
 * The router: TCP service ports and HTTP virtual hosts balanced over the catalog's healthy
 * endpoints. Embedded in the dev cluster with a `source`, or standalone with a `master` URL.
 *
 * @module
 * @example
 * ```ts
 * import { startRouter } from "./router/mod.ts";
 * const router = await startRouter({ master: "http://127.0.0.1:5050", httpPort: 8081 });
 * console.log(router.state().tcp);
 * await router.close();
 * ```
 */
export * from "./router.ts";
export * from "./pool.ts";
export * from "./routes.ts";
export { followCatalog, type FollowOptions, type FollowStatus } from "./catalog_follower.ts";
