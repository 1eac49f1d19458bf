import assert from "node:assert/strict";
import { findSample, HttpMetrics, parsePrometheus } from "../base/mod.ts";
import { renderRouterMetrics } from "./metrics.ts";
import type { RouterState } from "./router.ts";

const backend = (key: string, counts: { active: number; total: number; failures: number }) => ({
  key,
  taskId: `task-${key}`,
  ip: "127.0.0.1",
  port: Number(key.split(":")[1]),
  weight: 1,
  downUntil: 0,
  draining: false,
  ...counts,
});

Deno.test("renderRouterMetrics() writes per-route and per-backend series from the state", () => {
  const state: RouterState = {
    catalog: { version: 7, follow: "in-process" },
    services: [{ id: "web", appId: "/web", endpoints: 2 }],
    vhosts: [{
      host: "web.test",
      balance: "roundrobin",
      services: ["web"],
      requests: 10,
      failed: 1,
      backends: [
        backend("127.0.0.1:31000", { active: 2, total: 6, failures: 1 }),
        backend("127.0.0.1:31001", { active: 1, total: 4, failures: 0 }),
      ],
    }],
    tcp: [{
      servicePort: 10000,
      listening: true,
      balance: "leastconn",
      services: ["web"],
      requests: 3,
      failed: 0,
      backends: [backend("127.0.0.1:31000", { active: 0, total: 3, failures: 0 })],
    }],
  };
  const m = parsePrometheus(renderRouterMetrics(state, new HttpMetrics()));
  const vhost = { frontend: "http", route: "web.test", service: "web" };
  assert.equal(findSample(m, "tender_router_catalog_version"), 7);
  assert.equal(findSample(m, "tender_router_services"), 1);
  assert.equal(findSample(m, "tender_router_requests_total", vhost), 10);
  assert.equal(findSample(m, "tender_router_failed_total", vhost), 1);
  assert.equal(findSample(m, "tender_router_active_connections", vhost), 3);
  assert.equal(
    findSample(m, "tender_router_backend_requests_total", { ...vhost, backend: "127.0.0.1:31000" }),
    6,
  );
  assert.equal(
    findSample(m, "tender_router_backend_failed_connects_total", {
      ...vhost,
      backend: "127.0.0.1:31000",
      task_id: "task-127.0.0.1:31000",
    }),
    1,
  );
  const tcp = { frontend: "tcp", route: "10000" };
  assert.equal(findSample(m, "tender_router_requests_total", tcp), 3);
  assert.equal(findSample(m, "tender_router_backend_active_connections", tcp), 0);
  assert.equal(m.families.get("tender_router_http_request_duration_seconds")?.type, "histogram");
});
