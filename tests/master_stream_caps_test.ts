/**
 * A client may hold at most `LIMITS.streamsPerClient` long-lived streams on the master (the
 * catalog's change stream, the dashboard's events and log proxy, counted together), as
 * Marathon's /v2/events: the next one is a 429 naming the limit, and a slot given back is free
 * again. A real master over real sockets.
 */
import assert from "node:assert/strict";
import { startMaster } from "../master/mod.ts";
import { LIMITS } from "../base/mod.ts";

/** Opens a stream and waits for its first bytes, so the master holds it. */
async function open(url: string): Promise<{ res: Response; close: () => Promise<void> }> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers: { accept: "text/event-stream" } });
  if (res.ok) {
    const reader = res.body!.getReader();
    await reader.read();
    return {
      res,
      close: async () => {
        await reader.cancel().catch(() => {});
        abort.abort();
      },
    };
  }
  await res.body?.cancel();
  return { res, close: async () => {} };
}

Deno.test("the master refuses a client's stream past LIMITS.streamsPerClient with a 429", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-stream-caps-" });
  const master = await startMaster({ port: 0, workDir });
  const held: { close: () => Promise<void> }[] = [];
  try {
    const catalog = `${master.url}/api/v1/services/events`;
    const dashboard = `${master.url}/dashboard/events`;
    // Half on each: the two kinds share the client's count.
    for (let i = 0; i < LIMITS.streamsPerClient; i++) {
      const s = await open(i % 2 === 0 ? catalog : dashboard);
      assert.equal(s.res.status, 200, `stream ${i + 1}`);
      held.push(s);
    }
    for (const url of [catalog, dashboard]) {
      const refused = await fetch(url);
      assert.equal(refused.status, 429, url);
      assert.equal(
        await refused.text(),
        `Client 127.0.0.1 already holds ${LIMITS.streamsPerClient} event streams, the most allowed`,
      );
    }
    // The log proxy counts too (refused before it looks for the agent).
    const logs = await fetch(`${master.url}/dashboard/logs/no-agent/no-task`);
    assert.equal(logs.status, 429);
    await logs.body?.cancel();
    // Everything else is served as before.
    const health = await fetch(`${master.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();

    // A stream the client closes gives its slot back.
    await held.pop()!.close();
    let again: Awaited<ReturnType<typeof open>> | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      again = await open(catalog);
      if (again.res.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(again?.res.status, 200, "a slot given back is free again");
    held.push(again!);
  } finally {
    for (const s of held) await s.close();
    await master.stop();
    await Deno.remove(workDir, { recursive: true });
  }
});
