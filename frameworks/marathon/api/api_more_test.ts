import assert from "node:assert/strict";
import { instance } from "../deployment/testing.ts";
import { post, withApi } from "./testing.ts";

Deno.test("/v2/groups: POST a tree (201, 409 again), GET the tree and a subgroup", async () => {
  await withApi(async ({ request }) => {
    const group = {
      id: "/shop",
      apps: [{ id: "db", cmd: "postgres" }],
      groups: [{ id: "front", apps: [{ id: "web", cmd: "httpd", dependencies: ["/shop/db"] }] }],
    };
    const res = await request("/v2/groups", post(group));
    assert.equal(res.status, 201);
    assert.ok(res.headers.get("marathon-deployment-id"));
    assert.equal((await request("/v2/groups", post(group))).status, 409);
    const root = await (await request("/v2/groups")).json();
    assert.equal(root.id, "/");
    assert.equal(root.groups[0].id, "/shop");
    assert.deepEqual(root.groups[0].apps.map((a: { id: string }) => a.id), ["/shop/db"]);
    assert.deepEqual(root.groups[0].groups[0].apps.map((a: { id: string }) => a.id), [
      "/shop/front/web",
    ]);
    const sub = await (await request("/v2/groups/shop/front")).json();
    assert.equal(sub.id, "/shop/front");
    assert.equal((await request("/v2/groups/none")).status, 404);
    const deps = await (await request("/v2/deployments")).json();
    assert.equal(deps[0].steps.length, 3, "start, then db, then web");
  });
});

Deno.test("/v2/queue lists apps waiting for instances with their backoff; DELETE delay resets", async () => {
  await withApi(async ({ request, store, clock }) => {
    await request("/v2/apps", post({ id: "web", cmd: "serve", instances: 2 }));
    const app = (await store.getApp("/web"))!;
    await store.setBackoff("/web", {
      configVersion: app.versionInfo!.lastConfigChangeAt,
      failures: 1,
      delayMs: 5000,
      lastFailureAt: clock.now(),
    });
    const q = (await (await request("/v2/queue")).json()).queue;
    assert.equal(q.length, 1);
    assert.equal(q[0].app.id, "/web");
    assert.equal(q[0].count, 2);
    assert.deepEqual(q[0].delay, { timeLeftSeconds: 5, overdue: false });
    assert.equal((await request("/v2/queue/web/delay", { method: "DELETE" })).status, 204);
    assert.equal(await store.getBackoff("/web"), undefined);
    assert.equal((await request("/v2/queue/nope/delay", { method: "DELETE" })).status, 404);
  });
});

