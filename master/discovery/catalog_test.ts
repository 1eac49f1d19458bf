import assert from "node:assert/strict";
import {
  applyChanges,
  type CatalogTask,
  deriveCatalog,
  diffCatalog,
  dnsLabel,
  findService,
  marathonServiceName,
} from "./catalog.ts";
import { CatalogStore } from "./catalog_store.ts";

function task(over: Partial<CatalogTask> & { taskId: string }): CatalogTask {
  return {
    frameworkName: "marathon",
    taskName: "web.prod",
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: "node-1",
    agentIp: "10.0.0.1",
    hostPorts: [31000],
    labels: { MARATHON_APP_ID: "/prod/web" },
    ...over,
  };
}

Deno.test("marathonServiceName() reverses the app path and joins it with hyphens", () => {
  assert.equal(marathonServiceName("/prod/web"), "web-prod");
  assert.equal(marathonServiceName("/a/b/c"), "c-b-a");
  assert.equal(marathonServiceName("/web"), "web");
});

Deno.test("dnsLabel() lower-cases, turns dots into hyphens and drops other characters", () => {
  assert.equal(dnsLabel("Web.Prod"), "web-prod");
  assert.equal(dnsLabel("my_app!"), "myapp");
  assert.equal(dnsLabel("-x-"), "x");
  assert.equal(dnsLabel("a".repeat(80)).length, 63);
});

Deno.test("deriveCatalog() names services by app id, discovery name, then task name", () => {
  const catalog = deriveCatalog([
    task({ taskId: "t1" }),
    task({ taskId: "t2", labels: {}, taskName: "Batch.Job", frameworkName: "chronos" }),
    task({
      taskId: "t3",
      labels: {},
      taskName: "ignored",
      discovery: { visibility: "FRAMEWORK", name: "db" },
    }),
  ]);
  assert.deepEqual(catalog.services.map((s) => s.id), [
    "batch-job.chronos",
    "db.marathon",
    "web-prod.marathon",
  ]);
  assert.equal(findService(catalog, "web-prod")?.appId, "/prod/web");
  assert.equal(findService(catalog, "/prod/web")?.id, "web-prod.marathon");
  assert.equal(findService(catalog, "nope"), undefined);
});

Deno.test("deriveCatalog() keeps only running, undrained tasks that are healthy or unchecked", () => {
  const catalog = deriveCatalog([
    task({ taskId: "running" }),
    task({ taskId: "staging", state: "TASK_STAGING" }),
    task({ taskId: "killing", state: "TASK_KILLING" }),
    task({ taskId: "checked-unknown", hasHealthCheck: true }),
    task({ taskId: "checked-sick", hasHealthCheck: true, healthy: false }),
    task({ taskId: "checked-ok", hasHealthCheck: true, healthy: true }),
    task({ taskId: "finished", state: "TASK_FINISHED" }),
    task({ taskId: "draining", draining: true }),
  ]);
  assert.equal(catalog.services.length, 1);
  assert.deepEqual(catalog.services[0]?.endpoints.map((e) => e.taskId), ["checked-ok", "running"]);
});

Deno.test("deriveCatalog() lists a service whose tasks are all unhealthy with no endpoints", () => {
  const catalog = deriveCatalog([task({ taskId: "t", state: "TASK_STARTING" })]);
  assert.equal(catalog.services[0]?.endpoints.length, 0);
  assert.deepEqual(deriveCatalog([task({ taskId: "t", state: "TASK_KILLED" })]).services, []);
});

Deno.test("deriveCatalog() takes port names, protocols and service ports from discovery", () => {
  const catalog = deriveCatalog([task({
    taskId: "t1",
    hostPorts: [31000, 31001],
    discovery: {
      visibility: "FRAMEWORK",
      ports: {
        ports: [
          {
            number: 31000,
            name: "http",
            protocol: "tcp",
            labels: { labels: [{ key: "service_port", value: "10000" }] },
          },
          { number: 31001, name: "dns", protocol: "udp,tcp" },
        ],
      },
    },
  })]);
  const eps = catalog.services[0]?.endpoints ?? [];
  assert.deepEqual(
    eps.map((e) => [e.port, e.portName, e.protocol, e.servicePort]),
    [[31000, "http", "tcp", 10000], [31001, "dns", "tcp", undefined], [
      31001,
      "dns",
      "udp",
      undefined,
    ]],
  );
});

