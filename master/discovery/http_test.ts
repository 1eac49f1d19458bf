import assert from "node:assert/strict";
import { Hono } from "hono";
import { TenderError } from "../../base/mod.ts";
import type { CatalogTask } from "./catalog.ts";
import { CatalogStore } from "./catalog_store.ts";
import { discoveryRoutes } from "./http.ts";
import { type SseEvent, SseParser } from "../../tests/support/sse.ts";

function task(id: string, appId: string): CatalogTask {
  return {
    frameworkName: "marathon",
    taskId: id,
    taskName: "x",
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: "h",
    agentIp: "10.0.0.1",
    hostPorts: [31000],
    labels: { MARATHON_APP_ID: appId },
  };
}

function mount(store: CatalogStore): Hono {
  const app = new Hono();
  app.route("/", discoveryRoutes(store, { heartbeatMs: 50 }));
  app.onError((e, c) =>
    e instanceof TenderError
      ? c.json({ message: e.message }, e.code === "not_found" ? 404 : 500)
      : c.json({ message: String(e) }, 500)
  );
  return app;
}

/** How long a test waits for a stream before failing (generous: the machine may be loaded). */
const STREAM_DEADLINE_MS = 10_000;

/**
 * Runs `read` against the stream and fails, naming `what`, if it takes past the deadline. The
 * stream is cancelled then, so a pending read returns and nothing is left open.
 */
async function withDeadline<T>(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  what: string,
  read: () => Promise<T>,
): Promise<T> {
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    reader.cancel().catch(() => {});
  }, STREAM_DEADLINE_MS);
  try {
    const result = await read();
    if (late) throw new Error(`${what}: nothing within ${STREAM_DEADLINE_MS} ms`);
    return result;
  } catch (e) {
    if (late) throw new Error(`${what}: nothing within ${STREAM_DEADLINE_MS} ms`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads SSE events (skipping comments) until `n` have arrived; fails past the deadline. */
function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, n: number) {
  return withDeadline(reader, `waiting for ${n} event(s)`, async () => {
    const events: SseEvent[] = [];
    const parser = new SseParser();
    while (events.length < n) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      events.push(...parser.push(value));
    }
    return events;
  });
}

/** Reads until the stream ends; fails past the deadline. */
function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>) {
  return withDeadline(reader, "waiting for the stream to end", async () => {
    for (;;) if ((await reader.read()).done) return;
  });
}

Deno.test("discoveryRoutes() lists services and finds one by id, name or app id", async () => {
  const store = new CatalogStore();
  store.update([task("t1", "/prod/web"), task("t2", "/db")]);
  const app = mount(store);
  const list = await (await app.request("/api/v1/services")).json();
  assert.equal(list.version, 1);
  assert.deepEqual(list.services.map((s: { id: string }) => s.id), [
    "db.marathon",
    "web-prod.marathon",
  ]);
  for (const key of ["web-prod.marathon", "web-prod", "%2Fprod%2Fweb"]) {
    const res = await app.request(`/api/v1/services/${key}`);
    assert.equal(res.status, 200, key);
    assert.equal((await res.json()).endpoints[0].port, 31000);
  }
  const missing = await app.request("/api/v1/services/nope");
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).message, /"nope"/);
});

Deno.test("discoveryRoutes() streams a snapshot, then each change batch, over SSE", async () => {
  const store = new CatalogStore();
  store.update([task("t1", "/web")]);
  const app = mount(store);
  const res = await app.request("/api/v1/services/events");
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.getReader();
  const [snapshot] = await readEvents(reader, 1);
  assert.equal(snapshot?.event, "snapshot");
  assert.deepEqual(snapshot?.data, { version: 1, services: store.current().catalog.services });
  store.update([task("t1", "/web"), task("t2", "/api")]);
  store.update([task("t2", "/api")]);
  const [added, removed] = await readEvents(reader, 2);
  assert.deepEqual(added, {
    event: "changes",
    data: {
      version: 2,
      changes: [{ type: "added", service: store.current().catalog.services[0] }],
    },
  });
  assert.deepEqual(removed?.data, {
    version: 3,
    changes: [{ type: "removed", id: "web.marathon" }],
  });
  await reader.cancel();
});

Deno.test("discoveryRoutes() ends open change streams when its signal aborts", async () => {
  const store = new CatalogStore();
  const stop = new AbortController();
  const app = new Hono();
  app.route("/", discoveryRoutes(store, { heartbeatMs: 60_000, signal: stop.signal }));
  const res = await app.request("/api/v1/services/events");
  const reader = res.body!.getReader();
  await readEvents(reader, 1);
  stop.abort();
  await readToEnd(reader);
});
