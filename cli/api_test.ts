import assert from "node:assert/strict";
import { FakeHaMaster } from "../tests/support/ha_master.ts";
import { freePort } from "../tests/support/cluster.ts";
import type { Io } from "./io.ts";
import { runCli } from "./run.ts";

const STATE = {
  id: "m-leader",
  version: "1.11.0",
  slaves: [{
    id: "a1",
    hostname: "node-a",
    port: 5051,
    resources: { cpus: 4, mem: 2048 },
    used_resources: {},
    active: true,
  }],
  frameworks: [],
};

/** An Io over the real network whose output is kept; `TENDER_MASTER` is `master`. */
function realIo(master: string) {
  const out: string[] = [], err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    env: (name) => name === "TENDER_MASTER" ? master : undefined,
    fetch: globalThis.fetch,
    signal: new AbortController().signal,
    isTerminal: () => false,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

/** A leading master's handler: `/master/state`, and operator calls recorded. */
function leaderOf(posted: unknown[]) {
  return async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/master/state") return Response.json(STATE);
    if (request.method === "POST" && path === "/api/v1") {
      posted.push(await request.json());
      return new Response(null, { status: 202 });
    }
    return new Response("not found", { status: 404 });
  };
}

function deadUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return `http://127.0.0.1:${listener.addr.port}`;
}

Deno.test("runCli() reads the state of the leader a standby redirects to, past a dead master", async () => {
  const leader = FakeHaMaster.start(), standby = FakeHaMaster.start();
  try {
    const posted: unknown[] = [];
    leader.lead(leaderOf(posted));
    standby.standBy(leader);
    const list = realIo(`${deadUrl()},${standby.url}`);
    assert.equal(await runCli(["agents", "list", "--json"], list.io), 0, list.err());
    assert.equal(JSON.parse(list.out())[0].id, "a1");

    // The standby alone, given by flag: its 307 leads to the leader, for a POST too.
    const one = realIo("http://127.0.0.1:1");
    assert.equal(
      await runCli(["agents", "drain", "a1", "--master", standby.url], one.io),
      0,
      one.err(),
    );
    assert.deepEqual(posted, [{ type: "DRAIN_AGENT", drain_agent: { agent_id: { value: "a1" } } }]);
    assert.deepEqual(standby.redirected, ["/master/redirect", "/master/redirect"]);
  } finally {
    await leader.kill();
    await standby.kill();
  }
});

Deno.test("runCli() follows a 307 from a master that stopped leading during the command", async () => {
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  try {
    const posted: unknown[] = [];
    a.lead(leaderOf([]));
    // a leads when asked who leads, and has handed over to b by the time the state is read.
    let asked = false;
    const io = realIo(`${a.url},${b.url}`);
    const fetchOnce: typeof fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (!asked && String(input).endsWith("/master/redirect")) {
        asked = true;
        b.lead(leaderOf(posted));
        a.standBy(b);
      }
      return response;
    };
    io.io.fetch = fetchOnce;
    assert.equal(await runCli(["agents", "drain", "a1"], io.io), 0, io.err());
    // The state read met a's 307; the drain then went to b directly.
    assert.deepEqual(a.redirected, ["/master/state"]);
    assert.equal(posted.length, 1);
  } finally {
    await a.kill();
    await b.kill();
  }
});

Deno.test("runCli() says so when no master leads, names a bad entry of the list, and an etcd that does not answer", async () => {
  const standby = FakeHaMaster.start();
  try {
    const none = realIo(standby.url);
    assert.equal(await runCli(["agents"], none.io), 1);
    assert.match(none.err(), /no leading master elected yet/);

    const bad = realIo(`${standby.url},ftp://x`);
    assert.equal(await runCli(["agents"], bad.io), 2);
    assert.match(bad.err(), /invalid --master \(or TENDER_MASTER\): Invalid master "ftp:\/\/x"/);

    const port = freePort();
    const etcd = realIo(`etcd://127.0.0.1:${port}/tender`);
    assert.equal(await runCli(["agents"], etcd.io), 1);
    assert.match(
      etcd.err(),
      new RegExp(
        `cannot reach the master at etcd://127\\.0\\.0\\.1:${port}/tender \\(connection refused\\)`,
      ),
    );
  } finally {
    await standby.kill();
  }
});
