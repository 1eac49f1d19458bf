import assert from "node:assert/strict";
import { HttpMetrics, PrometheusWriter } from "../../../base/mod.ts";
import {
  basicHeader,
  newToken,
  parseAcls,
  parseCredentials,
  ServerSecurity,
} from "../../../security/mod.ts";
import { withApi } from "./testing.ts";

const token = newToken("ci");
const credentials = parseCredentials(JSON.stringify({
  credentials: [
    { principal: "ops", secret: "ops-secret" },
    { principal: "web", secret: "web-secret" },
    { principal: "viewer", secret: "viewer-secret" },
  ],
  tokens: [token.entry],
}));
const rule = (principals: string[], paths: string[]) => ({
  principals: { values: principals },
  paths: { values: paths },
});
const acls = parseAcls(JSON.stringify({
  permissive: false,
  view_apps: [rule(["ops", "ci"], ["/"]), rule(["web"], ["/web"]), rule(["viewer"], ["/"])],
  create_apps: [rule(["ops", "ci"], ["/"]), rule(["web"], ["/web"])],
  update_apps: [rule(["ops", "ci"], ["/"]), rule(["web"], ["/web"])],
  delete_apps: [rule(["ops", "ci"], ["/"]), rule(["web"], ["/web"])],
}));
const as = (principal: string) => ({
  Authorization: basicHeader(principal, `${principal}-secret`),
});
const app = (id: string) => ({ id, cmd: "sleep 100", cpus: 0.1, mem: 16 });

/** The API with credentials and ACLs, and its /metrics showing the security counters. */
function secured() {
  const security = new ServerSecurity({ credentials, acls });
  const render = () => {
    const w = new PrometheusWriter();
    security.metrics.write(w);
    return Promise.resolve(w.text());
  };
  return { security, metrics: { http: new HttpMetrics(), render } };
}

Deno.test("Marathon API with credentials answers 401 with Marathon's challenge and JSON body, except /ping", async () => {
  await withApi(async ({ request }) => {
    const none = await request("/v2/apps");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm="Mesosphere"/);
    assert.deepEqual(await none.json(), { message: "Authentication required" });

    const wrong = await request("/v2/apps", {
      headers: { Authorization: basicHeader("ops", "guess") },
    });
    assert.equal(wrong.status, 401);
    const body = await wrong.text();
    assert.deepEqual(JSON.parse(body), { message: "Invalid credentials" });
    assert.ok(!body.includes("guess"), "the attempted secret is not echoed");

    const ping = await request("/ping");
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), "pong");

    for (const path of ["/v2/info", "/v2/leader", "/v2/groups", "/v2/deployments", "/metrics"]) {
      assert.equal((await request(path)).status, 401, `${path} needs credentials`);
      const ok = await request(path, { headers: as("ops") });
      assert.equal(ok.status, 200, `${path} with credentials`);
      await ok.body?.cancel();
    }
    const bearer = await request("/v2/apps", {
      headers: { Authorization: `Bearer ${token.token}` },
    });
    assert.equal(bearer.status, 200);
    await bearer.body?.cancel();

    const metrics = await (await request("/metrics", { headers: as("ops") })).text();
    assert.match(metrics, /^tender_http_unauthenticated_total [1-9]/m);
  }, secured());
});

Deno.test("Marathon API takes another realm, and is open without a credentials file", async () => {
  await withApi(async ({ request }) => {
    const none = await request("/v2/apps");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm="tender"/);
  }, { ...secured(), realm: "tender" });
  await withApi(async ({ request }) => {
    const open = await request("/v2/apps", { method: "POST", json: app("/any/where") });
    assert.equal(open.status, 201);
  });
});

