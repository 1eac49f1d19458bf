/** `deno task router` as its own process, and following a master that has no change stream. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { CatalogStore } from "../master/discovery/mod.ts";
import { startRouter } from "../router/mod.ts";
import {
  freePort,
  getOnce,
  startBackend,
  startCatalogServer,
  task,
  waitFor,
} from "./discovery_harness.ts";

Deno.test("router/main.ts follows a master and serves its state until SIGTERM", async () => {
  const catalog = startCatalogServer();
  const backend = startBackend("only");
  catalog.store.update([task("/web", backend, { TENDER_VHOST: "web.test" })]);
  const httpPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../router/main.ts", import.meta.url).pathname,
      "--master",
      catalog.url,
      "--http-port",
      String(httpPort),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    await waitFor("the router's state page", async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/_router/state`);
        const state = await res.json();
        return state.catalog.follow === "streaming" && state.vhosts.length === 1;
      } catch {
        return false;
      }
    }, 15_000);
    const res = await getOnce(httpPort, "web.test");
    assert.deepEqual([res.status, res.body], [200, "only"]);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    await catalog.close();
    await backend.close();
    assert.equal(status.code, 0);
  }
});

Deno.test("startRouter() polls a master without the change stream and follows within 1 s", async () => {
  const store = new CatalogStore();
  const app = new Hono();
  app.get(
    "/api/v1/services",
    (c) => c.json({ version: 0, services: store.current().catalog.services }),
  );
  const master = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const backend = startBackend("polled");
  const router = await startRouter({
    master: `http://127.0.0.1:${master.addr.port}`,
    httpPort: 0,
    pollMs: 300,
  });
  try {
    assert.equal(router.state().catalog.follow, "polling");
    store.update([task("/web", backend, { TENDER_VHOST: "web.test" })]);
    const at = Date.now();
    await waitFor("the polled route", () => router.state().vhosts.length === 1, 1000);
    assert.ok(Date.now() - at <= 1000);
    assert.equal((await getOnce(router.httpPort, "web.test")).body, "polled");
  } finally {
    await router.close();
    await master.shutdown();
    await backend.close();
  }
});

Deno.test("startRouter() keeps routing while the master restarts, then follows it again", async () => {
  const first = startCatalogServer();
  const port = Number(new URL(first.url).port);
  const a = startBackend("a");
  const b = startBackend("b");
  first.store.update([task("/web", a, { TENDER_VHOST: "web.test" })]);
  const router = await startRouter({ master: first.url, httpPort: 0, pollMs: 100 });
  let second: ReturnType<typeof startCatalogServer> | undefined;
  try {
    await waitFor("the first catalog", () => router.state().vhosts.length === 1);
    await first.close();
    await waitFor("the router to notice", () => router.state().catalog.follow !== "streaming");
    assert.equal((await getOnce(router.httpPort, "web.test")).body, "a");
    second = startCatalogServer({ port });
    second.store.update([task("/web", b, { TENDER_VHOST: "web.test" })]);
    await waitFor(
      "the restarted master's catalog",
      () =>
        router.state().catalog.follow === "streaming" &&
        router.state().vhosts[0]?.backends.every((x) => x.port === b.port) === true,
    );
    assert.equal((await getOnce(router.httpPort, "web.test")).body, "b");
  } finally {
    await router.close();
    await second?.close();
    await a.close();
    await b.close();
  }
});

Deno.test("startRouter() fails cleanly when its HTTP port is taken", async () => {
  const catalog = startCatalogServer();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const servicePort = freePort();
  catalog.store.update([task("/web", { name: "x", port: 1 }, {
    TENDER_SERVICE_PORTS: String(servicePort),
  })]);
  try {
    await assert.rejects(
      startRouter({ master: catalog.url, httpPort: taken.addr.port }),
      Deno.errors.AddrInUse,
    );
    // The service port it had opened is closed again.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: servicePort });
    probe.close();
  } finally {
    taken.close();
    await catalog.close();
  }
});
