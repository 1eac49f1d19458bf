/**
 * `deno task dev --tls --secure` as a child process on free ports: https everywhere with the dev
 * CA it makes, credentials for every component and one for the user, printed once; nothing
 * answers without them, and no secret shows where it should not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { basicHeader } from "../security/mod.ts";
import { freePort, waitFor } from "./support/cluster.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("deno task dev --tls --secure: https with its CA, credentials for everyone, none leaked", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tender-dev-secure-" });
  const ports = Object.fromEntries(
    ["master", "agent", "registry", "marathon", "jobs", "router", "dns", "autoscaler"].map((
      name,
    ) => [name, freePort()]),
  );
  const dev = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      `${ROOT}dev.ts`,
      "--work-dir",
      dir,
      ...Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]),
      "--containerizer",
      "process",
      "--resources",
      "cpus:2;mem:1024;disk:1024;ports:[31000-31009]",
      "--tls",
      "--secure",
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const output: string[] = [];
  const drain = Promise.all([dev.stdout, dev.stderr].map(async (s) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) output.push(chunk);
  }));
  let client: Deno.HttpClient | undefined;
  try {
    const master = `https://127.0.0.1:${ports.master}`;
    await waitFor("the dev cluster to print its credentials", () => {
      return output.join("").includes("Ctrl-C stops everything") || undefined;
    }, 90_000).catch((e) => {
      throw new Error(`${e}\n${output.join("")}`);
    });
    const printed = output.join("");
    const secretFile = join(dir, "secure", "admin.secret");
    const secret = (await Deno.readTextFile(secretFile)).trim();
    client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(join(dir, "certs", "ca.crt"))],
    });
    const http = client;
    const admin = { Authorization: basicHeader("admin", secret) };
    const get = async (url: string, headers: Record<string, string> = {}) => {
      const r = await fetch(url, { client: http, headers });
      return { status: r.status, text: await r.text(), headers: r.headers };
    };

    await t.step("the printed addresses are https, with how to log in, the secret once", () => {
      assert.match(printed, new RegExp(`master +${master}`));
      assert.match(printed, new RegExp(`agent +https://127\\.0\\.0\\.1:${ports.agent}`));
      assert.match(printed, new RegExp(`registry +https://127\\.0\\.0\\.1:${ports.registry}`));
      assert.match(printed, new RegExp(`marathon +https://127\\.0\\.0\\.1:${ports.marathon}`));
      assert.match(
        printed,
        new RegExp(`autoscaler +https://127\\.0\\.0\\.1:${ports.autoscaler}`),
      );
      assert.match(printed, /export TENDER_CA=.*ca\.crt/);
      assert.match(printed, /export TENDER_PRINCIPAL=admin TENDER_SECRET=/);
      assert.equal(printed.split(secret).length - 1, 1, "the user's secret is printed once");
    });

    await t.step(
      "the files: keys and secrets 0600, the credentials file holds hashes only",
      async () => {
        for (
          const f of [
            "certs/server.key",
            "certs/ca.key",
            "secure/admin.secret",
            "secure/credentials.json",
          ]
        ) {
          assert.equal(((await Deno.stat(join(dir, f))).mode! & 0o777).toString(8), "600", f);
        }
        const file = await Deno.readTextFile(join(dir, "secure", "credentials.json"));
        assert.ok(!file.includes(secret));
        const principals = JSON.parse(file).credentials.map((c: { principal: string }) =>
          c.principal
        );
        assert.deepEqual(principals.sort(), [
          "admin",
          "agent",
          "autoscaler",
          "jobs",
          "marathon",
          "master",
          "router",
        ]);
        assert.ok(file.match(/\$pbkdf2-sha256\$/g)!.length === 7);
      },
    );

    await t.step("without the CA the master's certificate is refused", async () => {
      await assert.rejects(fetch(`${master}/master/state`));
    });

    await t.step(
      "the master, agent, registry, Marathon, jobs and the router's admin ask for credentials: 401 with a challenge",
      async () => {
        const state = await get(`${master}/master/state`);
        assert.equal(state.status, 401);
        assert.match(state.headers.get("www-authenticate") ?? "", /Basic realm=/);
        assert.equal(
          (await get(`${master}/master/state`, { Authorization: basicHeader("admin", "x") }))
            .status,
          401,
        );
        assert.equal((await get(`https://127.0.0.1:${ports.agent}/state`)).status, 401);
        assert.equal((await get(`https://127.0.0.1:${ports.registry}/v2/`)).status, 401);
        assert.equal((await get(`https://127.0.0.1:${ports.registry}/v2/`, admin)).status, 200);
        const marathon = `https://127.0.0.1:${ports.marathon}`;
        const apps = await get(`${marathon}/v2/apps`);
        assert.equal(apps.status, 401);
        assert.match(apps.headers.get("www-authenticate") ?? "", /Basic realm="Mesosphere"/);
        assert.equal((await get(`${marathon}/v2/apps`, admin)).status, 200);
        const jobs = `https://127.0.0.1:${ports.jobs}`;
        assert.equal((await get(`${jobs}/v1/jobs`)).status, 401);
        assert.equal((await get(`${jobs}/v1/jobs`, admin)).status, 200);
        const router = `https://127.0.0.1:${ports.router}`;
        assert.equal((await get(`${router}/_router/state`)).status, 401);
        assert.equal((await get(`${router}/_router/state`, admin)).status, 200);
      },
    );

    await t.step(
      "with the user's credentials: the agent and both frameworks, each as its principal",
      async () => {
        const state = await waitFor("agent and frameworks", async () => {
          const r = await get(`${master}/master/state`, admin);
          if (r.status !== 200) return undefined;
          const s = JSON.parse(r.text);
          return s.slaves.length === 1 && s.frameworks.length === 2 ? s : undefined;
        }, 60_000);
        const frameworks = state.frameworks.map((
          f: { name: string; principal: string },
        ) => [f.name, f.principal]);
        assert.deepEqual(frameworks.sort(), [["jobs", "jobs"], ["marathon", "marathon"]]);
        assert.match(state.slaves[0].pid ?? state.slaves[0].hostname, /./);
      },
    );

    await t.step(
      "the CLI with TENDER_CA and the user's credentials; without the CA a certificate error",
      async () => {
        const tender = async (env: Record<string, string>) => {
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", "--unstable-kv", `${ROOT}cli/main.ts`, "agents", "list", "--json"],
            env: { NO_COLOR: "1", TENDER_MASTER: master, ...env },
            stdout: "piped",
            stderr: "piped",
          }).output();
          const text = (b: Uint8Array) => new TextDecoder().decode(b);
          return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
        };
        const env = {
          TENDER_CA: join(dir, "certs", "ca.crt"),
          TENDER_PRINCIPAL: "admin",
          TENDER_SECRET: secret,
        };
        const ok = await tender(env);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(JSON.parse(ok.stdout).length, 1);
        const { TENDER_CA: _ca, ...untrusting } = env;
        const refused = await tender(untrusting);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /certificate/i);
      },
    );

    await t.step("no secret in /master/state, /metrics or the output past the banner", async () => {
      const seen = [
        (await get(`${master}/master/state`, admin)).text,
        (await get(`${master}/metrics`, admin)).text,
        (await get(`https://127.0.0.1:${ports.registry}/metrics`, admin)).text,
      ];
      for (const text of seen) {
        assert.ok(!text.includes(secret));
        assert.ok(!text.includes(admin.Authorization.slice(6)));
      }
      assert.match(seen[1]!, /tender_http_unauthenticated_total [1-9]/);
    });
  } finally {
    client?.close();
    try {
      dev.kill("SIGINT");
    } catch { /* gone */ }
    await dev.status;
    await drain;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
