import assert from "node:assert/strict";
import { instance } from "../deployment/testing.ts";
import { post, withApi } from "./testing.ts";

Deno.test("POST /v2/apps answers 201 with Location, deployment header and the app with defaults", async () => {
  await withApi(async ({ request }) => {
    const res = await request("/v2/apps", post({ id: "web", cmd: "httpd -f -p $PORT0" }));
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("location"), "http://localhost/v2/apps/web");
    const depId = res.headers.get("marathon-deployment-id");
    assert.ok(depId);
    const app = await res.json();
    assert.equal(app.id, "/web");
    assert.equal(app.cpus, 1);
    assert.equal(app.mem, 128);
    assert.equal(app.version, "2026-01-01T00:00:00.000Z");
    assert.deepEqual(app.deployments, [{ id: depId }]);
    assert.equal(app.tasksRunning, 0);
    assert.deepEqual(
      app.portDefinitions.map((p: { port: number }) => p.port),
      [10000],
      "service port assigned",
    );

    const dup = await request("/v2/apps", post({ id: "/web", cmd: "other" }));
    assert.equal(dup.status, 409);
    assert.deepEqual(await dup.json(), { message: "An app with id [/web] already exists." });

    const one = await (await request("/v2/apps/web")).json();
    assert.equal(one.app.id, "/web");
    assert.deepEqual(one.app.tasks, []);
    const list = await (await request("/v2/apps")).json();
    assert.deepEqual(list.apps.map((a: { id: string }) => a.id), ["/web"]);
  });
});

Deno.test("POST /v2/apps answers Marathon's 422 and 400 bodies, and takes YAML", async () => {
  await withApi(async ({ request }) => {
    const bad = await request("/v2/apps", post({ id: "web", cmd: "serve", instances: -1 }));
    assert.equal(bad.status, 422);
    assert.deepEqual(await bad.json(), {
      message: "Object is not valid",
      details: [{ path: "/instances", errors: ["got -1, expected 0 or more"] }],
    });
    const typed = await request("/v2/apps", post({ id: 123 }));
    assert.equal(typed.status, 422);
    assert.deepEqual(await typed.json(), {
      message: "Invalid JSON",
      details: [{ path: "/id", errors: ["error.expected.jsstring"] }],
    });
    const junk = await request("/v2/apps", {
      method: "POST",
      body: "{oops",
      headers: { "content-type": "application/json" },
    });
    assert.equal(junk.status, 400);
    assert.equal((await junk.json()).message, "Invalid JSON");
    const yaml = await request("/v2/apps", {
      method: "POST",
      body: "id: /yaml-app\ncmd: sleep 100\ninstances: 2\n",
      headers: { "content-type": "application/yaml" },
    });
    assert.equal(yaml.status, 201);
    assert.equal((await yaml.json()).instances, 2);
  });
});

Deno.test("PUT /v2/apps/{id} is refused with 409 while a deployment holds the app, unless forced", async () => {
  await withApi(async ({ request, clock }) => {
    const created = await request("/v2/apps", post({ id: "web", cmd: "serve" }));
    const depId = created.headers.get("marathon-deployment-id");
    clock.advance(1000);
    const locked = await request("/v2/apps/web", { method: "PUT", json: { cmd: "serve --v2" } });
    assert.equal(locked.status, 409);
    assert.deepEqual(await locked.json(), {
      message:
        "App is locked by one or more deployments. Override with the option '?force=true'. " +
        `View details at '/v2/deployments/${depId}'.`,
      deployments: [{ id: depId }],
    });
    const forced = await request("/v2/apps/web?force=true", {
      method: "PUT",
      json: { cmd: "serve --v2" },
    });
    assert.equal(forced.status, 200);
    const r = await forced.json();
    assert.equal(forced.headers.get("marathon-deployment-id"), r.deploymentId);
    assert.ok(r.version > "2026-01-01T00:00:01", r.version);
    const versions = (await (await request("/v2/apps/web/versions")).json()).versions;
    assert.deepEqual(versions, [r.version, "2026-01-01T00:00:00.000Z"]);
    const v1 = await (await request("/v2/apps/web/versions/2026-01-01T00:00:00.000Z")).json();
    assert.equal(v1.cmd, "serve");
    assert.equal((await request("/v2/apps/web/versions/nope")).status, 404);
    const deployments = await (await request("/v2/deployments")).json();
    assert.deepEqual(
      deployments.map((d: { id: string }) => d.id),
      [r.deploymentId],
      "the first was cancelled",
    );
  });
});

