import assert from "node:assert/strict";
import { CatalogStore, type Service } from "../master/discovery/mod.ts";
import { systemClock } from "../base/mod.ts";
import { waitFor } from "../tests/support/fake_master.ts";
import { FakeHaMaster, type LeaderHandler } from "../tests/support/ha_master.ts";
import { followCatalog, type FollowStatus } from "./catalog_follower.ts";

/**
 * A master stand-in whose catalog stream sends a change batch every millisecond, for 5 s (so
 * closing it cannot wait for ever on a follower that never stopped reading).
 */
function busyMaster(): { url: string; close: () => Promise<void> } {
  const encoder = new TextEncoder();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    let timer: ReturnType<typeof setInterval> | undefined;
    let version = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (event: string, data: unknown) =>
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        send("snapshot", { version, services: [] });
        const until = Date.now() + 5_000;
        timer = setInterval(() => {
          try {
            if (Date.now() < until) send("changes", { version: ++version, changes: [] });
            else controller.close();
          } catch {
            clearInterval(timer);
          }
        }, 1);
      },
      cancel: () => clearInterval(timer),
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

Deno.test("followCatalog() stops when its signal aborts, even while the stream is busy", async () => {
  const master = busyMaster();
  try {
    // An aborted fetch does not always end a read pending on its body: before the body was piped
    // with the signal, one of these stops in ten or twenty never returned.
    for (let i = 0; i < 20; i++) {
      const stop = new AbortController();
      let synced!: () => void;
      const streaming = new Promise<void>((resolve) => (synced = resolve));
      const following = followCatalog({
        master: master.url,
        store: new CatalogStore(),
        clock: systemClock,
        signal: stop.signal,
        onSynced: () => synced(),
      });
      await streaming;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
      stop.abort();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<"stuck">((r) => (timer = setTimeout(() => r("stuck"), 3_000)));
      const ended = await Promise.race([following.then(() => "stopped" as const), stuck]);
      clearTimeout(timer);
      assert.equal(ended, "stopped", `stop ${i + 1} did not end the follower`);
    }
  } finally {
    await master.close();
  }
});

function service(name: string): Service {
  return { id: `${name}.marathon`, name, framework: "marathon", endpoints: [] };
}

/** A leading master serving `services` as its catalog: the SSE stream stays open while it leads. */
function catalogOf(services: Service[]): LeaderHandler {
  const encoder = new TextEncoder();
  const snapshot = { version: 1, services };
  return (request, signal) => {
    if (new URL(request.url).pathname === "/api/v1/services") return Response.json(snapshot);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(
          encoder.encode(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`),
        );
        signal.addEventListener("abort", () => {
          try {
            controller.close();
          } catch { /* the follower cancelled it first */ }
        }, { once: true });
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  };
}

Deno.test("followCatalog() follows the catalog of the leader, and of the new leader after a failover", async () => {
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  a.lead(catalogOf([service("web-old")]));
  b.standBy(a);
  const store = new CatalogStore();
  const stop = new AbortController();
  const statuses: FollowStatus[] = [];
  const names = () => store.current().catalog.services.map((s) => s.name).join(",");
  const following = followCatalog({
    master: `${b.url},${a.url}`,
    store,
    clock: systemClock,
    signal: stop.signal,
    pollMs: 20,
    onStatus: (s) => void statuses.push(s),
  });
  try {
    await waitFor(() => names() === "web-old", { what: "the first leader's catalog" });
    await a.kill();
    b.lead(catalogOf([service("web-new")]));
    await waitFor(() => names() === "web-new", { what: "the new leader's catalog" });
    await waitFor(() => statuses.at(-1) === "streaming", { what: "streaming again" });
  } finally {
    stop.abort();
    await following;
    await a.kill();
    await b.kill();
  }
});

Deno.test("followCatalog() leaves a paused leader whose stream stays open once another leads", async () => {
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  a.lead(catalogOf([service("web-old")]));
  b.standBy(a);
  const store = new CatalogStore();
  const stop = new AbortController();
  const names = () => store.current().catalog.services.map((s) => s.name).join(",");
  const following = followCatalog({
    master: `${a.url},${b.url}`,
    store,
    clock: systemClock,
    signal: stop.signal,
    pollMs: 20,
    leaderCheckMs: 50,
  });
  try {
    await waitFor(() => names() === "web-old", { what: "the first leader's catalog" });
    a.pause(); // SIGSTOP: the stream stays open, nothing answers
    b.lead(catalogOf([service("web-new")]));
    await waitFor(() => names() === "web-new", {
      what: "the new leader's catalog",
      timeoutMs: 5_000,
    });
  } finally {
    stop.abort();
    await following;
    await a.kill();
    await b.kill();
  }
});
