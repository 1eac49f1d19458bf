import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  Acls,
  authenticate,
  basicHeader,
  ClientSecurity,
  FailureThrottle,
  hashPassword,
  newToken,
  parseAcls,
  parseCredentials,
  principalOf,
  ServerSecurity,
} from "./mod.ts";
import { PrometheusWriter } from "../base/mod.ts";

const hashed = hashPassword("s3cret", 1000);

function credentials() {
  const { token, entry } = newToken("ci");
  return {
    token,
    credentials: parseCredentials(JSON.stringify({
      credentials: [{ principal: "plain", secret: "pw" }, { principal: "ops", secret: hashed }],
      tokens: [entry],
    })),
  };
}

Deno.test("credentials accept clear and hashed secrets and hashed tokens, and nothing else", () => {
  const { token, credentials: c } = credentials();
  assert.equal(c.verify("plain", "pw"), true);
  assert.equal(c.verify("plain", "pw2"), false);
  assert.equal(c.verify("ops", "s3cret"), true);
  assert.equal(c.verify("ops", hashed), false, "the hash itself is not the secret");
  assert.equal(c.verify("nobody", "pw"), false);
  assert.deepEqual(c.check(`Bearer ${token}`), {
    kind: "valid",
    principal: "ci",
    scheme: "bearer",
  });
  assert.equal(c.check("Bearer nope").kind, "invalid");
  assert.equal(c.check(basicHeader("ops", "s3cret")).kind, "valid");
  assert.equal(c.check("Basic !!!").kind, "invalid");
  assert.equal(c.check("Digest x").kind, "invalid");
  assert.equal(c.check(undefined).kind, "none");
});

Deno.test("parseCredentials() names the field of a bad file", () => {
  assert.throws(
    () => parseCredentials(`{"credentials":[{"principal":"a"}]}`, "creds.json"),
    /creds.json: 'credentials.0.secret'/,
  );
  assert.throws(() => parseCredentials(`{"credential":[]}`, "c"), /Unrecognized key/);
  assert.throws(() => parseCredentials(`{`, "c"), /not JSON/);
  assert.throws(
    () => parseCredentials(`{"credentials":[{"principal":"a:b","secret":"x"}]}`),
    /may not contain ':'/,
  );
});

Deno.test("ACLs decide by the first matching rule, then by permissive", () => {
  const acls = parseAcls(JSON.stringify({
    permissive: false,
    register_frameworks: [
      { principals: { values: ["marathon"] }, roles: { values: ["*", "web"] } },
      { principals: { type: "NONE" }, roles: { values: ["prod"] } },
      { principals: { type: "ANY" }, roles: { values: ["prod", "dev"] } },
    ],
    view_apps: [{ principals: { values: ["alice"] }, paths: { values: ["/shop"] } }],
  }));
  assert.equal(acls.allows("register_frameworks", "marathon", "web"), true);
  assert.equal(acls.allows("register_frameworks", "marathon", "batch"), false);
  assert.equal(acls.allows("register_frameworks", "alice", "prod"), false, "NONE refuses");
  assert.equal(acls.allows("register_frameworks", "alice", "dev"), true);
  assert.equal(acls.allows("register_frameworks", undefined, "dev"), true, "ANY takes anyone");
  assert.equal(acls.allows("view_apps", "alice", "/shop/web"), true, "paths are prefixes");
  assert.equal(acls.allows("view_apps", "alice", "/shopping"), false, "at a / boundary");
  assert.equal(acls.allows("teardown_frameworks", "alice"), false, "not permissive");
});

Deno.test("privileged containers and host paths stay refused under permissive ACLs", () => {
  const open = parseAcls(`{}`);
  assert.equal(open.allows("run_tasks", "anyone", "root"), true);
  assert.equal(open.allows("launch_privileged_containers", "anyone", "root"), false);
  assert.equal(open.allows("mount_host_paths", "anyone", "/"), false);
  const some = parseAcls(JSON.stringify({
    mount_host_paths: [{ principals: { values: ["db"] }, paths: { values: ["/srv/data"] } }],
  }));
  assert.equal(some.allows("mount_host_paths", "db", "/srv/data/pg"), true);
  assert.equal(some.allows("mount_host_paths", "db", "/"), false);
});

Deno.test("parseAcls() refuses an unknown action or object key", () => {
  assert.throws(() => parseAcls(`{"run_task":[]}`, "a.json"), /a.json: .*Unrecognized key/);
  assert.throws(
    () => parseAcls(`{"run_tasks":[{"principals":{"type":"ANY"},"roles":{"type":"ANY"}}]}`),
    /run_tasks/,
  );
});

