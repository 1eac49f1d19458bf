import assert from "node:assert/strict";
import { Hono } from "hono";
import { hostPort, leaderProxy, type LeaderView } from "./leader_proxy.ts";
import { basicHeader, parseCredentials, ServerSecurity } from "../../../security/mod.ts";

const SELF = "http://10.0.0.1:8080";
const OTHER = "http://10.0.0.2:8080";

/** A view whose leader and leading API tests set by hand. */
class FakeView implements LeaderView {
  readonly self = SELF;
  leaderUrl: string | undefined;
  api: Hono | undefined;
  abdications = 0;
  #waiters: (() => void)[] = [];

  leader() {
    return this.leaderUrl;
  }
  leading() {
    return this.api;
  }
  abdicate() {
    this.abdications += 1;
  }
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
  /** Sets who leads and wakes the requests waiting for it. */
  set(change: { leader?: string; api?: Hono }): void {
    this.leaderUrl = change.leader;
    this.api = change.api;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** A leader's API that says who answered. */
function leaderApi(): Hono {
  const api = new Hono();
  api.get("/v2/apps", (c) => c.json({ apps: [], from: "leader" }));
  api.get("/metrics", (c) => c.text("tender_marathon_elected 1\n"));
  return api;
}

/** A fetch standing in for the leader across the network, keeping what it was sent. */
function recordingFetch(answer: (r: Request) => Response | Promise<Response>) {
  const seen: { request: Request; body: string }[] = [];
  const send = async (request: Request) => {
    const body = request.body ? await request.text() : "";
    seen.push({ request, body });
    return await answer(request);
  };
  return { seen, send };
}

Deno.test("leaderProxy() answers GET /v2/leader with the leader's host:port, or 404 with none", async () => {
  const view = new FakeView();
  const app = leaderProxy(view, { waitMs: 0 });
  const none = await app.request("/v2/leader");
  assert.equal(none.status, 404);
  assert.deepEqual(await none.json(), { message: "There is no leader" });

  view.set({ leader: OTHER });
  assert.deepEqual(await (await app.request("/v2/leader")).json(), { leader: "10.0.0.2:8080" });
  view.set({ leader: SELF, api: leaderApi() });
  assert.deepEqual(await (await app.request("/v2/leader")).json(), { leader: "10.0.0.1:8080" });
  // Named leader by the election but not serving yet: not a leader to send anyone to.
  view.set({ leader: SELF });
  assert.equal((await app.request("/v2/leader")).status, 404);
});

Deno.test("leaderProxy() serves the leader's own API while leading, marked X-Marathon-Leader", async () => {
  const view = new FakeView();
  view.set({ leader: SELF, api: leaderApi() });
  const r = await leaderProxy(view).request("/v2/apps");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-marathon-leader"), SELF);
  assert.deepEqual(await r.json(), { apps: [], from: "leader" });
});

Deno.test("leaderProxy() passes a standby's request to the leader: method, path, query, headers, body", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  const leader = recordingFetch(() =>
    Response.json({ deploymentId: "d1" }, {
      status: 201,
      headers: { "Marathon-Deployment-Id": "d1" },
    })
  );
  const app = leaderProxy(view, { fetch: leader.send });
  const r = await app.request("/v2/apps?force=true&embed=apps.tasks&embed=apps.counts", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Basic eDp5" },
    body: JSON.stringify({ id: "/web" }),
  });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get("marathon-deployment-id"), "d1");
  assert.equal(r.headers.get("x-marathon-via"), "1.1 10.0.0.1:8080");
  assert.deepEqual(await r.json(), { deploymentId: "d1" });
  const [sent] = leader.seen;
  assert.ok(sent);
  assert.equal(sent.request.method, "POST");
  assert.equal(
    sent.request.url,
    `${OTHER}/v2/apps?force=true&embed=apps.tasks&embed=apps.counts`,
  );
  assert.equal(sent.request.headers.get("content-type"), "application/json");
  assert.equal(sent.request.headers.get("authorization"), "Basic eDp5");
  assert.equal(sent.request.headers.get("x-marathon-via"), "1.1 10.0.0.1:8080");
  assert.equal(sent.body, JSON.stringify({ id: "/web" }));
});

Deno.test("leaderProxy() streams the leader's answer as it comes (an event stream)", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
  const app = leaderProxy(view, {
    fetch: () =>
      Promise.resolve(new Response(stream, { headers: { "content-type": "text/event-stream" } })),
  });
  const r = await app.request("/v2/events", { headers: { accept: "text/event-stream" } });
  assert.equal(r.headers.get("content-type"), "text/event-stream");
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  push.enqueue(new TextEncoder().encode("event: event_stream_attached\ndata: {}\n\n"));
  // The first event arrives while the leader's stream is still open.
  assert.equal((await reader.read()).value, "event: event_stream_attached\ndata: {}\n\n");
  push.close();
  assert.equal((await reader.read()).done, true);
});

Deno.test("leaderProxy() refuses a request that already passed through it (a proxying loop)", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  const leader = recordingFetch(() => new Response("unreached"));
  const r = await leaderProxy(view, { fetch: leader.send }).request("/v2/apps", {
    headers: { "x-marathon-via": "1.1 10.0.0.3:8080, 1.1 10.0.0.1:8080" },
  });
  assert.equal(r.status, 502);
  assert.deepEqual(await r.json(), { message: "Detected proxying loop." });
  assert.equal(leader.seen.length, 0);
});

