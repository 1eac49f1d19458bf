import assert from "node:assert/strict";
import { createLogger, FakeClock } from "../base/mod.ts";
import { Autoscaler } from "./autoscaler.ts";
import { renderAutoscalerMetrics } from "./http.ts";
import { MarathonApps } from "./sources/marathon_apps.ts";
import { RouterRequests } from "./sources/router_requests.ts";

/** A Marathon with one app and a router whose counters the test moves. */
function world(labels: Record<string, string>) {
  const app = { id: "/web", instances: 1, labels };
  const counters = new Map<string, number>();
  const puts: number[] = [];
  const tasks = () =>
    Array.from({ length: app.instances }, (_, i) => ({ id: `web.${i}`, state: "TASK_RUNNING" }));
  const fakeFetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    if (url.pathname === "/v2/apps") {
      return Response.json({ apps: [{ ...app, tasks: tasks(), deployments: [] }] });
    }
    if (url.pathname === "/v2/apps/web" && init?.method === "PUT") {
      const { instances } = JSON.parse(String(init.body));
      puts.push(instances);
      app.instances = instances;
      return Response.json({ deploymentId: `d${puts.length}`, version: "v" });
    }
    if (url.pathname === "/_router/state") {
      const backends = tasks().map((t) => ({ taskId: t.id, total: counters.get(t.id) ?? 0 }));
      return Response.json({ tcp: [], vhosts: [{ backends }] });
    }
    await Promise.resolve();
    return new Response("nope", { status: 404 });
  };
  const clock = new FakeClock(0);
  const scaler = new Autoscaler({
    marathon: new MarathonApps("http://marathon", { fetch: fakeFetch as typeof fetch }),
    routers: new RouterRequests(["http://router"], { fetch: fakeFetch as typeof fetch }),
    clock,
    log: createLogger({ component: "autoscaler", level: "error" }),
  });
  /** `rps` requests per second, spread over the running tasks, for `seconds`. */
  const load = (rps: number, seconds: number) => {
    const ids = tasks().map((t) => t.id);
    for (const id of ids) counters.set(id, (counters.get(id) ?? 0) + (rps * seconds) / ids.length);
    clock.advance(seconds * 1000);
  };
  return { app, puts, scaler, load };
}

const LABELS = {
  TENDER_AUTOSCALE_MAX: "4",
  TENDER_AUTOSCALE_TARGET: "10",
  TENDER_AUTOSCALE_UP_STEP: "2",
  TENDER_AUTOSCALE_UP_COOLDOWN: "2",
  TENDER_AUTOSCALE_DOWN_COOLDOWN: "10",
  TENDER_AUTOSCALE_DOWN_STEP: "2",
};

Deno.test("Autoscaler scales an app up under load through Marathon, and down after it", async () => {
  const { app, puts, scaler, load } = world(LABELS);
  await scaler.pass(); // first sample: no rate yet
  assert.deepEqual(puts, []);
  load(50, 1);
  await scaler.pass(); // 50 rps on 1 instance, target 10: wants 5, max 4, step 2 → 3
  assert.deepEqual(puts, [3]);
  load(50, 1);
  await scaler.pass(); // cooling down
  load(50, 1);
  await scaler.pass(); // → 4 (capped)
  assert.deepEqual(puts, [3, 4]);
  for (let i = 0; i < 5; i++) {
    load(50, 1);
    await scaler.pass();
  }
  assert.deepEqual(puts, [3, 4], "steady load: no change");
  // Load stops: down after the 10 s window, 2 at a time, to the minimum of 1.
  for (let i = 0; i < 30; i++) {
    load(0, 1);
    await scaler.pass();
  }
  assert.deepEqual(puts, [3, 4, 2, 1]);
  assert.equal(app.instances, 1);
  const types = scaler.events.map((e) => e.type).filter((t) => t.startsWith("scale"));
  assert.deepEqual(types, ["scale_up", "scale_up", "scale_down", "scale_down"]);
  const metrics = renderAutoscalerMetrics(scaler);
  assert.match(metrics, /tender_autoscaler_decisions_total\{app="\/web",decision="up"\} 2/);
  assert.match(metrics, /tender_autoscaler_decisions_total\{app="\/web",decision="down"\} 2/);
});

Deno.test("Autoscaler leaves an app with invalid labels alone and says why", async () => {
  const { puts, scaler, load } = world({ ...LABELS, TENDER_AUTOSCALE_TARGET: "lots" });
  await scaler.pass();
  load(100, 1);
  await scaler.pass();
  assert.deepEqual(puts, []);
  assert.equal(scaler.events.length, 1, "said once");
  assert.match(scaler.events[0]!.reason, /TENDER_AUTOSCALE_TARGET must be/);
});
