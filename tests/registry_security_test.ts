/**
 * The registry as `deno task registry` runs it with security on: `--credentials` (Mesos' JSON
 * shape), `--acls` (pull_images/push_images per repository) and `--tls-cert/--tls-key`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { basicHeader, hashPassword, newToken } from "../security/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { digestOf, errorCodes, randomBytes } from "./registry_helpers.ts";

const ALICE_SECRET = "alice-secret-3f9a1c";
const BOB_SECRET = "bob-secret-77d02e";

interface Started {
  url: string;
  process: Deno.ChildProcess;
  output: () => string;
}

/** Starts `registry/main.ts` with `args`; resolves once it prints its URL. */
async function startRegistry(args: string[]): Promise<Started> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "registry/main.ts", "serve", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const { promise: url, resolve, reject } = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const m = /registry listening on (\S+)/.exec(text);
      if (m) resolve(m[1]!);
    }
  };
  void pump(process.stdout);
  void pump(process.stderr);
  void process.status.then((s) => reject(new Error(`registry exited ${s.code}: ${text}`)));
  const timer = setTimeout(() => reject(new Error(`registry did not start: ${text}`)), 60_000);
  try {
    return { url: await url, process, output: () => text };
  } finally {
    clearTimeout(timer);
  }
}

async function stop(started: Started | undefined): Promise<void> {
  if (!started) return;
  try {
    started.process.kill("SIGTERM");
  } catch { /* already gone */ }
  await started.process.status;
}

