/**
 * The router's Prometheus metrics, rendered from its state (per route and backend counters)
 * plus the durations of requests on its HTTP port.
 */
import { type HttpMetrics, type Labels, PrometheusWriter, type Sample } from "../base/mod.ts";
import type { RouterState, RouteState } from "./router.ts";
import type { SecurityMetrics } from "../security/mod.ts";

interface Row {
  labels: Labels;
  route: RouteState;
}

/** Renders the router's exposition text. */
export function renderRouterMetrics(
  state: RouterState,
  http: HttpMetrics,
  security?: SecurityMetrics,
): string {
  const rows: Row[] = [
    ...state.vhosts.map((r) => ({
      labels: { frontend: "http", route: r.host, service: r.services.join(",") },
      route: r,
    })),
    ...state.tcp.map((r) => ({
      labels: { frontend: "tcp", route: String(r.servicePort), service: r.services.join(",") },
      route: r,
    })),
  ];
  const perRoute = (pick: (r: RouteState) => number): Sample[] =>
    rows.map((row) => ({ labels: row.labels, value: pick(row.route) }));
  const perBackend = (pick: (b: RouteState["backends"][number]) => number): Sample[] =>
    rows.flatMap((row) =>
      row.route.backends.map((b) => ({
        labels: { ...row.labels, backend: b.key, task_id: b.taskId },
        value: pick(b),
      }))
    );
  const w = new PrometheusWriter()
    .gauge("tender_router_catalog_version", "The catalog version routed by.", state.catalog.version)
    .gauge("tender_router_services", "Services in the catalog.", state.services.length)
    .counter(
      "tender_router_requests_total",
      "Requests (http) or connections (tcp) routed, per route.",
      perRoute((r) => r.requests),
    )
    .counter(
      "tender_router_failed_total",
      "Requests or connections that failed on every backend tried, per route.",
      perRoute((r) => r.failed),
    )
    .gauge(
      "tender_router_active_connections",
      "Open connections or in-flight requests, per route.",
      perRoute((r) => r.backends.reduce((sum, b) => sum + b.active, 0)),
    )
    .counter(
      "tender_router_backend_requests_total",
      "Requests or connections handed to each backend.",
      perBackend((b) => b.total),
    )
    .counter(
      "tender_router_backend_failed_connects_total",
      "Failed connects to each backend.",
      perBackend((b) => b.failures),
    )
    .gauge(
      "tender_router_backend_active_connections",
      "Open connections or in-flight requests of each backend.",
      perBackend((b) => b.active),
    );
  http.write(w, "tender_router");
  security?.write(w);
  return w.text();
}
