import assert from "node:assert/strict";
import { FakeHaMaster } from "../tests/support/ha_master.ts";
import { waitFor } from "../tests/support/fake_master.ts";
import { leaderFromLocation, Masters, parseMasterSpec } from "./masters.ts";
import { TenderError } from "./errors.ts";
import { systemClock } from "./clock.ts";

/** A port of 127.0.0.1 nothing listens on. */
function deadUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return `http://127.0.0.1:${listener.addr.port}`;
}

/** Runs `body` with `n` fake masters, killing them all at the end, also on failure. */
async function withMasters(
  n: number,
  body: (masters: FakeHaMaster[]) => Promise<void>,
): Promise<void> {
  const masters = Array.from({ length: n }, () => FakeHaMaster.start());
  try {
    await body(masters);
  } finally {
    await Promise.all(masters.map((m) => m.kill()));
  }
}

/** A leader handler that answers `name` and records what it was asked. */
function answering(name: string, seen: string[] = []) {
  return async (request: Request) => {
    const body = request.method === "GET" ? "" : await request.text();
    seen.push(`${request.method} ${new URL(request.url).pathname} ${body}`.trim());
    return new Response(name);
  };
}

Deno.test("parseMasterSpec() reads a list, adds http:// to host:port and keeps path prefixes", () => {
  assert.deepEqual(parseMasterSpec("http://a:5050, b:5050 ,https://c/mesos/"), {
    kind: "urls",
    urls: ["http://a:5050", "http://b:5050", "https://c/mesos"],
    text: "http://a:5050,http://b:5050,https://c/mesos",
  });
  assert.equal(parseMasterSpec("127.0.0.1:5050").text, "http://127.0.0.1:5050");
});

Deno.test("parseMasterSpec() names the entry that is not a master URL", () => {
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(() => parseMasterSpec(text), (e: unknown) => {
      assert.ok(e instanceof TenderError);
      assert.equal(e.code, "bad_request");
      assert.match(e.message, pattern);
      return true;
    });
  bad(
    "http://a:5050,ftp://b:21",
    /Invalid master "ftp:\/\/b:21" in "http:\/\/a:5050,ftp:\/\/b:21"/,
  );
  bad("http://a:5050,,http://c", /entry 2 is empty/);
  bad("a:5050,", /entry 2 is empty/);
  bad("http://", /Invalid master "http:\/\/"/);
  bad("http://a:5050?x=1", /Invalid master "http:\/\/a:5050\?x=1"/);
  bad("a b:5050", /Invalid master "a b:5050"/);
});

Deno.test("parseMasterSpec() recognises an etcd election, and Masters refuses it without a reader", () => {
  assert.deepEqual(parseMasterSpec("etcd://e1:2379,e2:2379/tender/"), {
    kind: "etcd",
    endpoints: ["http://e1:2379", "http://e2:2379"],
    prefix: "/tender",
    text: "etcd://e1:2379,e2:2379/tender/",
  });
  assert.throws(() => parseMasterSpec("etcd://e1:2379,/p"), /entry 2 is empty/);
  assert.throws(
    () => new Masters("etcd://e1:2379/tender"),
    /"etcd:\/\/e1:2379\/tender": reading the leader from etcd is not supported yet/,
  );
});

Deno.test("Masters.resolve() asks an injected etcd reader for an etcd spec", async () => {
  const election: { leader?: string } = {};
  const asked: string[] = [];
  const masters = new Masters("etcd://e1:2379/tender", {
    etcd: (spec) => {
      asked.push(`${spec.endpoints.join(",")} ${spec.prefix}`);
      return Promise.resolve(election.leader);
    },
  });
  await assert.rejects(masters.resolve(), /No leading master elected yet/);
  election.leader = "m2:5050/";
  assert.equal(await masters.resolve(), "http://m2:5050");
  assert.deepEqual(asked, ["http://e1:2379 /tender", "http://e1:2379 /tender"]);
});

Deno.test("leaderFromLocation() strips the asked path and keeps the leader's prefix", () => {
  const from = { base: "http://a:5050/mesos", path: "/api/v1/agent" };
  assert.equal(leaderFromLocation("http://b:5050/mesos/api/v1/agent", from), "http://b:5050/mesos");
  assert.equal(leaderFromLocation("//b:5050/api/v1/agent", from), "http://b:5050");
  const probe = { base: "http://a:5050", path: "/master/redirect" };
  assert.equal(leaderFromLocation("http://b:5050", probe), "http://b:5050");
  assert.equal(leaderFromLocation("//b:5050/", probe), "http://b:5050");
  assert.equal(leaderFromLocation("http://b:5050/master/redirect", probe), "http://b:5050");
});

