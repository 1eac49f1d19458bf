import assert from "node:assert/strict";
import { basicHeader } from "../../security/mod.ts";
import { httpCredentials, marathonSecurity } from "./security_flags.ts";

const noEnv = () => undefined;

Deno.test("httpCredentials() takes Marathon's USER:PASSWORD (the password may hold ':'), and names no secret when refusing", () => {
  const c = httpCredentials("ops:pa:ss");
  assert.equal(c.check(basicHeader("ops", "pa:ss")).kind, "valid");
  assert.equal(c.check(basicHeader("ops", "pa")).kind, "invalid");
  for (const bad of ["ops", ":secret", "ops:", ""]) {
    assert.throws(() => httpCredentials(bad), /--http-credentials must be USER:PASSWORD/);
  }
  assert.throws(
    () => httpCredentials(`ops:${"s".repeat(5000)}`),
    (e: Error) => /--http-credentials/.test(e.message) && !e.message.includes("sss"),
  );
});

Deno.test("marathonSecurity() builds the API's security, the realm and the master client; refuses flags it would ignore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "marathon-flags-" });
  try {
    await Deno.writeTextFile(`${dir}/secret`, "marathon-secret\n");
    const open = await marathonSecurity({}, noEnv);
    assert.equal(open.security.authenticating, false);
    assert.equal(open.realm, "Mesosphere");
    assert.equal(open.client.authorization, undefined);

    const secured = await marathonSecurity({
      "http-credentials": "ops:ops-secret",
      "http-realm": "tender",
      "mesos-authentication": true,
      "mesos-authentication-principal": "marathon",
      "mesos-authentication-secret-file": `${dir}/secret`,
    }, noEnv);
    assert.equal(secured.security.authenticating, true);
    assert.equal(secured.realm, "tender");
    assert.equal(secured.client.principal, "marathon");
    assert.equal(secured.client.authorization, basicHeader("marathon", "marathon-secret"));

    const refusals: [Parameters<typeof marathonSecurity>[0], RegExp][] = [
      [{ "http-credentials": "a:b", credentials: `${dir}/c.json` }, /give one of them/],
      [{ "mesos-authentication-principal": "marathon" }, /need --mesos-authentication/],
      [{ "mesos-authentication": true }, /needs --mesos-authentication-principal/],
      [{ "mesos-authentication": true, "mesos-authentication-principal": "m" }, /needs a secret/],
      [
        { "mesos-authentication": true, principal: "a", "mesos-authentication-principal": "b" },
        /--principal and --mesos-authentication-principal differ/,
      ],
      [{ "http-realm": 'a"b' }, /--http-realm/],
      [{ "tls-cert": `${dir}/none.pem` }, /--tls-cert and --tls-key go together/],
    ];
    for (const [values, message] of refusals) {
      await assert.rejects(marathonSecurity(values, noEnv), message, JSON.stringify(values));
    }
    // Tender's own client flags and environment work without --mesos-authentication.
    const env = (n: string) =>
      ({ TENDER_PRINCIPAL: "marathon", TENDER_SECRET: "from-env" } as Record<string, string>)[n];
    const fromEnv = await marathonSecurity({}, env);
    assert.equal(fromEnv.client.authorization, basicHeader("marathon", "from-env"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
