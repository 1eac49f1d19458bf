import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { PrometheusWriter } from "../base/mod.ts";
import {
  basicHeader,
  FailureThrottle,
  hashPassword,
  newToken,
  parseAcls,
  parseCredentials,
  ServerSecurity,
} from "../security/mod.ts";
import { type AuthDecision, Authenticator, STATIC_TOKEN_PRINCIPAL } from "./auth.ts";

const request = { realm: "r", client: "10.0.0.1" };

function principalOf(decision: AuthDecision): string | undefined {
  assert.ok(decision.ok, JSON.stringify(decision));
  return decision.identity.principal;
}

Deno.test("Authenticator checks salted PBKDF2 htpasswd entries and static tokens", () => {
  const auth = new Authenticator({
    htpasswd: `a:${hashPassword("pw1", 1000)}\nb:${hashPassword("pw2", 1000)}\n`,
    tokens: ["static-token-0123456789"],
  }, () => 0);
  const ping = (header: string) => auth.authorize({ ...request, header, action: "ping" });
  assert.equal(principalOf(ping(basicHeader("a", "pw1"))), "a");
  assert.equal(principalOf(ping(basicHeader("a", "pw1"))), "a"); // the second check is cached
  assert.equal(ping(basicHeader("a", "nope")).ok, false);
  assert.equal(principalOf(ping(basicHeader("b", "pw2"))), "b");
  assert.equal(ping(basicHeader("b", "pw1")).ok, false);
  // A static token is a principal of its own, whatever user name comes with it.
  assert.equal(
    principalOf(ping(basicHeader("admin", "static-token-0123456789"))),
    STATIC_TOKEN_PRINCIPAL,
  );
  assert.equal(principalOf(ping("Bearer static-token-0123456789")), STATIC_TOKEN_PRINCIPAL);
});

Deno.test("Authenticator refuses unsalted {SHA} and plain-text htpasswd entries, saying how to migrate", () => {
  const sha = createHash("sha1").update("pw1").digest("base64");
  assert.throws(
    () => new Authenticator({ htpasswd: `a:{SHA}${sha}\nb:pw2\n` }, () => 0),
    /"a" \(an unsalted SHA-1 hash \(\{SHA\}\)\), "b" \(a password in plain text\).*hash-password/,
  );
});

/** A registry's security as a server's flags would build it: one file, ACLs per repository. */
function securedAuth(now: () => number = () => 1_000) {
  const ci = newToken("ci");
  const credentials = parseCredentials(JSON.stringify({
    credentials: [
      { principal: "alice", secret: hashPassword("alice-pw", 1000) },
      { principal: "bob", secret: "bob-pw" },
    ],
    tokens: [ci.entry],
  }));
  const acls = parseAcls(JSON.stringify({
    permissive: false,
    pull_images: [
      { principals: { values: ["alice", "bob", "ci"] }, repositories: { type: "ANY" } },
      { principals: { type: "ANY" }, repositories: { values: ["public"] } },
    ],
    push_images: [
      { principals: { values: ["alice"] }, repositories: { values: ["team"] } },
      { principals: { values: ["ci"] }, repositories: { values: ["ci"] } },
    ],
  }));
  const security = new ServerSecurity({ credentials, acls, throttle: new FailureThrottle(now) });
  const auth = new Authenticator({ security, anonymousPull: true }, now);
  return { auth, security, ciToken: ci.token };
}

Deno.test("Authenticator grants pull and push per repository by the ACLs; a refusal is a 403 naming both, counted", () => {
  const { auth, security, ciToken } = securedAuth();
  const may = (header: string | undefined, action: "pull" | "push" | "delete", name: string) =>
    auth.authorize({ ...request, header, action, name });
  const alice = basicHeader("alice", "alice-pw"), bob = basicHeader("bob", "bob-pw");
  assert.ok(may(alice, "push", "team/web").ok);
  assert.ok(may(alice, "delete", "team/web").ok);
  assert.ok(may(bob, "pull", "team/web").ok);
  assert.ok(may(`Bearer ${ciToken}`, "push", "ci/build").ok);
  const denied = may(bob, "push", "team/web");
  assert.deepEqual(denied, {
    ok: false,
    code: "forbidden",
    message: `Principal "bob" is not authorized to push_images on "team/web"`,
  });
  assert.equal(may(alice, "push", "teamwork").ok, false); // prefixes end at a '/'
  assert.equal(may(`Bearer ${ciToken}`, "push", "team/web").ok, false);
  // Anonymous: pull of what ANY may pull; anything else is a 401 challenge, so it logs in.
  assert.ok(may(undefined, "pull", "public").ok);
  const anonymous = may(undefined, "pull", "team/web");
  assert.equal(anonymous.ok === false && anonymous.code, "unauthorized");
  const push = may(undefined, "push", "public");
  assert.equal(push.ok === false && push.code, "unauthorized");
  const w = new PrometheusWriter();
  security.metrics.write(w);
  assert.match(w.text(), /tender_http_forbidden_total\{action="push_images"\} 3/);
});

