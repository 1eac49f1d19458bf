import assert from "node:assert/strict";
import { basicHeader, parseCredentials, ServerSecurity } from "../../security/mod.ts";
import { credentialsRequired, masterAuthentication } from "./auth.ts";
import { standbyApp } from "./standby_app.ts";

Deno.test("credentialsRequired() maps each route to Mesos' switch", () => {
  const all = { frameworks: true, agents: true, httpReadwrite: true, httpReadonly: true };
  for (const path of ["/health", "/master/health", "/master/redirect"]) {
    assert.equal(credentialsRequired(all, path), false, path);
  }
  assert.equal(credentialsRequired({ frameworks: true }, "/api/v1/scheduler"), true);
  assert.equal(credentialsRequired({ frameworks: true }, "/api/v1/agent"), false);
  assert.equal(credentialsRequired({ agents: true }, "/api/v1/agent"), true);
  assert.equal(credentialsRequired({ httpReadonly: true }, "/master/state"), true);
  assert.equal(credentialsRequired({ httpReadonly: true }, "/dashboard/logs/a/t"), true);
  assert.equal(credentialsRequired({ httpReadwrite: true }, "/master/state"), false);
  // The leader's operator handler decides by call type; a standby cannot, so it asks for both.
  assert.equal(credentialsRequired({ httpReadwrite: true }, "/api/v1"), false);
  assert.equal(credentialsRequired({ httpReadwrite: true }, "/api/v1", { standby: true }), true);
});

Deno.test("A standby master authenticates its state, metrics and redirects as the leader does", async () => {
  const security = new ServerSecurity({
    credentials: parseCredentials(
      JSON.stringify({ credentials: [{ principal: "ops", secret: "s" }] }),
    ),
  });
  const app = standbyApp({
    self: "https://127.0.0.1:5050",
    leader: () => "https://127.0.0.1:5051",
    trouble: () => undefined,
    startTime: 0,
  }, {
    middleware: [
      masterAuthentication(security, { httpReadonly: true, frameworks: true }, { standby: true }),
    ],
    security: security.metrics,
  });
  const ops = { Authorization: basicHeader("ops", "s") };
  const state = await app.request("/master/state");
  assert.equal(state.status, 401);
  assert.match(state.headers.get("WWW-Authenticate") ?? "", /realm="mesos"/);
  assert.equal((await app.request("/master/state", { headers: ops })).status, 200);
  assert.equal((await app.request("/health")).status, 200);
  assert.equal((await app.request("/api/v1/scheduler", { method: "POST" })).status, 401);
  const redirect = await app.request("/api/v1/scheduler", { method: "POST", headers: ops });
  assert.equal(redirect.status, 307);
  assert.equal(redirect.headers.get("Location"), "https://127.0.0.1:5051/api/v1/scheduler");
  const metrics = await (await app.request("/metrics", { headers: ops })).text();
  assert.match(metrics, /tender_http_unauthenticated_total 2/);
});