Deno.test("PUT creates (201), PATCH merges, scale-only keeps the config version, rollback restores", async () => {
  await withApi(async ({ request, clock, store, service }) => {
    const created = await request("/v2/apps/api", {
      method: "PUT",
      json: { cmd: "serve", env: { A: "1" } },
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("location"), "http://localhost/v2/apps/api");
    assert.equal(
      (await request("/v2/apps/nope", { method: "PATCH", json: { instances: 2 } })).status,
      404,
    );
    clock.advance(1000);
    const scaled = await request("/v2/apps/api?force=true", {
      method: "PATCH",
      json: { instances: 3 },
    });
    assert.equal(scaled.status, 200);
    const app = (await store.getApp("/api"))!;
    assert.equal(app.instances, 3);
    assert.deepEqual(app.env, { A: "1" }, "PATCH keeps other fields");
    assert.equal(app.versionInfo?.lastConfigChangeAt, "2026-01-01T00:00:00.000Z");
    assert.equal(app.versionInfo?.lastScalingAt, "2026-01-01T00:00:01.000Z");
    const deployments = await service.store.listDeployments();
    assert.deepEqual(deployments.at(-1)?.steps, [{
      actions: [{ action: "ScaleApplication", app: "/api" }],
    }]);
    clock.advance(1000);
    const back = await request("/v2/apps/api?force=true", {
      method: "PUT",
      json: { version: "2026-01-01T00:00:00.000Z" },
    });
    assert.equal(back.status, 200);
    assert.equal((await store.getApp("/api"))?.instances, 1);
  });
});

Deno.test("DELETE /v2/apps/{id} removes the app (force by default); unknown is 404", async () => {
  await withApi(async ({ request, store }) => {
    await request("/v2/apps", post({ id: "gone", cmd: "serve" }));
    const del = await request("/v2/apps/gone", { method: "DELETE" });
    assert.equal(del.status, 200);
    assert.ok((await del.json()).deploymentId);
    assert.equal(await store.getApp("/gone"), undefined);
    assert.equal((await request("/v2/apps/gone")).status, 404);
    assert.deepEqual(await (await request("/v2/apps/gone")).json(), {
      message: "App '/gone' does not exist",
    });
    assert.equal((await request("/v2/apps/gone", { method: "DELETE" })).status, 404);
  });
});

Deno.test("GET /v2/apps filters by id, cmd and label", async () => {
  await withApi(async ({ request }) => {
    await request(
      "/v2/apps",
      post({ id: "/prod/web", cmd: "httpd", labels: { tier: "web", env: "prod" } }),
    );
    await request(
      "/v2/apps",
      post({ id: "/prod/db", cmd: "postgres", labels: { tier: "db", env: "prod" } }),
    );
    await request(
      "/v2/apps",
      post({ id: "/dev/web", cmd: "HTTPD --dev", labels: { tier: "web" } }),
    );
    const ids = async (q: string) =>
      (await (await request(`/v2/apps${q}`)).json()).apps.map((a: { id: string }) => a.id).sort();
    assert.deepEqual(await ids("?id=prod"), ["/prod/db", "/prod/web"]);
    assert.deepEqual(await ids("?cmd=httpd"), ["/dev/web", "/prod/web"]);
    assert.deepEqual(await ids("?label=tier==web,env==prod"), ["/prod/web"]);
    assert.deepEqual(await ids("?label=env"), ["/prod/db", "/prod/web"]);
    assert.equal((await request("/v2/apps?label=a=b")).status, 400);
    const group = await (await request("/v2/apps/prod/*")).json();
    assert.deepEqual(group["*"].map((a: { id: string }) => a.id).sort(), ["/prod/db", "/prod/web"]);
  });
});

Deno.test("deployments: listed with steps, finished by syncDeployments, cancelled or reverted", async () => {
  await withApi(async ({ request, store, service }) => {
    const res = await request("/v2/apps", post({ id: "web", cmd: "serve", instances: 2 }));
    const depId = res.headers.get("marathon-deployment-id");
    const list = await (await request("/v2/deployments")).json();
    assert.equal(list.length, 1);
    assert.deepEqual(list[0].affectedApps, ["/web"]);
    assert.equal(list[0].totalSteps, 2);
    assert.equal(list[0].currentStep, 2, "the StartApplication step is passed at once");
    await service.syncDeployments();
    assert.equal((await (await request("/v2/deployments")).json())[0].currentStep, 2);
    const app = (await store.getApp("/web"))!;
    await store.addInstance(instance(app));
    await store.addInstance(instance(app));
    await service.syncDeployments();
    assert.deepEqual(await (await request("/v2/deployments")).json(), []);
    assert.equal(await store.getLock("/web"), undefined);
    assert.equal((await request(`/v2/deployments/${depId}`, { method: "DELETE" })).status, 404);

    const configBefore = (await store.getApp("/web"))?.versionInfo?.lastConfigChangeAt;
    const upd =
      await (await request("/v2/apps/web", { method: "PUT", json: { cmd: "serve --new" } })).json();
    const revert = await request(`/v2/deployments/${upd.deploymentId}`, { method: "DELETE" });
    assert.equal(revert.status, 200);
    const reverted = await store.getApp("/web");
    assert.equal(reverted?.cmd, "serve", "reverted to the version before");
    assert.equal(
      reverted?.versionInfo?.lastConfigChangeAt,
      configBefore,
      "the old config version, so instances still on it are kept",
    );
    const next =
      await (await request("/v2/apps/web?force=true", { method: "PUT", json: { cmd: "x y" } }))
        .json();
    const stop = await request(`/v2/deployments/${next.deploymentId}?force=true`, {
      method: "DELETE",
    });
    assert.equal(stop.status, 202);
    assert.equal((await store.getApp("/web"))?.cmd, "x y", "force only stops, no rollback");
  });
});

Deno.test("GET /v2/info, /v2/leader and /ping", async () => {
  await withApi(async ({ request }) => {
    assert.equal(await (await request("/ping")).text(), "pong");
    assert.deepEqual(await (await request("/v2/leader")).json(), { leader: "127.0.0.1:18080" });
    const info = await (await request("/v2/info")).json();
    assert.equal(info.name, "marathon");
    assert.equal(info.frameworkId, "fw-1");
    assert.equal(info.marathon_config.local_port_min, 10000);
    assert.equal(info.http_config.http_port, 18080);
    assert.equal((await request("/v2/nothing")).status, 404);
  });
});

Deno.test("PUT ?partialUpdate=false replaces the whole app; GET embed=apps.tasks shows tasks", async () => {
  await withApi(async ({ request, store }) => {
    await request("/v2/apps", post({ id: "web", cmd: "serve", env: { A: "1" }, instances: 2 }));
    const app = (await store.getApp("/web"))!;
    await store.addInstance(instance(app, { hostname: "h1", hostPorts: [31000] }));
    const withTasks = await (await request("/v2/apps?embed=apps.tasks")).json();
    assert.equal(withTasks.apps[0].tasks.length, 1);
    assert.equal(withTasks.apps[0].tasks[0].host, "h1");
    assert.deepEqual(withTasks.apps[0].tasks[0].ports, [31000]);
    assert.equal("tasks" in (await (await request("/v2/apps")).json()).apps[0], false);
    const res = await request("/v2/apps/web?force=true&partialUpdate=false", {
      method: "PUT",
      json: { cmd: "other" },
    });
    assert.equal(res.status, 200);
    const replaced = (await store.getApp("/web"))!;
    assert.deepEqual(replaced.env, {}, "not merged");
    assert.equal(replaced.instances, 1, "defaults again");
  });
});
