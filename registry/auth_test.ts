import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Authenticator, hashPassword } from "./auth.ts";

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

Deno.test("Authenticator checks salted PBKDF2 htpasswd entries and static tokens", () => {
  const auth = new Authenticator({
    htpasswd: `a:${hashPassword("pw1", 1000)}\nb:${hashPassword("pw2", 1000)}\n`,
    tokens: ["tok"],
  }, () => 0);
  assert.equal(auth.basicUser(basic("a", "pw1")), "a");
  assert.equal(auth.basicUser(basic("a", "pw1")), "a"); // the second check is from the cache
  assert.equal(auth.basicUser(basic("a", "nope")), undefined);
  assert.equal(auth.basicUser(basic("b", "pw2")), "b");
  assert.equal(auth.basicUser(basic("b", "pw1")), undefined);
  assert.equal(auth.basicUser(basic("anyone", "tok")), "anyone");
  const decision = auth.authorize({ header: "Bearer tok", action: "push", realm: "r" });
  assert.ok(decision.ok);
});

Deno.test("Authenticator tokens grant pull to anonymous callers and everything to users, until expiry", () => {
  let now = 1_000;
  const auth = new Authenticator(
    { users: { u: "p" }, anonymousPull: true, tokenTtlSeconds: 60 },
    () => now,
  );
  const anon = auth.issueToken(undefined).token;
  const user = auth.issueToken("u").token;
  assert.ok(auth.authorize({ header: `Bearer ${anon}`, action: "pull", realm: "r" }).ok);
  const denied = auth.authorize({
    header: `Bearer ${anon}`,
    action: "push",
    scope: "repository:x:pull,push",
    realm: "r",
  });
  assert.equal(denied.ok, false);
  if (!denied.ok) assert.match(denied.challenge, /error="insufficient_scope"/);
  assert.ok(auth.authorize({ header: `Bearer ${user}`, action: "delete", realm: "r" }).ok);
  assert.equal(auth.authorize({ header: `Bearer ${user}x`, action: "pull", realm: "r" }).ok, false);
  // No header: anonymous pull is allowed, the ping (docker login) is challenged.
  assert.ok(auth.authorize({ header: undefined, action: "pull", realm: "r" }).ok);
  assert.equal(auth.authorize({ header: undefined, action: "ping", realm: "r" }).ok, false);
  now += 61_000;
  assert.equal(auth.authorize({ header: `Bearer ${user}`, action: "pull", realm: "r" }).ok, false);
  assert.ok(
    auth.authorize({ header: `Bearer ${auth.issueToken("u").token}`, action: "push", realm: "r" })
      .ok,
  );
});

Deno.test("Authenticator refuses unsalted {SHA} and plain-text htpasswd entries, saying how to migrate", () => {
  const sha = createHash("sha1").update("pw1").digest("base64");
  assert.throws(
    () => new Authenticator({ htpasswd: `a:{SHA}${sha}\nb:pw2\n` }, () => 0),
    /"a" \(an unsalted SHA-1 hash \(\{SHA\}\)\), "b" \(a password in plain text\).*hash-password/,
  );
});

Deno.test("hashPassword() salts: one password hashes differently twice", () => {
  assert.notEqual(hashPassword("pw", 1000), hashPassword("pw", 1000));
  assert.match(
    hashPassword("pw", 1000),
    /^\$pbkdf2-sha256\$1000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
  );
});