Deno.test("Marathon ACLs: a principal creates, changes and deletes only under its paths; 403 names principal, action and path; nothing changes", async () => {
  await withApi(async ({ request }) => {
    const post = (who: string, body: unknown) =>
      request("/v2/apps", { method: "POST", json: body, headers: as(who) });
    assert.equal((await post("ops", app("/db/pg"))).status, 201);
    assert.equal((await post("web", app("/web/a"))).status, 201);

    const denied = await post("web", app("/db/other"));
    assert.equal(denied.status, 403);
    assert.deepEqual(await denied.json(), {
      message: 'Principal "web" is not authorized to create_apps on "/db/other"',
    });
    const viewer = await post("viewer", app("/web/b"));
    assert.equal(viewer.status, 403);
    assert.match((await viewer.json()).message, /"viewer" is not authorized to create_apps/);

    // Refused before any other check: no word about the host /db/pg holds.
    const vhost = { ...app("/db/pg"), labels: { TENDER_VHOST: "db.example" } };
    assert.equal(
      (await request("/v2/apps/db/pg?force=true", {
        method: "PUT",
        json: vhost,
        headers: as("ops"),
      })).status,
      200,
    );
    const claim = await post("web", {
      ...app("/db/claim"),
      labels: { TENDER_VHOST: "db.example" },
    });
    assert.equal(claim.status, 403);
    assert.doesNotMatch((await claim.json()).message, /db\.example/);

    // A relative or dotted id is checked where it lands.
    const dotted = await post("web", app("/web/../db/sneaky"));
    assert.ok(dotted.status === 403 || dotted.status === 422, `dotted id: ${dotted.status}`);

    const changes: [string, RequestInit & { json?: unknown }, string][] = [
      ["/v2/apps/db/pg", { method: "PUT", json: { instances: 3 } }, "update_apps"],
      ["/v2/apps/db/pg", { method: "PATCH", json: { instances: 3 } }, "update_apps"],
      ["/v2/apps/db/pg/restart", { method: "POST" }, "update_apps"],
      ["/v2/apps/db/pg", { method: "DELETE" }, "delete_apps"],
      ["/v2/apps/db/pg/tasks?scale=true", { method: "DELETE" }, "update_apps"],
      ["/v2/groups/db", { method: "DELETE" }, "delete_apps"],
      ["/v2/queue/db/pg/delay", { method: "DELETE" }, "update_apps"],
      ["/v2/apps", { method: "PUT", json: [{ id: "/web/a", instances: 2 }, app("/db/pg")] }, ""],
      // A group update touching /web and /db needs both.
      [
        "/v2/groups",
        { method: "PUT", json: { id: "/", apps: [app("/web/a"), app("/db/pg2")] } },
        "",
      ],
      ["/v2/groups", { method: "POST", json: { id: "/db2", apps: [app("/db2/x")] } }, ""],
    ];
    for (const [path, init, action] of changes) {
      const res = await request(path, { ...init, headers: as("web") });
      assert.equal(res.status, 403, `${init.method} ${path}`);
      const { message } = await res.json();
      assert.match(message, new RegExp(`^Principal "web" is not authorized to ${action}`));
    }

    const listed = await (await request("/v2/apps", { headers: as("ops") })).json();
    assert.deepEqual(listed.apps.map((a: { id: string }) => a.id).sort(), ["/db/pg", "/web/a"]);
    const pg = (await (await request("/v2/apps/db/pg", { headers: as("ops") })).json()).app;
    assert.equal(pg.instances, 1, "nothing changed by web");
    assert.equal(
      (await (await request("/v2/deployments", { headers: as("ops") })).json()).length,
      2,
    );

    // Its own paths it may change.
    const scaled = await request("/v2/apps/web/a?force=true", {
      method: "PUT",
      json: { instances: 2 },
      headers: as("web"),
    });
    assert.equal(scaled.status, 200);

    const metrics = await (await request("/metrics", { headers: as("ops") })).text();
    assert.match(metrics, /^tender_http_forbidden_total\{action="create_apps"\} [2-9]/m);
    assert.match(metrics, /^tender_http_forbidden_total\{action="update_apps"\} [1-9]/m);
  }, secured());
});

Deno.test("Marathon ACLs: lists show only what the principal may view; a hidden app is 403", async () => {
  await withApi(async ({ request }) => {
    for (const id of ["/db/pg", "/web/a", "/web/api/b"]) {
      const res = await request("/v2/apps", { method: "POST", json: app(id), headers: as("ops") });
      assert.equal(res.status, 201);
    }
    const ids = (apps: { id: string }[]) => apps.map((a) => a.id).sort();
    const mine = await (await request("/v2/apps", { headers: as("web") })).json();
    assert.deepEqual(ids(mine.apps), ["/web/a", "/web/api/b"]);
    const all = await (await request("/v2/apps", { headers: as("viewer") })).json();
    assert.deepEqual(ids(all.apps), ["/db/pg", "/web/a", "/web/api/b"]);

    const hidden = await request("/v2/apps/db/pg", { headers: as("web") });
    assert.equal(hidden.status, 403);
    assert.deepEqual(await hidden.json(), {
      message: 'Principal "web" is not authorized to view_apps on "/db/pg"',
    });
    assert.equal((await request("/v2/apps/db/pg/tasks", { headers: as("web") })).status, 403);
    assert.equal((await request("/v2/apps/db/pg/versions", { headers: as("web") })).status, 403);

    const root = await (await request("/v2/groups", { headers: as("web") })).json();
    assert.deepEqual(root.groups.map((g: { id: string }) => g.id), ["/web"]);
    assert.equal((await request("/v2/groups/db", { headers: as("web") })).status, 403);
    const deployments = await (await request("/v2/deployments", { headers: as("web") })).json();
    assert.ok(
      deployments.every((d: { affectedApps: string[] }) =>
        d.affectedApps.every((a) => a.startsWith("/web/"))
      ),
    );
    assert.equal(deployments.length, 2);

    // A deployment of /db cannot be cancelled by web, and stays.
    const dbDeployment = (await (await request("/v2/deployments", { headers: as("ops") })).json())
      .find((d: { affectedApps: string[] }) => d.affectedApps.includes("/db/pg"));
    const cancel = await request(`/v2/deployments/${dbDeployment.id}?force=true`, {
      method: "DELETE",
      headers: as("web"),
    });
    assert.equal(cancel.status, 403);
    assert.match((await cancel.json()).message, /update_apps on "\/db\/pg"/);
    const still = await (await request("/v2/deployments", { headers: as("ops") })).json();
    assert.ok(still.some((d: { id: string }) => d.id === dbDeployment.id));

    // The event stream shows each principal the events of what it may view.
    const events = await request("/v2/events", {
      headers: { ...as("web"), Accept: "text/event-stream" },
    });
    assert.equal(events.status, 200);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (const id of ["/db/hidden", "/web/shown"]) {
      const res = await request("/v2/apps", { method: "POST", json: app(id), headers: as("ops") });
      assert.equal(res.status, 201);
    }
    let seen = "";
    const deadline = AbortSignal.timeout(10_000);
    while (!seen.includes('"/web/shown"') && !deadline.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    await reader.cancel();
    assert.match(seen, /event: api_post_event/);
    assert.ok(seen.includes('"/web/shown"'), "its own app's events");
    assert.ok(!seen.includes("/db/"), `no event of /db: ${seen}`);
    assert.ok(!seen.includes("group_change_success"), "events of the whole tree need view on /");
  }, secured());
});
