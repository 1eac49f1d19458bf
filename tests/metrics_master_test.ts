import assert from "node:assert/strict";
import { mountMasterMetrics } from "../master/metrics/mod.ts";
import { findSample, parsePrometheus } from "../base/mod.ts";
import { OpsCluster } from "./metrics_cluster.ts";
import { waitFor } from "./support/cluster.ts";

async function scrape(url: string) {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("Content-Type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

Deno.test("master /metrics exposes the books as Prometheus text and follows the cluster", async (t) => {
  const cluster = await OpsCluster.start(mountMasterMetrics);
  const url = cluster.master.url;
  try {
    await t.step("an empty master", async () => {
      const m = await scrape(url);
      assert.equal(findSample(m, "tender_agents", { state: "active" }), 0);
      assert.equal(findSample(m, "tender_frameworks", { state: "connected" }), 0);
      assert.equal(findSample(m, "tender_offers_total", { outcome: "sent" }), 0);
      assert.equal(findSample(m, "tender_tasks", { state: "TASK_RUNNING" }), 0);
      assert.equal(findSample(m, "tender_resources", { resource: "cpus", kind: "total" }), 0);
      for (
        const family of [
          "tender_allocation_duration_seconds",
          "tender_master_http_request_duration_seconds",
        ]
      ) {
        assert.equal(m.families.get(family)?.type, "histogram");
      }
    });

    await t.step("a framework subscribes", async () => {
      await cluster.subscribe("metrics-fw");
      const m = await scrape(url);
      assert.equal(findSample(m, "tender_frameworks", { state: "connected" }), 1);
      assert.equal(findSample(m, "tender_framework_dominant_share", { name: "metrics-fw" }), 0);
    });

    await t.step("an agent registers and its resources are offered", async () => {
      await cluster.startAgent();
      const m = await waitFor("an offer counted", async () => {
        const m = await scrape(url);
        return (findSample(m, "tender_offers_total", { outcome: "sent" }) ?? 0) > 0 && m;
      });
      assert.equal(findSample(m, "tender_agents", { state: "active" }), 1);
      assert.equal(findSample(m, "tender_resources", { resource: "cpus", kind: "total" }), 2);
      assert.equal(findSample(m, "tender_resources", { resource: "mem", kind: "total" }), 512);
      assert.equal(findSample(m, "tender_resources", { resource: "ports", kind: "total" }), 10);
      assert.ok(findSample(m, "tender_offers_outstanding")! >= 1);
      assert.equal(findSample(m, "tender_resources", { resource: "cpus", kind: "offered" }), 2);
    });

    await t.step("a task launches and runs", async () => {
      await cluster.launch("metrics-1", "sleep 60", { cpus: 0.5 });
      const m = await scrape(url);
      assert.equal(findSample(m, "tender_tasks", { state: "TASK_RUNNING" }), 1);
      assert.equal(findSample(m, "tender_tasks_launched_total"), 1);
      assert.ok(findSample(m, "tender_offers_total", { outcome: "accepted" })! >= 1);
      assert.equal(findSample(m, "tender_resources", { resource: "cpus", kind: "used" }), 0.5);
      assert.equal(findSample(m, "tender_task_launch_to_running_seconds_count"), 1);
      assert.ok(findSample(m, "tender_task_launch_to_running_seconds_sum")! < 20);
      assert.ok(findSample(m, "tender_framework_dominant_share", { name: "metrics-fw" })! > 0);
    });

    await t.step("a declined offer is counted", async () => {
      const fw = cluster.framework!;
      const offer = await cluster.nextOffer();
      const before = findSample(await scrape(url), "tender_offers_total", { outcome: "declined" })!;
      await fw.call({
        type: "DECLINE",
        framework_id: { value: fw.frameworkId },
        decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } },
      });
      const after = findSample(await scrape(url), "tender_offers_total", { outcome: "declined" })!;
      assert.equal(after, before + 1);
    });

    await t.step("request durations are recorded by route pattern and status", async () => {
      await fetch(`${url}/no/such/route`).then((r) => r.body?.cancel());
      const m = await scrape(url);
      const scrapes = findSample(m, "tender_master_http_request_duration_seconds_count", {
        route: "/metrics",
        method: "GET",
        status: "200",
      });
      assert.ok(scrapes! >= 5);
      assert.equal(
        findSample(m, "tender_master_http_request_duration_seconds_count", {
          route: "unmatched",
          status: "404",
        }),
        1,
      );
    });
  } finally {
    await cluster.stop();
  }
});
