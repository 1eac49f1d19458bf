/**
 * The pure deployment core: plans (steps and actions between two sets of apps), the per-app
 * reconciler (scale and rolling restart under the upgrade strategy), kill selection and the
 * launch backoff.
 *
 * @module
 * @example
 * ```ts
 * import { reconcileApp } from "./frameworks/marathon/deployment/mod.ts";
 * // const { kill, launch, settled } = reconcileApp(app, instancesOfApp);
 * ```
 */
export * from "./plan.ts";
export * from "./reconcile.ts";
export * from "./kill_selection.ts";
export * from "./backoff.ts";
export * from "./progress.ts";
export * from "./run_spec.ts";
