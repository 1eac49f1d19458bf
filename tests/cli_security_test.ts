/**
 * The CLI against a secured cluster: a master and Marathon serving HTTPS with a private CA and
 * requiring credentials. `tender` run as a subprocess carries `--principal/--secret-file`, a
 * token from `TENDER_TOKEN`, and `--ca`; 401s and 403s print the server's message and exit 1
 * (no stack trace); `tender auth hash` and `tender auth token` make entries the servers accept.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { startMaster } from "../master/mod.ts";
import {
  ClientSecurity,
  loadTls,
  newToken,
  parseAcls,
  parseCredentials,
  ServerSecurity,
  verifyPassword,
} from "../security/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { waitFor } from "./support/cluster.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

async function tender(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("tender auth hash and auth token make credentials file entries the servers accept", async () => {
  const hashed = await tender(["auth", "hash"], { stdin: "s3cret\n" });
  assert.equal(hashed.code, 0, hashed.stderr);
  const hash = hashed.stdout.trim();
  assert.match(hash, /^\$pbkdf2-sha256\$/);
  assert.ok(verifyPassword(hash, "s3cret"), "the line feed is not part of the secret");
  assert.ok(!verifyPassword(hash, "s3cret\n"));

  const empty = await tender(["auth", "hash"], { stdin: "" });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /secret on standard input is empty/);

  const made = await tender(["auth", "token", "ci", "--json"]);
  assert.equal(made.code, 0, made.stderr);
  const { token, entry } = JSON.parse(made.stdout);
  assert.deepEqual(Object.keys(entry).sort(), ["principal", "token_sha256"]);
  const credentials = parseCredentials(
    JSON.stringify({ credentials: [{ principal: "ops", secret: hash }], tokens: [entry] }),
  );
  assert.deepEqual(credentials.check(`Bearer ${token}`), {
    kind: "valid",
    principal: "ci",
    scheme: "bearer",
  });
  const human = await tender(["auth", "token", "ci"]);
  assert.match(human.stdout, /^tdr_\S+\n# add to the "tokens"/);
  assert.equal((await tender(["auth", "token"])).code, 2);
  assert.equal((await tender(["auth", "token", "a:b"])).code, 2);
});

Deno.test("tender over https with credentials: --ca, --principal/--secret-file, TENDER_TOKEN; 401 and 403 print the server's message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-cli-security-" });
  const certs = await makeCerts(dir);
  const tls = (await loadTls(certs.cert, certs.key))!;
  const { entry: ciEntry, token: ciToken } = newToken("ci");
  const credentials = () =>
    parseCredentials(JSON.stringify({
      credentials: [
        { principal: "marathon", secret: "marathon-secret" },
        { principal: "ops", secret: "ops-secret" },
        { principal: "web", secret: "web-secret" },
      ],
      tokens: [ciEntry],
    }));
  const acls = parseAcls(JSON.stringify({
    permissive: true,
    create_apps: [
      { principals: { values: ["ops", "ci"] }, paths: { type: "ANY" } },
      { principals: { type: "ANY" }, paths: { type: "NONE" } },
    ],
  }));
  const caCert = await Deno.readTextFile(certs.caCert);
  const master = await startMaster({
    port: 0,
    workDir: `${dir}/master`,
    security: new ServerSecurity({ credentials: credentials() }),
    authenticate: { frameworks: true, httpReadonly: true, httpReadwrite: true },
    tls,
  });
  const marathon = await startMarathon({
    master: master.url,
    port: 0,
    workDir: `${dir}/marathon`,
    security: new ServerSecurity({ credentials: credentials(), acls }),
    tls,
    client: new ClientSecurity({
      principal: "marathon",
      secret: "marathon-secret",
      caCerts: [caCert],
    }),
  });
  await Deno.writeTextFile(`${dir}/ops.secret`, "ops-secret\n");
  await Deno.writeTextFile(`${dir}/web.secret`, "web-secret\n");
  await Deno.writeTextFile(
    `${dir}/app.json`,
    JSON.stringify({ id: "/web", cmd: "sleep 100", cpus: 0.1, mem: 16, instances: 0 }),
  );
  const env = { TENDER_MASTER: master.url, TENDER_MARATHON: marathon.url };
  const ops = ["--principal", "ops", "--secret-file", `${dir}/ops.secret`, "--ca", certs.caCert];
  try {
    assert.match(master.url, /^https:/);
    assert.match(marathon.url, /^https:/);
    await waitFor(
      "marathon to register over https with its credentials",
      () => marathon.driver.frameworkId,
      30_000,
    );

    const agents = await tender(["agents", ...ops], { env });
    assert.equal(agents.code, 0, agents.stderr);
    const apps = await tender(["apps", ...ops], { env });
    assert.equal(apps.code, 0, apps.stderr);
    assert.match(apps.stdout, /No apps/);

    const noCa = await tender(
      ["apps", "--principal", "ops", "--secret-file", `${dir}/ops.secret`],
      {
        env,
      },
    );
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /cannot reach the marathon .*certificate/i);
    assert.ok(!noCa.stderr.includes("    at "), "no stack trace");

    const anonymous = await tender(["apps", "--ca", certs.caCert], { env });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /refused \/v2\/apps \(401\): Authentication required/);
    assert.match(anonymous.stderr, /--principal NAME with --secret-file/);
    assert.ok(!anonymous.stderr.includes("    at "));
    const masterAnonymous = await tender(["agents", "--ca", certs.caCert], { env });
    assert.equal(masterAnonymous.code, 1);
    assert.match(masterAnonymous.stderr, /\(401\)/);

    const forbidden = await tender(
      [
        "apps",
        "add",
        `${dir}/app.json`,
        "--principal",
        "web",
        "--secret-file",
        `${dir}/web.secret`,
        "--ca",
        certs.caCert,
      ],
      { env },
    );
    assert.equal(forbidden.code, 1);
    assert.match(
      forbidden.stderr,
      /\(403\): Principal "web" is not authorized to create_apps on "\/web"/,
    );
    assert.ok(!forbidden.stderr.includes("web-secret"));

    const byToken = await tender(["apps", "add", `${dir}/app.json`], {
      env: { ...env, TENDER_TOKEN: ciToken, TENDER_CA: certs.caCert },
    });
    assert.equal(byToken.code, 0, byToken.stderr);
    const listed = await tender(["apps", "--json", ...ops], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /"\/web"/);

    const badFile = await tender(["apps", "--principal", "ops", "--secret-file", `${dir}/none`], {
      env,
    });
    assert.equal(badFile.code, 2);
    assert.match(badFile.stderr, /--secret-file: cannot read/);
  } finally {
    await marathon.stop();
    await master.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