Deno.test("Authenticator tokens carry the scopes the ACLs grant, and expire", () => {
  let now = 1_000;
  const { auth } = securedAuth(() => now);
  const bearer = (principal: string | undefined, scopes: string[]) =>
    `Bearer ${auth.issueToken(principal, scopes).token}`;
  const bobToken = bearer("bob", ["repository:team/web:pull,push"]);
  assert.ok(auth.authorize({ ...request, header: bobToken, action: "pull", name: "team/web" }).ok);
  // The ACLs refused bob push when the token was issued; asking anyway is a 403.
  const push = auth.authorize({ ...request, header: bobToken, action: "push", name: "team/web" });
  assert.equal(push.ok === false && push.code, "forbidden");
  // Alice may push, but this token was issued for pull only: 401 insufficient_scope.
  const aliceToken = bearer("alice", ["repository:team/web:pull"]);
  const narrow = auth.authorize({
    ...request,
    header: aliceToken,
    action: "push",
    name: "team/web",
    scope: "repository:team/web:pull,push",
  });
  assert.ok(!narrow.ok && narrow.code === "unauthorized");
  if (!narrow.ok && narrow.code === "unauthorized") {
    assert.match(narrow.challenge, /error="insufficient_scope"/);
  }
  const wide = bearer("alice", ["repository:team/web:pull,push"]);
  assert.ok(auth.authorize({ ...request, header: wide, action: "push", name: "team/web" }).ok);
  // Anonymous tokens get pull where anonymous pull is allowed, never push.
  const anonymous = bearer(undefined, ["repository:public:pull,push"]);
  assert.ok(auth.authorize({ ...request, header: anonymous, action: "pull", name: "public" }).ok);
  assert.equal(
    auth.authorize({ ...request, header: anonymous, action: "push", name: "public" }).ok,
    false,
  );
  const forged = `${wide}x`;
  assert.equal(auth.authorize({ ...request, header: forged, action: "pull", name: "x" }).ok, false);
  now += 301_000;
  const expired = auth.authorize({ ...request, header: wide, action: "pull", name: "team/web" });
  assert.equal(expired.ok === false && expired.code, "unauthorized");
});

Deno.test("Authenticator slows down guessing: 429 after ten failures, a known principal still passes", () => {
  const { auth, security } = securedAuth();
  const guess = basicHeader("alice", "guess");
  const alice = basicHeader("alice", "alice-pw");
  assert.ok(auth.authorize({ ...request, header: alice, action: "ping" }).ok);
  for (let i = 0; i < 10; i++) {
    const d = auth.authorize({ ...request, header: guess, action: "ping" });
    assert.equal(d.ok === false && d.code, "unauthorized");
  }
  const locked = auth.authorize({ ...request, header: guess, action: "ping" });
  assert.ok(!locked.ok && locked.code === "too_many_requests" && locked.retryAfterSeconds >= 1);
  assert.ok(auth.authorize({ ...request, header: alice, action: "ping" }).ok);
  assert.ok(
    auth.authorize({ ...request, client: "10.0.0.2", header: guess, action: "ping" }).ok === false,
  );
  assert.equal(security.metrics.throttled, 1);
});

Deno.test("Authenticator.authorize() never throws on hostile Authorization headers and lets none of them push", () => {
  const { auth } = securedAuth();
  const header = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ maxLength: 200 }).map((s) => `Basic ${s}`),
    fc.string({ maxLength: 200 }).map((s) => `Basic ${btoa(unescape(encodeURIComponent(s)))}`),
    fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
    fc.tuple(fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 60 })).map((
      [a, b],
    ) => `Bearer ${a}.${b}`),
    fc.constant(`Bearer ${btoa(JSON.stringify({ sub: "alice", access: [], exp: 9e15 }))}.x`),
  );
  fc.assert(
    fc.property(header, fc.stringMatching(/^[a-z0-9]+(\/[a-z0-9]+)?$/), (h, name) => {
      const push = auth.authorize({ ...request, client: "fuzz", header: h, action: "push", name });
      assert.equal(push.ok, false);
      auth.authorize({ ...request, client: "fuzz", header: h, action: "ping" });
    }),
    { seed: 15, numRuns: 2000 },
  );
});
