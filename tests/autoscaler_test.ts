/**
 * Autoscaling end to end: a master, an agent, Marathon, a router and the autoscaler as real
 * processes; a load generator pushes an app labelled for autoscaling (requests per second per
 * instance, through the router) from 1 to at least 3 healthy instances, the steady load changes
 * nothing more, and once the load stops the app goes back down to its minimum.
 */
import assert from "node:assert/strict";
import { waitFor } from "./support/cluster.ts";
import { AutoscaleWorld, LoadGenerator } from "./support/autoscale_world.ts";
import type { Json } from "./support/marathon_api.ts";

const POLICY = {
  TENDER_AUTOSCALE_MIN: "1",
  TENDER_AUTOSCALE_MAX: "4",
  TENDER_AUTOSCALE_METRIC: "rps",
  TENDER_AUTOSCALE_TARGET: "10",
  TENDER_AUTOSCALE_UP_STEP: "2",
  TENDER_AUTOSCALE_UP_COOLDOWN: "3",
  TENDER_AUTOSCALE_DOWN_STEP: "2",
  TENDER_AUTOSCALE_DOWN_COOLDOWN: "5",
};

Deno.test("autoscaler: load pushes an app from 1 to >= 3 instances, and back to 1 after", async () => {
  const world = await AutoscaleWorld.start({ interval: 1 });
  let load: LoadGenerator | undefined;
  try {
    await world.deploy(POLICY);
    assert.equal((await world.app()).instances, 1);
    // ~60 requests per second against a target of 10 per instance: wants 6, capped at 4.
    load = new LoadGenerator(world.routerPort, { rps: 60 });
    const started = Date.now();
    const up = await waitFor("3 healthy instances under load", async () => {
      const app = await world.app();
      return app.tasksHealthy >= 3 ? app : false;
    }, 60_000);
    console.log(`# load step to ${up.tasksHealthy} healthy instances: ${Date.now() - started} ms`);
    // Steady load: the app stays up (no scale-down while the load lasts).
    await new Promise((r) => setTimeout(r, 6_000));
    const during = await world.events();
    assert.ok(!during.some((e: Json) => e.type === "scale_down"), "no scale-down under load");
    assert.ok((await world.app()).instances >= 3);
    await load.stop();
    assert.ok(load.ok > 200, `${load.ok} requests answered`);
    assert.ok(load.failed < load.ok / 20, `${load.failed} failed of ${load.ok}`);
    load = undefined;

    await waitFor("the app back at 1 instance", async () => {
      const app = await world.app();
      return app.instances === 1 && app.tasksRunning === 1 && app.deployments.length === 0;
    }, 60_000);
    const events = await world.events();
    const scaled = events.filter((e: Json) => e.type === "scale_up" || e.type === "scale_down");
    assert.ok(scaled.length >= 2, JSON.stringify(scaled));
    assert.equal(scaled[0].type, "scale_up");
    assert.match(scaled[0].reason, /per instance against a target of 10 \(rps\): wants \d/);
    assert.equal(scaled.at(-1).type, "scale_down");
    assert.equal(scaled.at(-1).to, 1);
    // Every scale-down came after every scale-up: no flapping.
    const firstDown = scaled.findIndex((e: Json) => e.type === "scale_down");
    assert.ok(scaled.slice(firstDown).every((e: Json) => e.type === "scale_down"));
    const metrics = await (await fetch(`${world.scalerUrl}/metrics`)).text();
    assert.match(metrics, /tender_autoscaler_decisions_total\{app="\/web",decision="up"\} [1-9]/);
    assert.match(metrics, /tender_autoscaler_decisions_total\{app="\/web",decision="down"\} [1-9]/);
  } catch (e) {
    console.error(world.scaler.log.slice(-30).join(""));
    throw e;
  } finally {
    await load?.stop();
    await world.stop();
  }
});
