/**
 * The router's security over real sockets: it follows a catalog served over HTTPS that needs
 * credentials (a master's `--authenticate-http-readonly` stand-in) with its client credentials
 * and CA; its admin endpoints need credentials when it has a credentials file; proxied app
 * traffic never does.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { CatalogStore, discoveryRoutes } from "../master/discovery/mod.ts";
import { startRouter } from "../router/mod.ts";
import {
  authenticate,
  basicHeader,
  ClientSecurity,
  loadTls,
  parseCredentials,
  ServerSecurity,
} from "../security/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { getOnce, startBackend, task, waitFor } from "./discovery_harness.ts";

const credentials = () =>
  parseCredentials(JSON.stringify({
    credentials: [
      { principal: "router", secret: "router-secret" },
      { principal: "ops", secret: "ops-secret" },
    ],
  }));

Deno.test("router follows an https catalog that needs credentials, guards /_router/state and /metrics, and proxies app traffic untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-router-security-" });
  const certs = await makeCerts(dir);
  const tls = (await loadTls(certs.cert, certs.key))!;
  const caCerts = [await Deno.readTextFile(certs.caCert)];
  const store = new CatalogStore();
  const stop = new AbortController();
  const catalogSecurity = new ServerSecurity({ credentials: credentials() });
  const app = new Hono();
  app.use(authenticate(catalogSecurity, { realm: "mesos", required: () => true }));
  app.route("/", discoveryRoutes(store, { heartbeatMs: 500, signal: stop.signal }));
  const catalog = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, ...tls },
    app.fetch,
  );
  const master = `https://localhost:${catalog.addr.port}`;
  const backend = startBackend("web-1");
  store.update([task("/web", backend, { TENDER_VHOST: "web.test" })]);
  const client = new ClientSecurity({ principal: "router", secret: "router-secret", caCerts });
  const router = await startRouter({
    master,
    client,
    httpPort: 0,
    pollMs: 200,
    security: new ServerSecurity({ credentials: credentials() }),
  });
  const anonymous = await startRouter({
    master,
    client: new ClientSecurity({ caCerts }),
    httpPort: 0,
    pollMs: 200,
  });
  try {
    await waitFor(
      "the router to route web.test from the https catalog",
      () => router.state().vhosts.length === 1,
      15_000,
    );
    const proxied = await getOnce(router.httpPort, "web.test", "/");
    assert.equal(proxied.status, 200, "app traffic needs no credentials");

    const state = await fetch(`http://127.0.0.1:${router.httpPort}/_router/state`);
    assert.equal(state.status, 401);
    assert.match(state.headers.get("www-authenticate") ?? "", /^Basic realm="router"/);
    await state.body?.cancel();
    const ops = { Authorization: basicHeader("ops", "ops-secret") };
    const allowed = await fetch(`http://127.0.0.1:${router.httpPort}/_router/state`, {
      headers: ops,
    });
    assert.equal(allowed.status, 200);
    assert.equal((await allowed.json()).vhosts[0].host, "web.test");
    const metrics = await fetch(`http://127.0.0.1:${router.httpPort}/metrics`, { headers: ops });
    assert.match(await metrics.text(), /^tender_http_unauthenticated_total 1$/m);
    const noMetrics = await fetch(`http://127.0.0.1:${router.httpPort}/metrics`);
    assert.equal(noMetrics.status, 401);
    await noMetrics.body?.cancel();

    // A router without credentials gets nothing from the catalog, and routes nothing.
    assert.equal(anonymous.state().vhosts.length, 0);
    assert.notEqual(anonymous.state().catalog.follow, "streaming");
    const refused = await getOnce(anonymous.httpPort, "web.test", "/");
    assert.equal(refused.status, 503);
    assert.ok(
      catalogSecurity.metrics.unauthenticated > 0,
      "the catalog saw the anonymous router's refused calls",
    );
  } finally {
    await anonymous.close();
    await router.close();
    client.close();
    stop.abort();
    await backend.close();
    await catalog.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