Deno.test("deno task registry with --credentials, --acls and TLS: 401, per-repository 403s counted, https only with the CA", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tender-registry-sec-" });
  let started: Started | undefined;
  let client: Deno.HttpClient | undefined;
  try {
    const certs = await makeCerts(join(dir, "certs"));
    const ci = newToken("ci");
    await Deno.writeTextFile(
      join(dir, "credentials.json"),
      JSON.stringify({
        credentials: [
          { principal: "alice", secret: hashPassword(ALICE_SECRET, 1000) },
          { principal: "bob", secret: BOB_SECRET },
        ],
        tokens: [ci.entry],
      }),
    );
    await Deno.writeTextFile(
      join(dir, "acls.json"),
      JSON.stringify({
        permissive: false,
        pull_images: [
          { principals: { values: ["alice", "ci"] }, repositories: { type: "ANY" } },
          { principals: { values: ["bob"] }, repositories: { values: ["bob", "public"] } },
        ],
        push_images: [
          { principals: { values: ["alice"] }, repositories: { values: ["team"] } },
          { principals: { values: ["bob"] }, repositories: { values: ["bob"] } },
        ],
      }),
    );
    started = await startRegistry([
      "--port",
      "0",
      "--work-dir",
      join(dir, "work"),
      "--credentials",
      join(dir, "credentials.json"),
      "--acls",
      join(dir, "acls.json"),
      "--tls-cert",
      certs.cert,
      "--tls-key",
      certs.key,
    ]);
    const url = started.url;
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    const http = client;
    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${url}${path}`, { ...init, client: http });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text };
    };
    const alice = { Authorization: basicHeader("alice", ALICE_SECRET) };
    const bob = { Authorization: basicHeader("bob", BOB_SECRET) };
    const data = randomBytes(1000);
    const upload = (name: string) => `/v2/${name}/blobs/uploads/?digest=${digestOf(data)}`;

    await t.step("a client without the CA fails with a certificate error", async () => {
      const error = await fetch(`${url}/v2/`).then(() => undefined, (e: Error) => e);
      assert.ok(error, "the TLS handshake must fail");
      assert.match(String(error.cause ?? error.message), /certificate|UnknownIssuer/i);
    });

    await t.step("no credentials: 401 with the Bearer challenge; wrong ones too", async () => {
      const ping = await call("/v2/");
      assert.equal(ping.status, 401);
      assert.match(ping.headers.get("www-authenticate") ?? "", /^Bearer realm="https:/);
      assert.equal((await call("/v2/", { headers: basicHeaderOf("alice", "wrong") })).status, 401);
      assert.equal((await call("/v2/", { headers: alice })).status, 200);
      assert.equal(
        (await call("/v2/", { headers: { Authorization: `Bearer ${ci.token}` } })).status,
        200,
      );
    });

    await t.step(
      "push per repository prefix: alice to team/*, bob refused 403 DENIED, nothing stored",
      async () => {
        const pushed = await call(upload("team/web"), {
          method: "POST",
          body: data,
          headers: alice,
        });
        assert.equal(pushed.status, 201, pushed.text);
        const denied = await call(upload("team/web"), { method: "POST", body: data, headers: bob });
        assert.equal(denied.status, 403);
        assert.deepEqual(errorCodes(JSON.parse(denied.text)), ["DENIED"]);
        assert.match(
          denied.text,
          /Principal \\"bob\\" is not authorized to push_images on \\"team\/web\\"/,
        );
        const other = await call(upload("team/other"), {
          method: "POST",
          body: data,
          headers: bob,
        });
        assert.equal(other.status, 403);
        const head = await call(`/v2/team/other/blobs/${digestOf(data)}`, {
          method: "HEAD",
          headers: alice,
        });
        assert.equal(head.status, 404, "a refused push stores nothing");
        // Bob may not read team/web either, nor mount from it: the mount becomes an upload.
        assert.equal(
          (await call(`/v2/team/web/blobs/${digestOf(data)}`, { headers: bob })).status,
          403,
        );
        const mount = await call(
          `/v2/bob/copy/blobs/uploads/?mount=${digestOf(data)}&from=team/web`,
          { method: "POST", headers: bob },
        );
        assert.equal(mount.status, 202, "no cross-repository mount from what bob cannot pull");
      },
    );

    await t.step("the catalog lists only what the caller may pull", async () => {
      const aliceSees = JSON.parse((await call("/v2/_catalog", { headers: alice })).text);
      assert.ok(aliceSees.repositories.includes("team/web"));
      const bobSees = JSON.parse((await call("/v2/_catalog", { headers: bob })).text);
      assert.ok(!bobSees.repositories.includes("team/web"), JSON.stringify(bobSees));
    });

    await t.step("the token endpoint grants only the scopes the ACLs allow", async () => {
      const res = await call(
        "/auth/token?service=tender-registry&scope=repository:team/web:pull,push",
        { headers: bob },
      );
      assert.equal(res.status, 200);
      const token = JSON.parse(res.text).token as string;
      const push = await call(upload("team/web"), {
        method: "POST",
        body: data,
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(push.status, 403);
    });

    await t.step("/metrics counts the refusals and holds no secret", async () => {
      const metrics = (await call("/metrics")).text;
      assert.match(metrics, /tender_http_forbidden_total\{action="push_images"\} [3-9]/);
      assert.match(metrics, /tender_http_forbidden_total\{action="pull_images"\} [1-9]/);
      assert.match(metrics, /tender_http_unauthenticated_total [1-9]/);
      for (const secret of [ALICE_SECRET, BOB_SECRET, ci.token]) {
        assert.ok(!metrics.includes(secret));
        assert.ok(!started!.output().includes(secret), "no secret in the registry's output");
      }
    });
  } finally {
    client?.close();
    await stop(started);
    await Deno.remove(dir, { recursive: true });
  }
});

function basicHeaderOf(principal: string, secret: string): Record<string, string> {
  return { Authorization: basicHeader(principal, secret) };
}

Deno.test("deno task registry refuses a bad --credentials file or a lone --tls-cert, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-registry-sec-" });
  try {
    await Deno.writeTextFile(
      join(dir, "bad.json"),
      JSON.stringify({ credentials: [{ principal: "a" }] }),
    );
    for (
      const [args, message] of [
        [["--credentials", join(dir, "bad.json")], /bad\.json: 'credentials\.0\.secret'/],
        [["--tls-cert", join(dir, "bad.json")], /--tls-cert and --tls-key go together/],
      ] as const
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-kv",
          "registry/main.ts",
          "--port",
          "0",
          "--work-dir",
          join(dir, "work"),
          ...args,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 2);
      assert.match(new TextDecoder().decode(out.stderr), message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
