/**
 * Placement: the pure constraint matcher, offer matcher, spreading order, host port picking
 * and service port allocation.
 *
 * @module
 * @example
 * ```ts
 * import { matchOffer } from "./frameworks/marathon/placement/mod.ts";
 * // const fit = matchOffer(app, offer, sitesOfPlacedInstances);
 * // if (fit.ok) launch with fit.resources and fit.hostPorts
 * ```
 */
export * from "./agent_values.ts";
export * from "./constraints.ts";
export * from "./host_ports.ts";
export * from "./offer_matcher.ts";
export * from "./service_ports.ts";