Deno.test("Masters.resolve() finds the leader through a standby and past a dead master", async () => {
  await withMasters(2, async ([standby, leader]) => {
    leader!.lead(answering("leader"));
    standby!.standBy(leader);
    const masters = new Masters(`${deadUrl()},${standby!.url}`);
    assert.equal(await masters.resolve(), leader!.url);
    assert.equal(masters.leader, leader!.url);
    assert.deepEqual(standby!.redirected, ["/master/redirect"]);
    // Known now: asked no more until it fails.
    assert.equal(await masters.resolve(), leader!.url);
    assert.equal(standby!.redirected.length, 1);
  });
});

Deno.test("Masters.resolve() says what each master answered when none leads", async () => {
  await withMasters(1, async ([standby]) => {
    const dead = deadUrl();
    const masters = new Masters(`${standby!.url},${dead}`);
    await assert.rejects(masters.resolve(), (e: unknown) => {
      assert.ok(e instanceof TenderError);
      assert.equal(e.code, "unavailable");
      assert.match(e.message, /^No leading master among /);
      assert.match(e.message, /answered "no leading master elected yet" \(503\)/);
      assert.match(e.message, new RegExp(`${dead} failed: .*refused`, "i"));
      return true;
    });
  });
});

Deno.test("Masters.resolve() asks a single master too: a standby names its leader", async () => {
  await withMasters(2, async ([standby, leader]) => {
    leader!.lead(answering("leader"));
    standby!.standBy(leader);
    const masters = new Masters(standby!.url);
    assert.equal(await (await masters.fetch("/master/state")).text(), "leader");
    assert.deepEqual(standby!.redirected, ["/master/redirect"]);
  });
});

Deno.test("Masters.fetch() follows a 307 with the body and remembers the leader", async () => {
  await withMasters(2, async ([a, b]) => {
    const seen: string[] = [];
    a!.lead(answering("a"));
    const masters = new Masters(`${a!.url},${b!.url}`);
    assert.equal(await masters.resolve(), a!.url);
    // a hands leadership to b: the next call meets a's 307.
    b!.lead(answering("b", seen));
    a!.standBy(b);
    const response = await masters.fetch("/api/v1/agent", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"type":"HEARTBEAT"}`,
    });
    assert.equal(await response.text(), "b");
    assert.deepEqual(seen, [`POST /api/v1/agent {"type":"HEARTBEAT"}`]);
    assert.deepEqual(a!.redirected, ["/api/v1/agent"]);
    assert.equal(masters.leader, b!.url);
    await (await masters.fetch("/master/state")).body?.cancel();
    assert.equal(a!.redirected.length, 1, "the leader is asked directly");
  });
});

Deno.test("Masters.fetch() moves on to the new leader when the old one refuses connections", async () => {
  await withMasters(2, async ([first, second]) => {
    first!.lead(answering("first"));
    second!.standBy(first);
    const masters = new Masters(`${first!.url},${second!.url}`);
    assert.equal(await (await masters.fetch("/master/state")).text(), "first");
    await first!.kill();
    second!.lead(answering("second"));
    const posted = await masters.fetch("/api/v1", { method: "POST", body: "{}" });
    assert.equal(await posted.text(), "second");
    assert.equal(masters.leader, second!.url);
  });
});

Deno.test("Masters.fetch() returns a 503 and asks again next time", async () => {
  await withMasters(2, async ([a, b]) => {
    const masters = new Masters(`${a!.url},${b!.url}`);
    b!.lead(answering("b"));
    a!.standBy(b);
    assert.equal(await masters.resolve(), b!.url);
    b!.standBy(); // b lost leadership and knows no leader yet
    const response = await masters.fetch("/master/state");
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { message: "no leading master elected yet" });
    assert.equal(masters.leader, undefined);
    a!.lead(answering("a"));
    assert.equal(await (await masters.fetch("/master/state")).text(), "a");
  });
});

Deno.test("Masters.deposed() names the new leader once the others elected one, not before", async () => {
  await withMasters(3, async ([a, b, c]) => {
    a!.lead(answering("a"));
    b!.standBy(a);
    c!.standBy(a);
    const masters = new Masters([a!, b!, c!].map((m) => m.url).join(","));
    const stop = new AbortController();
    let named: string | undefined = "pending";
    const watching = masters.deposed(a!.url, {
      clock: systemClock,
      signal: stop.signal,
      everyMs: 10,
    })
      .then((leader) => (named = leader));
    try {
      // A standby that names a master that does not confirm (dead) deposes nobody.
      c!.standBy(deadUrl());
      await waitFor(() => c!.redirected.length >= 3, { what: "three rounds of questions" });
      assert.equal(named, "pending");
      a!.pause();
      b!.lead(answering("b"));
      c!.standBy(b);
      assert.equal(await watching, b!.url);
      assert.equal(masters.leader, b!.url);
    } finally {
      stop.abort();
      await watching;
    }
  });
});

Deno.test("Masters.deposed() with a single master waits for its signal only", async () => {
  const masters = new Masters("http://127.0.0.1:1");
  const stop = new AbortController();
  const watching = masters.deposed("http://127.0.0.1:1", {
    clock: systemClock,
    signal: stop.signal,
  });
  stop.abort();
  assert.equal(await watching, undefined);
});
