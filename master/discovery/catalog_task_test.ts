import assert from "node:assert/strict";
import { TaskInfoSchema } from "../../protocol/mod.ts";
import { catalogTaskOf, hostPortsOf } from "./catalog_task.ts";

const info = TaskInfoSchema.parse({
  name: "web.prod",
  task_id: { value: "prod_web.1" },
  agent_id: { value: "a1" },
  resources: [
    { name: "cpus", type: "SCALAR", scalar: { value: 0.1 } },
    { name: "ports", type: "RANGES", ranges: { range: [{ begin: 31000, end: 31001 }] } },
    { name: "ports", type: "RANGES", ranges: { range: [{ begin: 31005, end: 31005 }] } },
  ],
  labels: { labels: [{ key: "MARATHON_APP_ID", value: "/prod/web" }, { key: "FLAG" }] },
  health_check: { type: "HTTP", http: { port: 31000 } },
  discovery: { visibility: "FRAMEWORK", name: "web.prod" },
});

Deno.test("hostPortsOf() expands port ranges in order", () => {
  assert.deepEqual(hostPortsOf(info.resources), [31000, 31001, 31005]);
  assert.deepEqual(hostPortsOf([]), []);
});

Deno.test("catalogTaskOf() maps a TaskInfo, its statuses and its agent onto a CatalogTask", () => {
  const task = catalogTaskOf({
    frameworkName: "marathon",
    info,
    state: "TASK_RUNNING",
    statuses: [
      { task_id: { value: "prod_web.1" }, state: "TASK_RUNNING", healthy: true },
      { task_id: { value: "prod_web.1" }, state: "TASK_RUNNING", healthy: false },
      { task_id: { value: "prod_web.1" }, state: "TASK_RUNNING" },
    ],
    agentHostname: "node-1",
    agentIp: "10.0.0.1",
  });
  assert.deepEqual(task, {
    frameworkName: "marathon",
    taskId: "prod_web.1",
    taskName: "web.prod",
    state: "TASK_RUNNING",
    healthy: false,
    hasHealthCheck: true,
    agentHostname: "node-1",
    agentIp: "10.0.0.1",
    hostPorts: [31000, 31001, 31005],
    discovery: { visibility: "FRAMEWORK", name: "web.prod" },
    labels: { MARATHON_APP_ID: "/prod/web", FLAG: "" },
  });
  const bare = catalogTaskOf({
    frameworkName: "m",
    info: { ...info, resources: [], health_check: undefined },
    state: "TASK_STAGING",
    statuses: [],
    agentHostname: "h",
    agentIp: "1.2.3.4",
    resources: info.resources,
    draining: true,
  });
  assert.deepEqual([bare.hostPorts, bare.hasHealthCheck, bare.healthy, bare.draining], [
    [31000, 31001, 31005],
    false,
    undefined,
    true,
  ]);
});
