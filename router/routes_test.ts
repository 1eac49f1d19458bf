import assert from "node:assert/strict";
import { type CatalogTask, deriveCatalog } from "../master/discovery/mod.ts";
import { routingTable } from "./routes.ts";

function task(id: string, appId: string, labels: Record<string, string>, up = true): CatalogTask {
  return {
    frameworkName: "marathon",
    taskId: id,
    taskName: id,
    state: up ? "TASK_RUNNING" : "TASK_STARTING",
    hasHealthCheck: false,
    agentHostname: "h",
    agentIp: "10.0.0.1",
    hostPorts: [31000 + id.length],
    labels: { MARATHON_APP_ID: appId, ...labels },
  };
}

Deno.test("routingTable() groups endpoints by service port and by vhost across apps", () => {
  const table = routingTable(
    deriveCatalog([
      task("b1", "/blue", { TENDER_VHOST: "shop.test", TENDER_SERVICE_PORTS: "10001" }),
      task("g12", "/green", {
        HAPROXY_0_VHOST: "shop.test,green.test",
        TENDER_BALANCE: "leastconn",
      }),
    ]),
    new Map(),
  );
  assert.deepEqual([...table.tcp.keys()], [10001]);
  assert.deepEqual(table.vhosts.get("shop.test")?.services, ["blue.marathon", "green.marathon"]);
  assert.equal(table.vhosts.get("shop.test")?.endpoints.length, 2);
  assert.equal(table.vhosts.get("green.test")?.balance, "leastconn");
});

Deno.test("routingTable() keeps a service port while its service has no endpoints", () => {
  const remembered = new Map<string, Set<number>>();
  const labels = { TENDER_SERVICE_PORTS: "10002" };
  routingTable(deriveCatalog([task("t1", "/web", labels)]), remembered);
  const down = routingTable(deriveCatalog([task("t1", "/web", labels, false)]), remembered);
  assert.deepEqual(down.tcp.get(10002)?.endpoints, []);
  assert.deepEqual(down.tcp.get(10002)?.services, ["web.marathon"]);
  const gone = routingTable(deriveCatalog([]), remembered);
  assert.equal(gone.tcp.size, 0);
  assert.equal(remembered.size, 0);
});

Deno.test("routingTable() with groups routes only endpoints of those groups (HAPROXY_GROUP); * routes all", () => {
  const catalog = deriveCatalog([
    task("t1", "/public", { HAPROXY_GROUP: "external", HAPROXY_0_VHOST: "pub.test" }),
    task("t22", "/private", { HAPROXY_GROUP: "internal", HAPROXY_0_VHOST: "priv.test" }),
    task("t333", "/both", {
      HAPROXY_GROUP: "internal",
      HAPROXY_0_GROUP: "external, internal",
      HAPROXY_0_VHOST: "both.test",
    }),
    task("t4444", "/none", { HAPROXY_0_VHOST: "none.test" }),
  ]);
  const hosts = (groups?: string[]) =>
    [...routingTable(catalog, new Map(), groups ? { groups } : {}).vhosts.keys()].sort();
  assert.deepEqual(hosts(["external"]), ["both.test", "pub.test"]);
  assert.deepEqual(hosts(["internal"]), ["both.test", "priv.test"]);
  assert.deepEqual(hosts(["*"]), ["both.test", "none.test", "priv.test", "pub.test"]);
  assert.deepEqual(hosts(), ["both.test", "none.test", "priv.test", "pub.test"], "no --group");
});
