/**
 * `GET /metrics` on the agent, the registry, the router and Marathon, each started for real
 * beside a real master: the series are there, parse strictly, and move with real work (a
 * Marathon app's task on the agent, a blob pushed to the registry, a request routed to it).
 */
import assert from "node:assert/strict";
import { startAgent } from "../agent/mod.ts";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { startMaster } from "../master/mod.ts";
import { findSample, type ParsedExposition, parsePrometheus } from "../base/mod.ts";
import { serveRegistry } from "../registry/server.ts";
import { startRouter } from "../router/mod.ts";
import { freePort, waitFor } from "./support/cluster.ts";

async function scrape(url: string): Promise<ParsedExposition> {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("Content-Type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

function assertFamilies(m: ParsedExposition, types: Record<string, string>): void {
  for (const [name, type] of Object.entries(types)) {
    assert.equal(m.families.get(name)?.type, type, `family ${name}`);
  }
}

/** The sum of every series of `name` whose labels include `labels`. */
function total(m: ParsedExposition, name: string, labels: Record<string, string> = {}): number {
  return m.samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  ).reduce((sum, s) => sum + s.value, 0);
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

Deno.test("agent, registry, router and Marathon serve /metrics that follow real work", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tender-metrics-components-" });
  // One port nobody listens on, so the router's connect to the sleeping task fails for sure.
  const taskPort = freePort();
  const master = await startMaster({ port: 0, workDir: `${dir}/master` });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    hostname: "127.0.0.1",
    workDir: `${dir}/agent`,
    containerizer: "process",
    resources: `cpus:2;mem:512;disk:1024;ports:[${taskPort}-${taskPort}]`,
    log: () => {},
  });
  const registry = await serveRegistry({ workDir: `${dir}/registry`, port: 0 });
  const router = await startRouter({ master: master.url, httpPort: 0 });
  const marathon = await startMarathon({ master: master.url, port: 0, workDir: `${dir}/marathon` });
  const routerUrl = `http://127.0.0.1:${router.httpPort}`;
  try {
    await t.step("each component exposes its series before any work", async () => {
      const a = await scrape(agent.url);
      assertFamilies(a, {
        tender_agent_tasks: "gauge",
        tender_agent_containers_launched_total: "counter",
        tender_agent_task_launch_to_running_seconds: "histogram",
        tender_agent_status_updates_pending: "gauge",
        tender_agent_status_updates_acknowledged_total: "counter",
        tender_agent_health_checks_total: "counter",
        tender_agent_http_request_duration_seconds: "histogram",
      });
      assert.equal(findSample(a, "tender_agent_containers_launched_total"), 0);
      const r = await scrape(registry.url);
      assertFamilies(r, {
        tender_registry_blob_bytes_uploaded_total: "counter",
        tender_registry_blob_bytes_served_total: "counter",
        tender_registry_manifests_pushed_total: "counter",
        tender_registry_uploads_in_progress: "gauge",
        tender_registry_http_request_duration_seconds: "histogram",
      });
      assert.equal(findSample(r, "tender_registry_blob_bytes_uploaded_total"), 0);
      const ro = await scrape(routerUrl);
      assertFamilies(ro, {
        tender_router_requests_total: "counter",
        tender_router_failed_total: "counter",
        tender_router_active_connections: "gauge",
        tender_router_backend_requests_total: "counter",
        tender_router_backend_failed_connects_total: "counter",
        tender_router_backend_active_connections: "gauge",
        tender_router_http_request_duration_seconds: "histogram",
      });
      const mt = await scrape(marathon.url);
      assertFamilies(mt, {
        tender_marathon_apps: "gauge",
        tender_marathon_instances: "gauge",
        tender_marathon_instances_health: "gauge",
        tender_marathon_deployments_running: "gauge",
        tender_marathon_tasks_launched_total: "counter",
        tender_marathon_kills_total: "counter",
        tender_marathon_offers_total: "counter",
        tender_marathon_http_request_duration_seconds: "histogram",
      });
      assert.equal(findSample(mt, "tender_marathon_apps"), 0);
      assert.equal(findSample(mt, "tender_marathon_instances", { state: "Running" }), 0);
    });

    await t.step("a Marathon app's task runs: Marathon and the agent count it", async () => {
      const posted = await fetch(`${marathon.url}/v2/apps`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          id: "/metrics/sleeper",
          cmd: "sleep 60",
          cpus: 0.1,
          mem: 32,
          instances: 1,
          portDefinitions: [{ port: 0, name: "http" }],
          labels: { TENDER_VHOST: "sleeper.metrics.test" },
        }),
      });
      assert.equal(posted.status, 201, await posted.text());
      const mt = await waitFor("Marathon to count a running instance", async () => {
        const m = await scrape(marathon.url);
        return findSample(m, "tender_marathon_instances", { state: "Running" }) === 1 &&
          findSample(m, "tender_marathon_deployments_running") === 0 && m;
      }, 30_000);
      assert.equal(findSample(mt, "tender_marathon_apps"), 1);
      assert.equal(findSample(mt, "tender_marathon_tasks_launched_total"), 1);
      assert.ok(findSample(mt, "tender_marathon_offers_total", { outcome: "used" })! >= 1);
      assert.equal(findSample(mt, "tender_marathon_instances_health", { health: "unknown" }), 1);
      assert.ok(
        findSample(mt, "tender_marathon_http_request_duration_seconds_count", {
          route: "/v2/apps",
          method: "POST",
          status: "201",
        })! >= 1,
      );

      const a = await waitFor("the agent to count the acknowledged TASK_RUNNING", async () => {
        const m = await scrape(agent.url);
        return findSample(m, "tender_agent_status_updates_pending") === 0 &&
          (findSample(m, "tender_agent_status_updates_acknowledged_total") ?? 0) >= 1 && m;
      });
      assert.equal(findSample(a, "tender_agent_tasks", { state: "TASK_RUNNING" }), 1);
      assert.equal(findSample(a, "tender_agent_containers_launched_total"), 1);
      assert.equal(findSample(a, "tender_agent_task_launch_to_running_seconds_count"), 1);
      assert.ok(findSample(a, "tender_agent_task_launch_to_running_seconds_sum")! < 20);
      assert.ok(
        findSample(a, "tender_agent_status_updates_total", { state: "TASK_RUNNING" })! >= 1,
      );
      assert.ok(
        findSample(a, "tender_agent_http_request_duration_seconds_count", {
          route: "/metrics",
          method: "GET",
          status: "200",
        })! >= 1,
      );
    });

    await t.step("a request through the router is counted against the app's backend", async () => {
      await waitFor(
        "the router to route the vhost",
        () =>
          router.state().vhosts.some((v) => v.host === "sleeper.metrics.test" && v.backends.length),
      );
      // `sleep` listens on nothing: the connect fails, the router answers 502.
      const client = Deno.createHttpClient({ allowHost: true });
      const r = await fetch(`${routerUrl}/`, {
        headers: { Host: "sleeper.metrics.test" },
        signal: AbortSignal.timeout(10_000),
        client,
      }).finally(() => client.close());
      assert.equal(r.status, 502, await r.text());
      const m = await scrape(routerUrl);
      const route = { frontend: "http", route: "sleeper.metrics.test" };
      assert.equal(findSample(m, "tender_router_requests_total", route), 1);
      assert.equal(findSample(m, "tender_router_failed_total", route), 1);
      assert.equal(findSample(m, "tender_router_active_connections", route), 0);
      assert.ok(total(m, "tender_router_backend_failed_connects_total", route) >= 1);
      assert.equal(
        findSample(m, "tender_router_http_request_duration_seconds_count", {
          route: "vhost:sleeper.metrics.test",
          status: "502",
        }),
        1,
      );
    });

    await t.step("a blob pushed to the registry and pulled back moves its counters", async () => {
      const blob = new TextEncoder().encode("tender metrics blob\n".repeat(100));
      const digest = await sha256(blob);
      const started = await fetch(`${registry.url}/v2/metrics/blob/blobs/uploads/`, {
        method: "POST",
      });
      await started.body?.cancel();
      assert.equal(started.status, 202);
      assert.equal(
        findSample(await scrape(registry.url), "tender_registry_uploads_in_progress"),
        1,
      );
      const location = new URL(started.headers.get("Location")!, registry.url);
      location.searchParams.set("digest", digest);
      const put = await fetch(location, {
        method: "PUT",
        headers: { "Content-Type": "application/octet-stream" },
        body: blob,
      });
      await put.body?.cancel();
      assert.equal(put.status, 201);
      const got = await fetch(`${registry.url}/v2/metrics/blob/blobs/${digest}`);
      assert.equal((await got.bytes()).byteLength, blob.byteLength);
      const m = await scrape(registry.url);
      assert.equal(findSample(m, "tender_registry_blob_bytes_uploaded_total"), blob.byteLength);
      assert.equal(findSample(m, "tender_registry_blobs_uploaded_total"), 1);
      assert.equal(findSample(m, "tender_registry_uploads_in_progress"), 0);
      assert.equal(findSample(m, "tender_registry_blob_bytes_served_total"), blob.byteLength);
      assert.equal(findSample(m, "tender_registry_manifests_pushed_total"), 0);
      assert.equal(
        total(m, "tender_registry_http_request_duration_seconds_count", { method: "PUT" }),
        1,
      );
    });

    await t.step("deleting the app kills its task: Marathon counts the kill", async () => {
      const r = await fetch(`${marathon.url}/v2/apps/metrics/sleeper`, { method: "DELETE" });
      await r.body?.cancel();
      assert.equal(r.status, 200);
      const m = await waitFor("the kill counted and the task gone", async () => {
        const m = await scrape(marathon.url);
        return findSample(m, "tender_marathon_kills_total")! >= 1 &&
          findSample(m, "tender_marathon_apps") === 0 &&
          findSample(m, "tender_marathon_instances", { state: "Running" }) === 0 &&
          // The stop deployment ends once the task has (after the master's drain).
          findSample(m, "tender_marathon_deployments_running") === 0 && m;
      }, 30_000);
      assert.equal(findSample(m, "tender_marathon_deployments_running"), 0);
      await waitFor("the agent to end the task", async () => {
        const a = await scrape(agent.url);
        return total(a, "tender_agent_tasks") === 0 ||
          findSample(a, "tender_agent_tasks", { state: "TASK_KILLED" }) !== undefined;
      }, 30_000);
    });
  } finally {
    await marathon.stop();
    await router.close();
    await registry.close();
    for (const task of agent.agent.tasks()) {
      await agent.containerizer.destroy(task.container_id, 0).catch(() => {});
    }
    await agent.stop();
    await master.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
