import assert from "node:assert/strict";
import { CatalogStore } from "../master/discovery/mod.ts";
import { systemClock } from "../protocol/mod.ts";
import { followCatalog } from "./catalog_follower.ts";

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
