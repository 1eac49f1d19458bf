/**
 * The router over real sockets: a master stand-in streams the catalog over SSE, local HTTP
 * servers stand in for containers, and clients go through the router's service ports and
 * virtual-host port.
 */
import assert from "node:assert/strict";
import { type Router, startRouter } from "../router/mod.ts";
import {
  type Backend,
  freePort,
  getOnce,
  HttpConnection,
  startBackend,
  startCatalogServer,
  task,
  waitFor,
} from "./discovery_harness.ts";

interface Setup {
  backends: Backend[];
  catalog: ReturnType<typeof startCatalogServer>;
  router: Router;
  close(): Promise<void>;
}

async function setup(names: string[]): Promise<Setup> {
  const backends = names.map(startBackend);
  const catalog = startCatalogServer();
  const router = await startRouter({ master: catalog.url, httpPort: 0, pollMs: 200 });
  return {
    backends,
    catalog,
    router,
    async close() {
      await router.close();
      await catalog.close();
      await Promise.all(backends.map((b) => b.close().catch(() => {})));
    },
  };
}

function count(bodies: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of bodies) out[b] = (out[b] ?? 0) + 1;
  return out;
}

Deno.test("Router spreads 300 requests evenly over 3 backends on a service port and a vhost", async () => {
  const s = await setup(["a", "b", "c"]);
  try {
    const servicePort = freePort();
    s.catalog.store.update(s.backends.map((b) =>
      task("/prod/web", b, {
        TENDER_SERVICE_PORTS: String(servicePort),
        HAPROXY_0_VHOST: "web.example.test",
      })
    ));
    await waitFor("the service port", () => s.router.servicePorts().includes(servicePort));
    await waitFor("3 backends", () => s.router.state().tcp[0]?.backends.length === 3);

    const viaTcp: string[] = [];
    for (let i = 0; i < 300; i++) {
      const res = await getOnce(servicePort);
      assert.equal(res.status, 200);
      viaTcp.push(res.body);
    }
    for (const n of Object.values(count(viaTcp))) assert.ok(n >= 80 && n <= 120, `${n}`);
    assert.equal(Object.keys(count(viaTcp)).length, 3);

    const conn = await HttpConnection.open(s.router.httpPort);
    const viaVhost: string[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        const res = await conn.request("Web.Example.Test:80");
        assert.equal(res.status, 200);
        viaVhost.push(res.body);
      }
    } finally {
      conn.close();
    }
    assert.deepEqual(count(viaVhost), { a: 100, b: 100, c: 100 });

    const unknown = await getOnce(s.router.httpPort, "nope.example.test");
    assert.equal(unknown.status, 503);
  } finally {
    await s.close();
  }
});

