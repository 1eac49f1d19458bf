/** The routing table a router derives from the catalog: endpoints per service port and vhost. */
import type { Balance, Catalog, Endpoint } from "../master/discovery/mod.ts";

/** Endpoints behind one service port or one virtual host, and how to balance over them. */
export interface Route {
  balance: Balance;
  endpoints: Endpoint[];
  /** Catalog ids of the services that contribute endpoints (two apps may share a vhost). */
  services: string[];
}

/** Routes by TCP service port and by HTTP virtual host (lower case, no port). */
export interface RoutingTable {
  tcp: Map<number, Route>;
  vhosts: Map<string, Route>;
}

function add<K>(map: Map<K, Route>, key: K, id: string, e?: Endpoint): void {
  let route = map.get(key);
  if (route === undefined) {
    route = { balance: e?.balance ?? "roundrobin", endpoints: [], services: [] };
    map.set(key, route);
  }
  if (!route.services.includes(id)) route.services.push(id);
  if (e) route.endpoints.push(e);
}

/** Which endpoints a router serves (marathon-lb's `--group`). */
export interface RouteFilter {
  /**
   * Route only endpoints in one of these groups (`HAPROXY_GROUP`); `*` routes every endpoint,
   * grouped or not. Undefined: every endpoint (a router without `--group`).
   */
  groups?: readonly string[];
}

/** Whether a router with `filter` routes endpoint `e`. */
export function routes(filter: RouteFilter, e: Endpoint): boolean {
  const { groups } = filter;
  if (groups === undefined || groups.includes("*")) return true;
  return (e.groups ?? []).some((g) => groups.includes(g));
}

/**
 * Builds the routing table. `remembered` maps a service id to the service ports it was last
 * seen with, so a service whose endpoints are all gone keeps its listener (and answers with
 * an immediate close or 503) instead of vanishing; it is updated in place. Endpoints `filter`
 * leaves out are not routed, and a service none of whose endpoints are routed gets no listener.
 */
export function routingTable(
  catalog: Catalog,
  remembered: Map<string, Set<number>>,
  filter: RouteFilter = {},
): RoutingTable {
  const tcp = new Map<number, Route>();
  const vhosts = new Map<string, Route>();
  const ids = new Set(catalog.services.map((s) => s.id));
  for (const id of [...remembered.keys()]) if (!ids.has(id)) remembered.delete(id);
  for (const service of catalog.services) {
    const ports = new Set<number>();
    for (const e of service.endpoints) {
      if (e.protocol !== "tcp" || !routes(filter, e)) continue;
      if (e.servicePort !== undefined) {
        ports.add(e.servicePort);
        add(tcp, e.servicePort, service.id, e);
      }
      for (const host of e.vhosts) add(vhosts, host, service.id, e);
    }
    if (ports.size > 0) remembered.set(service.id, ports);
    for (const port of remembered.get(service.id) ?? []) {
      if (!tcp.has(port)) add(tcp, port, service.id);
    }
  }
  return { tcp, vhosts };
}
