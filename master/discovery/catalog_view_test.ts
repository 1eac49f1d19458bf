import assert from "node:assert/strict";
import { Hono } from "hono";
import { TenderError } from "../../base/mod.ts";
import { type CatalogTask, visibleCatalog } from "./catalog.ts";
import { CatalogStore } from "./catalog_store.ts";
import { discoveryRoutes } from "./http.ts";
import { type SseEvent, SseParser } from "../../tests/support/sse.ts";

function task(id: string, appId: string, user: string, state = "TASK_RUNNING"): CatalogTask {
  return {
    frameworkName: "marathon",
    taskId: id,
    taskName: "x",
    state: state as CatalogTask["state"],
    hasHealthCheck: false,
    agentHostname: "h",
    agentIp: "10.0.0.1",
    hostPorts: [31000],
    labels: { MARATHON_APP_ID: appId },
    user,
    frameworkUser: "marathon",
  };
}

const byUser = (users: string[]) => (t: CatalogTask) => users.includes(t.user ?? "");

/** The routes with a viewer that reads the caller's users from a test header. */
function mount(store: CatalogStore): Hono {
  const app = new Hono();
  app.route(
    "/",
    discoveryRoutes(store, {
      heartbeatMs: 50,
      viewer: (c) => {
        const users = c.req.header("X-Users");
        return users === undefined ? undefined : byUser(users.split(",").filter(Boolean));
      },
    }),
  );
  app.onError((e, c) =>
    e instanceof TenderError
      ? c.json({ message: e.message }, e.code === "not_found" ? 404 : 500)
      : c.json({ message: String(e) }, 500)
  );
  return app;
}

Deno.test("visibleCatalog() keeps services with a visible task, with only those tasks' endpoints", () => {
  const store = new CatalogStore();
  store.update([
    task("w1", "/web", "web"),
    task("w2", "/web", "ops"), // one app, two users (a deployment changing the user)
    task("d1", "/db", "db"),
    task("s1", "/starting", "web", "TASK_STAGING"), // no endpoint yet, still a service
  ]);
  const all = store.current().catalog;
  const seen = visibleCatalog(all, (id) => store.tasksOf(id), byUser(["web"]));
  assert.deepEqual(seen.services.map((s) => s.id), ["starting.marathon", "web.marathon"]);
  assert.deepEqual(seen.services[1]!.endpoints.map((e) => e.taskId), ["w1"]);
  assert.equal(all.services.find((s) => s.id === "web.marathon")!.endpoints.length, 2, "intact");
  // A mirror knows no tasks: nothing is shown to a filtered caller.
  const mirror = new CatalogStore();
  mirror.set(all);
  assert.deepEqual(visibleCatalog(all, (id) => mirror.tasksOf(id), () => true).services, []);
});

Deno.test("discoveryRoutes({ viewer }) lists and finds only what the caller may see; hidden is 404", async () => {
  const store = new CatalogStore();
  store.update([task("w1", "/web", "web"), task("d1", "/db", "db")]);
  const app = mount(store);
  const ids = async (users?: string) =>
    (await (await app.request("/api/v1/services", {
      headers: users === undefined ? {} : { "X-Users": users },
    })).json()).services.map((s: { id: string }) => s.id);
  assert.deepEqual(await ids(), ["db.marathon", "web.marathon"]);
  assert.deepEqual(await ids("web"), ["web.marathon"]);
  assert.deepEqual(await ids(""), []);
  const hidden = await app.request("/api/v1/services/db", { headers: { "X-Users": "web" } });
  assert.equal(hidden.status, 404);
  assert.match((await hidden.json()).message, /"db" is not in the catalog/);
  const shown = await app.request("/api/v1/services/db", { headers: { "X-Users": "db" } });
  assert.equal(shown.status, 200);
});

Deno.test("discoveryRoutes({ viewer }) streams a caller only the changes of what it may see", async () => {
  const store = new CatalogStore();
  store.update([task("w1", "/web", "web"), task("d1", "/db", "db")]);
  const app = mount(store);
  const res = await app.request("/api/v1/services/events", { headers: { "X-Users": "web" } });
  const reader = res.body!.getReader();
  try {
    const [snapshot] = await readEvents(reader, 1);
    assert.deepEqual(
      (snapshot?.data as { services: { id: string }[] }).services.map((s) => s.id),
      ["web.marathon"],
    );
    // db's changes are not sent; a second web task is; db's task turning web's shows db.
    store.update([task("w1", "/web", "web"), task("d1", "/db", "db"), task("d2", "/db", "db")]);
    store.update([
      task("w1", "/web", "web"),
      task("w2", "/web", "web"),
      task("d1", "/db", "db"),
      task("d2", "/db", "db"),
    ]);
    store.update([task("w1", "/web", "web"), task("w2", "/web", "web"), task("d1", "/db", "web")]);
    const [first, second] = await readEvents(reader, 2);
    assert.equal(first?.event, "changes");
    assert.deepEqual(first?.data, {
      version: 3,
      changes: [{ type: "updated", service: store.current().catalog.services[1] }],
    });
    const changes = (second?.data as { changes: { type: string; service: { id: string } }[] })
      .changes;
    assert.deepEqual(changes.map((c) => [c.type, c.service.id]), [["added", "db.marathon"]]);
    assert.deepEqual(changes[0]!.service, store.current().catalog.services[0]);
  } finally {
    await reader.cancel();
  }
});

/** Reads SSE events (skipping comments) until `n` have arrived; fails after 10 s. */
async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, n: number) {
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 10_000);
  try {
    const events: SseEvent[] = [];
    const parser = new SseParser();
    while (events.length < n) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended after ${events.length} of ${n} events`);
      events.push(...parser.push(value));
    }
    return events;
  } finally {
    clearTimeout(timer);
  }
}