Deno.test("FailureThrottle locks a client out after repeated failures, doubling", () => {
  let now = 0;
  const t = new FailureThrottle(() => now, { maxFailures: 3, firstLockMs: 1000 });
  t.failed("a");
  t.failed("a");
  assert.equal(t.lockedFor("a"), 0);
  t.failed("a");
  assert.equal(t.lockedFor("a"), 1000);
  assert.equal(t.lockedFor("b"), 0, "other clients are not held up");
  now = 1000;
  for (let i = 0; i < 3; i++) t.failed("a");
  assert.equal(t.lockedFor("a"), 2000);
});

function app(security: ServerSecurity, required = true) {
  const a = new Hono();
  a.use(authenticate(security, { realm: "test", required: () => required }));
  a.get("/who", (c) => c.text(principalOf(c) ?? "anonymous"));
  return a;
}

Deno.test("authenticate() answers 401 with a challenge, and names the principal when valid", async () => {
  const { token, credentials: c } = credentials();
  const security = new ServerSecurity({ credentials: c });
  const a = app(security);
  const none = await a.request("/who");
  assert.equal(none.status, 401);
  assert.match(none.headers.get("WWW-Authenticate")!, /^Basic realm="test"/);
  await none.body?.cancel();
  const ok = await a.request("/who", { headers: { Authorization: basicHeader("plain", "pw") } });
  assert.equal(await ok.text(), "plain");
  const bearer = await a.request("/who", { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(await bearer.text(), "ci");
  const bad = await a.request("/who", { headers: { Authorization: basicHeader("plain", "x") } });
  assert.equal(bad.status, 401);
  assert.equal(await bad.text(), "Invalid credentials");
  const open = app(security, false);
  assert.equal(await (await open.request("/who")).text(), "anonymous");
  const wrongOnOpen = await open.request("/who", {
    headers: { Authorization: basicHeader("plain", "x") },
  });
  assert.equal(wrongOnOpen.status, 401, "wrong credentials are refused even where none would do");
  await wrongOnOpen.body?.cancel();
  const w = new PrometheusWriter();
  security.metrics.write(w);
  assert.match(w.text(), /tender_http_unauthenticated_total 3/);
});

Deno.test("authenticate() throttles guessing but not a client with verified credentials", async () => {
  const { credentials: c } = credentials();
  const security = new ServerSecurity({
    credentials: c,
    throttle: new FailureThrottle(Date.now, { maxFailures: 3 }),
  });
  const a = app(security);
  const good = { headers: { Authorization: basicHeader("ops", "s3cret") } };
  assert.equal((await a.request("/who", good)).status, 200);
  for (let i = 0; i < 3; i++) {
    const r = await a.request("/who", { headers: { Authorization: basicHeader("ops", `g${i}`) } });
    assert.equal(r.status, 401);
    await r.body?.cancel();
  }
  const guess = await a.request("/who", { headers: { Authorization: basicHeader("ops", "g9") } });
  assert.equal(guess.status, 429);
  assert.ok(Number(guess.headers.get("Retry-After")) >= 1);
  await guess.body?.cancel();
  assert.equal((await a.request("/who", good)).status, 200, "verified credentials pass");
});

Deno.test("ServerSecurity.authorize() throws a 403 naming principal, action and object", () => {
  const security = new ServerSecurity({ acls: parseAcls(`{"permissive":false}`) });
  assert.throws(
    () => security.authorize("teardown_frameworks", "bob", "marathon"),
    (e: Error & { status?: number }) =>
      e.status === 403 &&
      e.message === 'Principal "bob" is not authorized to teardown_frameworks on "marathon"',
  );
  const w = new PrometheusWriter();
  security.metrics.write(w);
  assert.match(w.text(), /tender_http_forbidden_total\{action="teardown_frameworks"\} 1/);
});

Deno.test("ClientSecurity.fetch adds Authorization unless the request has one", async () => {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    seen.push(req.headers.get("Authorization"));
    return new Response("ok");
  });
  try {
    const client = new ClientSecurity({ principal: "p", secret: "s" });
    const url = `http://127.0.0.1:${server.addr.port}/`;
    await (await client.fetch(url)).text();
    await (await client.fetch(url, { headers: { Authorization: "Bearer x" } })).text();
    assert.deepEqual(seen, [basicHeader("p", "s"), "Bearer x"]);
    assert.throws(() => new ClientSecurity({ principal: "p" }), /needs a secret or a token/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("Acls.allowsAll() is true only with no rule for the action and a permissive default", () => {
  assert.equal(Acls.open().allowsAll("view_tasks"), true);
  assert.equal(Acls.open().allowsAll("mount_host_paths"), false, "never open by default");
  const ruled = parseAcls(JSON.stringify({
    view_tasks: [{ principals: { values: ["ops"] }, users: { type: "ANY" } }],
  }));
  assert.equal(ruled.allowsAll("view_tasks"), false);
  assert.equal(ruled.allowsAll("view_frameworks"), true);
  assert.equal(parseAcls(JSON.stringify({ permissive: false })).allowsAll("view_tasks"), false);
});