Deno.test("/v2/events streams event_stream_attached, api_post_event and deployment_info", async () => {
  await withApi(async ({ request, events }) => {
    assert.equal((await request("/v2/events")).status, 405);
    const res = await request("/v2/events", { headers: { accept: "text/event-stream" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    await request("/v2/apps", post({ id: "web", cmd: "serve" }));
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("event: deployment_info")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const types = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(types, [
      "event_stream_attached",
      "api_post_event",
      "group_change_success",
      "deployment_info",
    ]);
    const post1 = JSON.parse(text.split("\n\n")[1]!.split("data: ")[1]!);
    assert.equal(post1.appDefinition.id, "/web");
    assert.equal(post1.uri, "/v2/apps");
    await reader.cancel();
    assert.equal(events.subscriberCount, 0);
  });
});

Deno.test("task kills: one, by host, in bulk, and with scale=true", async () => {
  await withApi(async ({ request, store, service }) => {
    await request("/v2/apps", post({ id: "web", cmd: "serve", instances: 4 }));
    const app = (await store.getApp("/web"))!;
    const list = [
      instance(app, { hostname: "h1" }),
      instance(app, { hostname: "h1" }),
      instance(app, { hostname: "h2" }),
      instance(app, { hostname: "h3" }),
    ];
    for (const i of list) await store.addInstance(i);
    await service.syncDeployments();
    const goal = async (i: (typeof list)[number]) =>
      (await store.getInstance("/web", i.instanceId))?.goal;

    const one = await request(`/v2/apps/web/tasks/${list[3]!.taskId}`, { method: "DELETE" });
    assert.equal(one.status, 200);
    assert.equal((await one.json()).task.id, list[3]!.taskId);
    assert.equal(await goal(list[3]!), "Stopped");
    assert.equal((await store.getApp("/web"))?.instances, 4, "without scale the count stays");

    const byHost = await (await request("/v2/apps/web/tasks?host=h1", { method: "DELETE" })).json();
    assert.equal(byHost.tasks.length, 2);
    assert.equal(await goal(list[0]!), "Stopped");
    assert.equal(await goal(list[2]!), "Running");

    assert.equal((await request("/v2/apps/web/tasks/nope", { method: "DELETE" })).status, 404);
    assert.equal(
      (await request("/v2/apps/web/tasks?scale=true&wipe=true", { method: "DELETE" })).status,
      400,
    );

    const scaled = await request(`/v2/apps/web/tasks/${list[2]!.taskId}?scale=true`, {
      method: "DELETE",
    });
    assert.equal(scaled.status, 200);
    assert.ok((await scaled.json()).deploymentId);
    assert.equal((await store.getApp("/web"))?.instances, 3);
    assert.equal(await goal(list[2]!), "Stopped");

    const extra = instance(app, { hostname: "h9" });
    await store.addInstance(extra);
    const bulk = await request("/v2/tasks/delete", post({ ids: [extra.taskId] }));
    assert.equal(bulk.status, 200);
    assert.deepEqual((await bulk.json()).tasks.map((t: { id: string }) => t.id), [extra.taskId]);
    assert.equal((await request("/v2/tasks/delete", post({ ids: ["garbage"] }))).status, 400);
  });
});

Deno.test("/v2/groups PUT replaces a group's apps (dryRun, scaleBy) and DELETE removes them", async () => {
  await withApi(async ({ request, store }) => {
    await request(
      "/v2/groups",
      post({ id: "/g", apps: [{ id: "a", cmd: "serve" }, { id: "b", cmd: "serve" }] }),
    );
    const body = { apps: [{ id: "a", cmd: "serve", instances: 2 }, { id: "c", cmd: "serve" }] };
    const dry = await request("/v2/groups/g?dryRun=true&force=true", { method: "PUT", json: body });
    assert.equal(dry.status, 200);
    assert.deepEqual((await dry.json()).steps, [
      { actions: [{ action: "StopApplication", app: "/g/b" }] },
      { actions: [{ action: "StartApplication", app: "/g/c" }] },
      {
        actions: [{ action: "ScaleApplication", app: "/g/a" }, {
          action: "ScaleApplication",
          app: "/g/c",
        }],
      },
    ]);
    assert.ok(await store.getApp("/g/b"), "dryRun changes nothing");
    const put = await request("/v2/groups/g?force=true", { method: "PUT", json: body });
    assert.equal(put.status, 200);
    assert.deepEqual((await store.listApps()).map((a) => a.id).sort(), ["/g/a", "/g/c"]);
    await request("/v2/groups/g?force=true", { method: "PUT", json: { scaleBy: 2 } });
    assert.deepEqual((await store.listApps()).map((a) => a.instances).sort(), [2, 4]);
    const del = await request("/v2/groups/g", { method: "DELETE" });
    assert.equal(del.status, 200);
    assert.deepEqual(await store.listApps(), []);
    assert.equal((await request("/v2/groups/g", { method: "DELETE" })).status, 404);
  });
});

Deno.test("POST /v2/apps/{id}/restart rolls a new config version; deployment_success follows", async () => {
  await withApi(async ({ request, store, service, events, clock }) => {
    await request("/v2/apps", post({ id: "web", cmd: "serve" }));
    const v1 = (await store.getApp("/web"))!;
    await store.addInstance(instance(v1));
    await service.syncDeployments();
    clock.advance(1000);
    const seen: string[] = [];
    events.listen((e) => seen.push(e.eventType));
    const res = await request("/v2/apps/web/restart", { method: "POST" });
    assert.equal(res.status, 200);
    const { deploymentId } = await res.json();
    const v2 = (await store.getApp("/web"))!;
    assert.notEqual(v2.versionInfo?.lastConfigChangeAt, v1.versionInfo?.lastConfigChangeAt);
    assert.deepEqual((await store.getDeployment(deploymentId))?.steps, [{
      actions: [{ action: "RestartApplication", app: "/web" }],
    }]);
    assert.equal((await request("/v2/apps/nope/restart", { method: "POST" })).status, 404);
    const old = (await store.listInstances("/web"))[0]!;
    await store.addInstance(instance(v2));
    await service.syncDeployments();
    assert.equal((await store.listDeployments()).length, 1, "the old instance still runs");
    assert.equal(seen.includes("deployment_success"), false);
    await store.updateInstance("/web", old.instanceId, () => undefined);
    await service.syncDeployments();
    assert.deepEqual(await store.listDeployments(), [], "settled once the old instance is gone");
    assert.ok(seen.includes("deployment_info"));
    assert.ok(seen.includes("deployment_success"));
  });
});

Deno.test("GET /v2/deployments shows readiness results of the current action", async () => {
  await withApi(async ({ request, store }) => {
    await request(
      "/v2/apps",
      post({
        id: "api",
        cmd: "serve",
        portDefinitions: [{ port: 0, name: "http-api" }],
        readinessChecks: [{ name: "ready-check" }],
      }),
    );
    const app = (await store.getApp("/api"))!;
    const i = instance(app, { ready: false });
    await store.addInstance(i);
    const [d] = await (await request("/v2/deployments")).json();
    assert.deepEqual(d.currentActions, [{
      action: "ScaleApplication",
      app: "/api",
      readinessCheckResults: [{
        taskId: i.taskId,
        name: "ready-check",
        ready: false,
        lastResponse: null,
      }],
    }]);
  });
});