Deno.test("leaderProxy() holds a request until a leader is known, then passes it on", async () => {
  const view = new FakeView();
  const leader = recordingFetch(() => Response.json({ apps: [] }));
  const pending = leaderProxy(view, { fetch: leader.send, waitMs: 10_000 }).request("/v2/apps");
  await Promise.resolve();
  view.set({ leader: OTHER });
  assert.equal((await pending).status, 200);
  assert.equal(leader.seen[0]?.request.url, `${OTHER}/v2/apps`);
});

Deno.test("leaderProxy() answers 503 when no leader is known in time, 502 when it cannot be reached", async () => {
  const view = new FakeView();
  const unreachable = () => Promise.reject(new TypeError("connection refused"));
  const app = leaderProxy(view, { fetch: unreachable, waitMs: 0 });
  const none = await app.request("/v2/apps");
  assert.equal(none.status, 503);
  assert.deepEqual(await none.json(), { message: "Could not determine the current leader" });

  view.set({ leader: OTHER });
  const gone = await app.request("/v2/apps");
  assert.equal(gone.status, 502);
  assert.match(
    (await gone.json()).message,
    /Could not reach the leader at http:\/\/10\.0\.0\.2:8080/,
  );
});

/** A leader that never answers: rejects only when the request's signal aborts. */
function hangingFetch(request: Request): Promise<Response> {
  return new Promise((_, reject) => {
    request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
  });
}

Deno.test("leaderProxy() gives up on a leader whose answer does not begin in time", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  const r = await leaderProxy(view, { fetch: hangingFetch, answerMs: 20 }).request("/v2/apps");
  assert.equal(r.status, 502);
  assert.match((await r.json()).message, /no answer within 20 ms/);
});

Deno.test("leaderProxy() gives up on a proxied request once another leader is elected", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  const pending = leaderProxy(view, { fetch: hangingFetch }).request("/v2/apps");
  await new Promise((r) => setTimeout(r, 0));
  view.set({ leader: "http://10.0.0.3:8080" });
  const r = await pending;
  assert.equal(r.status, 502);
  assert.match((await r.json()).message, /another leader was elected/);
});

Deno.test("leaderProxy() ends the streams it proxies when its signal aborts", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  const stopping = new AbortController();
  const app = leaderProxy(view, {
    signal: stopping.signal,
    // A leader's event stream: open until the request is aborted.
    fetch: (request) =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              request.signal.addEventListener("abort", () => c.error(request.signal.reason));
            },
          }),
        ),
      ),
  });
  const r = await app.request("/v2/events");
  const reading = r.body!.getReader().read();
  stopping.abort(new Error("marathon stopping"));
  await assert.rejects(reading, /marathon stopping/);
});

Deno.test("leaderProxy() abdicates on DELETE /v2/leader at the leader and passes it on at a standby", async () => {
  const view = new FakeView();
  view.set({ leader: SELF, api: leaderApi() });
  const leader = recordingFetch(() => Response.json({ message: "Leadership abdicated" }));
  const app = leaderProxy(view, { fetch: leader.send });
  const r = await app.request("/v2/leader", { method: "DELETE" });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { message: "Leadership abdicated" });
  assert.equal(view.abdications, 1);

  view.set({ leader: OTHER });
  const proxied = await app.request("/v2/leader", { method: "DELETE" });
  assert.equal(proxied.status, 200);
  assert.equal(view.abdications, 1);
  assert.equal(leader.seen[0]?.request.method, "DELETE");
  assert.equal(leader.seen[0]?.request.url, `${OTHER}/v2/leader`);
});

Deno.test("leaderProxy() answers /ping and /metrics itself: a standby's metrics say it stands by", async () => {
  const view = new FakeView();
  view.set({ leader: OTHER });
  const leader = recordingFetch(() => new Response("unreached"));
  const app = leaderProxy(view, {
    fetch: leader.send,
    standbyMetrics: () => "tender_marathon_elected 0\n",
  });
  assert.equal(await (await app.request("/ping")).text(), "pong");
  assert.equal(await (await app.request("/metrics")).text(), "tender_marathon_elected 0\n");
  view.set({ leader: SELF, api: leaderApi() });
  assert.equal(await (await app.request("/metrics")).text(), "tender_marathon_elected 1\n");
  assert.equal(leader.seen.length, 0);
});

Deno.test("hostPort() gives Marathon's host:port form of a URL", () => {
  assert.equal(hostPort("http://m1.example:8080"), "m1.example:8080");
  assert.equal(hostPort("https://m1.example/"), "m1.example:443");
  assert.equal(hostPort("http://[::1]:8080"), "[::1]:8080");
});

Deno.test("leaderProxy() with credentials: a standby answers 401 itself (but /ping), and passes Authorization on to the leader", async () => {
  const security = new ServerSecurity({
    credentials: parseCredentials(
      JSON.stringify({ credentials: [{ principal: "ops", secret: "ops-secret" }] }),
    ),
  });
  const view = new FakeView();
  view.set({ leader: OTHER });
  const leader = recordingFetch(() => Response.json({ apps: [] }));
  const app = leaderProxy(view, { waitMs: 0, fetch: leader.send, security });
  const none = await app.request("/v2/apps");
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm="Mesosphere"/);
  assert.deepEqual(await none.json(), { message: "Authentication required" });
  assert.equal((await app.request("/v2/leader")).status, 401, "a standby's own answers too");
  assert.equal((await app.request("/ping")).status, 200);
  assert.equal(leader.seen.length, 0, "nothing unauthenticated reached the leader");

  const auth = basicHeader("ops", "ops-secret");
  const ok = await app.request("/v2/apps", { headers: { Authorization: auth } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal(leader.seen[0]?.request.headers.get("authorization"), auth);
});
