/** `deno task router --group` (marathon-lb's): a router limited to some apps, as its own process. */
import assert from "node:assert/strict";
import {
  freePort,
  getOnce,
  startBackend,
  startCatalogServer,
  task,
  waitFor,
} from "./discovery_harness.ts";

Deno.test("router/main.ts --group routes only apps whose HAPROXY_GROUP is one of its groups", async () => {
  const catalog = startCatalogServer();
  const outside = startBackend("outside");
  const inside = startBackend("inside");
  const loose = startBackend("loose");
  catalog.store.update([
    task("/shop", outside, { HAPROXY_GROUP: "external", TENDER_VHOST: "shop.test" }),
    task("/billing", inside, { HAPROXY_GROUP: "internal", TENDER_VHOST: "billing.test" }),
    task("/misc", loose, { TENDER_VHOST: "misc.test" }),
  ]);
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
      "--group",
      "external",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    await waitFor("the router to follow the catalog", async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/_router/state`);
        const state = await res.json();
        return state.catalog.follow === "streaming" && state.services.length === 3;
      } catch {
        return false;
      }
    }, 15_000);
    const shop = await getOnce(httpPort, "shop.test");
    assert.deepEqual([shop.status, shop.body], [200, "outside"]);
    for (const host of ["billing.test", "misc.test"]) {
      const res = await getOnce(httpPort, host);
      assert.equal(res.status, 503, `${host} is not this router's to route`);
    }
    const state = await (await fetch(`http://127.0.0.1:${httpPort}/_router/state`)).json();
    assert.deepEqual(state.vhosts.map((v: { host: string }) => v.host), ["shop.test"]);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    await catalog.close();
    for (const b of [outside, inside, loose]) await b.close();
  }
});

Deno.test("router/main.ts refuses an empty --group, naming the flag", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../router/main.ts", import.meta.url).pathname,
      "--master",
      "http://127.0.0.1:1",
      "--group",
      "",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--group must name one group/);
});