Deno.test("Router splits a shared vhost 90/10 by TENDER_WEIGHT over 1,000 requests", async () => {
  const s = await setup(["stable", "canary"]);
  try {
    const [stable, canary] = s.backends;
    s.catalog.store.update([
      task("/shop/stable", stable!, { TENDER_VHOST: "shop.test", TENDER_WEIGHT: "9" }),
      task("/shop/canary", canary!, { TENDER_VHOST: "shop.test", TENDER_WEIGHT: "1" }),
    ]);
    await waitFor(
      "both apps on the vhost",
      () => s.router.state().vhosts[0]?.backends.length === 2,
    );
    const conns = await Promise.all([1, 2, 3, 4].map(() => HttpConnection.open(s.router.httpPort)));
    const bodies: string[] = [];
    try {
      await Promise.all(conns.map(async (c) => {
        for (let i = 0; i < 250; i++) bodies.push((await c.request("shop.test")).body);
      }));
    } finally {
      for (const c of conns) c.close();
    }
    const split = count(bodies);
    assert.equal(bodies.length, 1000);
    assert.ok(Math.abs((split.stable ?? 0) - 900) <= 30, JSON.stringify(split));
    assert.ok(Math.abs((split.canary ?? 0) - 100) <= 30, JSON.stringify(split));
    assert.deepEqual(s.router.state().vhosts[0]?.services, [
      "canary-shop.marathon",
      "stable-shop.marathon",
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("Router retries another endpoint when a backend stops accepting", async () => {
  const s = await setup(["a", "b", "c"]);
  try {
    const servicePort = freePort();
    s.catalog.store.update(
      s.backends.map((b) =>
        task("/web", b, { TENDER_SERVICE_PORTS: String(servicePort), TENDER_VHOST: "web.test" })
      ),
    );
    await waitFor("3 backends", () => s.router.state().tcp[0]?.backends.length === 3);
    await s.backends[1]!.close(); // still in the catalog, but refuses connections
    const results: number[] = [];
    for (let i = 0; i < 60; i++) results.push((await getOnce(servicePort)).status);
    for (let i = 0; i < 60; i++) {
      results.push((await getOnce(s.router.httpPort, "web.test")).status);
    }
    assert.deepEqual(results.filter((r) => r !== 200), []);
    const state = s.router.state();
    assert.ok(
      (state.tcp[0]?.backends.find((b) => b.port === s.backends[1]!.port)?.failures ?? 0) >= 1,
    );
    assert.equal(state.tcp[0]?.failed, 0);
    assert.equal(state.vhosts[0]?.failed, 0);
  } finally {
    await s.close();
  }
});

Deno.test("Router with least connections sends new connections to the idle backend", async () => {
  const s = await setup(["a", "b"]);
  try {
    const servicePort = freePort();
    s.catalog.store.update(
      s.backends.map((b) =>
        task("/web", b, {
          TENDER_SERVICE_PORTS: String(servicePort),
          HAPROXY_0_BALANCE: "leastconn",
        })
      ),
    );
    await waitFor("2 backends", () => s.router.state().tcp[0]?.backends.length === 2);
    // One client holds a connection open (it has sent nothing yet).
    const held = await Deno.connect({ hostname: "127.0.0.1", port: servicePort });
    try {
      await waitFor(
        "the held connection",
        () => s.router.state().tcp[0]?.backends.some((b) => b.active === 1) ?? false,
      );
      const busy = s.router.state().tcp[0]?.backends.find((b) => b.active === 1);
      const idle = s.backends.find((b) => b.port !== busy?.port);
      const bodies: string[] = [];
      const idleActive = () =>
        s.router.state().tcp[0]?.backends.find((b) => b.port === idle?.port)?.active;
      for (let i = 0; i < 6; i++) {
        // The previous connection's teardown finishes first, so the idle backend is idle.
        await waitFor("the idle backend to be idle", () => idleActive() === 0);
        bodies.push((await getOnce(servicePort)).body);
      }
      assert.deepEqual(count(bodies), { [idle!.name]: 6 });
    } finally {
      held.close();
    }
    assert.equal(s.router.state().tcp[0]?.balance, "leastconn");
  } finally {
    await s.close();
  }
});

Deno.test("Router follows the catalog within 1 s and drains a leaving endpoint", async () => {
  const s = await setup(["old", "new"]);
  try {
    const [oldB, newB] = s.backends;
    s.catalog.store.update([task("/web", oldB!, { TENDER_VHOST: "web.test" })]);
    await waitFor("the old backend", () => s.router.state().vhosts[0]?.backends.length === 1);
    // A slow request is in flight on "old" when it leaves the catalog.
    const inFlight = getOnce(s.router.httpPort, "web.test", "/slow/600");
    await waitFor("the slow request", () => s.router.state().vhosts[0]?.backends[0]?.active === 1);
    const changedAt = Date.now();
    s.catalog.store.update([task("/web", newB!, { TENDER_VHOST: "web.test" })]);
    await waitFor("the new backend", () => {
      const backends = s.router.state().vhosts[0]?.backends ?? [];
      return backends.some((b) => b.port === newB!.port) &&
        backends.some((b) => b.port === oldB!.port && b.draining);
    }, 1000);
    assert.ok(Date.now() - changedAt < 1000);
    for (let i = 0; i < 10; i++) {
      assert.equal((await getOnce(s.router.httpPort, "web.test")).body, "new");
    }
    const slow = await inFlight;
    assert.deepEqual([slow.status, slow.body], [200, "old"]);
    await waitFor(
      "the drained backend to go",
      () => s.router.state().vhosts[0]?.backends.length === 1,
    );
  } finally {
    await s.close();
  }
});

Deno.test("Router's GET /_router/state lists services, endpoints and counters", async () => {
  const s = await setup(["a"]);
  try {
    const servicePort = freePort();
    s.catalog.store.update([task("/api", s.backends[0]!, {
      TENDER_SERVICE_PORTS: String(servicePort),
      TENDER_VHOST: "api.test",
    })]);
    await waitFor("the route", () => s.router.servicePorts().includes(servicePort));
    await getOnce(servicePort);
    await getOnce(s.router.httpPort, "api.test", "/x");
    const res = await fetch(`http://127.0.0.1:${s.router.httpPort}/_router/state`);
    const state = await res.json();
    assert.equal(state.catalog.follow, "streaming");
    assert.deepEqual(state.services, [{ id: "api.marathon", appId: "/api", endpoints: 1 }]);
    assert.equal(state.tcp[0].servicePort, servicePort);
    assert.equal(state.tcp[0].listening, true);
    assert.equal(state.tcp[0].requests, 1);
    assert.equal(state.tcp[0].backends[0].total, 1);
    assert.equal(state.vhosts[0].host, "api.test");
    assert.equal(state.vhosts[0].backends[0].total, 1);
    s.catalog.store.update([]);
    await waitFor("the listener to close", () => s.router.servicePorts().length === 0, 1000);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: servicePort }));
  } finally {
    await s.close();
  }
});

Deno.test("Router passes Host and bodies on and streams large responses through a vhost", async () => {
  const s = await setup(["a"]);
  try {
    s.catalog.store.update([task("/web", s.backends[0]!, { TENDER_VHOST: "web.test" })]);
    await waitFor("the vhost", () => s.router.state().vhosts.length === 1);
    const conn = await HttpConnection.open(s.router.httpPort);
    try {
      assert.equal((await conn.request("web.test:8081", "/host")).body, "web.test:8081");
      const posted = await conn.request("web.test", "/", { method: "POST", body: "hello" });
      assert.deepEqual([posted.status, posted.body], [200, "a:hello"]);
      const big = await conn.request("web.test", "/big/1000000");
      assert.equal(big.status, 200);
      assert.equal(big.body.length, 1_000_000);
    } finally {
      conn.close();
    }
    await waitFor(
      "the streamed response to be released",
      () => s.router.state().vhosts[0]?.backends[0]?.active === 0,
    );
    assert.equal(s.router.state().vhosts[0]?.backends[0]?.total, 3);
  } finally {
    await s.close();
  }
});

Deno.test("Router answers 504 when a backend sends no response headers in time", async () => {
  const backend = startBackend("slow");
  const catalog = startCatalogServer();
  const router = await startRouter({ master: catalog.url, httpPort: 0, headersTimeoutMs: 200 });
  try {
    catalog.store.update([task("/web", backend, { TENDER_VHOST: "web.test" })]);
    await waitFor("the vhost", () => router.state().vhosts.length === 1);
    const res = await getOnce(router.httpPort, "web.test", "/slow/1000");
    assert.equal(res.status, 504);
    await waitFor(
      "the backend released",
      () => router.state().vhosts[0]?.backends[0]?.active === 0,
    );
    assert.equal(router.state().vhosts[0]?.failed, 1);
  } finally {
    await router.close();
    await catalog.close();
    await backend.close();
  }
});
