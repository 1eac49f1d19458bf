import assert from "node:assert/strict";
import { freePort } from "../support/cluster.ts";
import { MarathonClient } from "./marathon_client.ts";

/** A fake Marathon answering the given statuses in turn (the last one from then on). */
function fake(
  statuses: number[],
): { url: string; close: () => Promise<void>; calls: () => number } {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const status = statuses[Math.min(calls++, statuses.length - 1)]!;
    return Response.json({ version: "v1", status }, { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
    calls: () => calls,
  };
}

Deno.test("MarathonClient goes past a refused Marathon to one that answers", async () => {
  const up = fake([200]);
  try {
    const refused = `http://127.0.0.1:${freePort()}`;
    const client = new MarathonClient(() => [refused, up.url]);
    const outcome = await client.mutate("PUT", "/v2/apps/a", { instances: 2 });
    assert.equal(outcome.kind, "acked");
    assert.equal(outcome.kind === "acked" && outcome.unsure, false);
  } finally {
    await up.close();
  }
});

Deno.test("MarathonClient retries a 502/503 and says the change may have applied before", async () => {
  const flaky = fake([502, 503, 200]);
  try {
    const client = new MarathonClient(() => [flaky.url]);
    const outcome = await client.mutate("PUT", "/v2/apps/a", { instances: 2 });
    assert.deepEqual(outcome, {
      kind: "acked",
      status: 200,
      json: { version: "v1", status: 200 },
      unsure: true,
    });
    assert.equal(flaky.calls(), 3);
  } finally {
    await flaky.close();
  }
});

Deno.test("MarathonClient answers a 409 as refused and gives up at the deadline", async () => {
  const locked = fake([409]);
  const down = fake([503]);
  try {
    const refused = await new MarathonClient(() => [locked.url]).mutate(
      "POST",
      "/v2/apps/a/restart",
    );
    assert.equal(refused.kind, "refused");
    const unknown = await new MarathonClient(() => [down.url]).mutate(
      "DELETE",
      "/v2/apps/a",
      undefined,
      {
        deadlineMs: 600,
      },
    );
    assert.equal(unknown.kind, "unknown");
    const never = await new MarathonClient(() => [`http://127.0.0.1:${freePort()}`]).mutate(
      "DELETE",
      "/v2/apps/a",
      undefined,
      { deadlineMs: 600 },
    );
    assert.equal(never.kind, "failed");
    assert.equal(
      await new MarathonClient(() => [down.url]).get("/v2/apps", { deadlineMs: 300 }),
      undefined,
    );
  } finally {
    await locked.close();
    await down.close();
  }
});