Deno.test("deriveCatalog() reads weights, vhosts, balance and service ports from labels", () => {
  const catalog = deriveCatalog([task({
    taskId: "t1",
    hostPorts: [31000, 31001],
    labels: {
      MARATHON_APP_ID: "/web",
      TENDER_WEIGHT: "9",
      HAPROXY_0_VHOST: "Web.Example.com, www.example.com",
      TENDER_VHOST: "web.local",
      HAPROXY_0_BALANCE: "leastconn",
      TENDER_SERVICE_PORTS: "10000,10001",
      HAPROXY_1_PORT: "10500",
    },
  })]);
  const [e0, e1] = catalog.services[0]?.endpoints ?? [];
  assert.equal(e0?.weight, 9);
  assert.deepEqual(e0?.vhosts, ["web.example.com", "web.local", "www.example.com"]);
  assert.equal(e0?.balance, "leastconn");
  assert.equal(e0?.servicePort, 10000);
  assert.deepEqual(e1?.vhosts, []);
  assert.equal(e1?.balance, "roundrobin");
  assert.equal(e1?.servicePort, 10500);
  const plain = deriveCatalog([task({ taskId: "t2" })]).services[0]?.endpoints[0];
  assert.equal(plain?.weight, 1);
  assert.equal(plain?.servicePort, undefined);
});

Deno.test("deriveCatalog() routes a named port by its own labels (a Marathon pod's endpoint)", () => {
  const catalog = deriveCatalog([task({
    taskId: "duo.instance-1.server",
    labels: { MARATHON_APP_ID: "/duo" },
    discovery: {
      visibility: "FRAMEWORK",
      ports: {
        ports: [{
          number: 31005,
          name: "http",
          protocol: "tcp",
          labels: {
            labels: [{ key: "service_port", value: "10555" }, {
              key: "TENDER_VHOST",
              value: "Duo.Example.com",
            }],
          },
        }],
      },
    },
  })]);
  const [e] = catalog.services[0]?.endpoints ?? [];
  assert.equal(catalog.services[0]?.name, "duo");
  assert.equal(e?.portName, "http");
  assert.equal(e?.servicePort, 10555);
  assert.deepEqual(e?.vhosts, ["duo.example.com"]);
});

Deno.test("diffCatalog() reports added, updated and removed services; applyChanges() replays them", () => {
  const a = deriveCatalog([
    task({ taskId: "t1" }),
    task({ taskId: "d1", labels: {}, taskName: "db" }),
  ]);
  const b = deriveCatalog([
    task({ taskId: "t1" }),
    task({ taskId: "t2" }),
    task({ taskId: "x", labels: { MARATHON_APP_ID: "/api" } }),
  ]);
  const changes = diffCatalog(a, b);
  assert.deepEqual(changes.map((c) => [c.type, c.type === "removed" ? c.id : c.service.id]), [
    ["added", "api.marathon"],
    ["removed", "db.marathon"],
    ["updated", "web-prod.marathon"],
  ]);
  assert.deepEqual(applyChanges(a, changes), b);
  assert.deepEqual(diffCatalog(b, b), []);
});

Deno.test("CatalogStore.update() notifies listeners only when the catalog changes", () => {
  const store = new CatalogStore();
  const seen: number[] = [];
  const off = store.subscribe((changes, version) => seen.push(changes.length * 100 + version));
  store.update([task({ taskId: "t1" })]);
  store.update([task({ taskId: "t1" })]);
  store.update([]);
  off();
  store.update([task({ taskId: "t1" })]);
  assert.deepEqual(seen, [101, 102]);
  assert.equal(store.current().version, 3);
});
