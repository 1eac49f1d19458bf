/**
 * The jobs framework as a real process on a secured cluster: it registers at a master that
 * requires framework authentication over HTTPS (`--principal`, `--secret-file`, `--ca`) and
 * serves HTTPS itself with `--credentials` and `--acls`: a principal allowed on `nightly` runs
 * it to SUCCESS, another is refused, anonymous callers get a 401.
 */
import assert from "node:assert/strict";
import { startAgent } from "../agent/mod.ts";
import { startMaster } from "../master/mod.ts";
import {
  basicHeader,
  ClientSecurity,
  loadTls,
  parseCredentials,
  ServerSecurity,
} from "../security/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { freePort, killProcessTasks, TenderProcess, waitFor } from "./support/cluster.ts";

const CREDENTIALS = {
  credentials: [
    { principal: "jobs", secret: "jobs-secret" },
    { principal: "agent", secret: "agent-secret" },
    { principal: "ops", secret: "ops-secret" },
    { principal: "intern", secret: "intern-secret" },
  ],
};

Deno.test("jobs process: registers with credentials at an https master, and guards its https API with credentials and ACLs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-jobs-security-" });
  const certs = await makeCerts(dir);
  const tls = (await loadTls(certs.cert, certs.key))!;
  const caCerts = [await Deno.readTextFile(certs.caCert)];
  await Deno.writeTextFile(`${dir}/credentials.json`, JSON.stringify(CREDENTIALS));
  await Deno.writeTextFile(
    `${dir}/acls.json`,
    JSON.stringify({
      permissive: false,
      view_jobs: [{ principals: { type: "ANY" }, jobs: { type: "ANY" } }],
      create_jobs: [{ principals: { values: ["ops"] }, jobs: { values: ["nightly"] } }],
      update_jobs: [{ principals: { values: ["ops"] }, jobs: { values: ["nightly"] } }],
    }),
  );
  await Deno.writeTextFile(`${dir}/jobs.secret`, "jobs-secret\n");
  const master = await startMaster({
    port: 0,
    workDir: `${dir}/master`,
    security: new ServerSecurity({ credentials: parseCredentials(JSON.stringify(CREDENTIALS)) }),
    authenticate: { frameworks: true, agents: true },
    tls,
  });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    workDir: `${dir}/agent`,
    containerizer: "process",
    resources: "cpus:2;mem:1024;disk:1024",
    advertiseIp: "127.0.0.1",
    client: new ClientSecurity({ principal: "agent", secret: "agent-secret", caCerts }),
    log: () => {},
  });
  const port = freePort();
  const jobs = new TenderProcess("jobs", "frameworks/jobs/main.ts", [
    "--master",
    master.url,
    "--port",
    String(port),
    "--host",
    "localhost",
    "--work-dir",
    `${dir}/jobs`,
    "--credentials",
    `${dir}/credentials.json`,
    "--acls",
    `${dir}/acls.json`,
    "--tls-cert",
    certs.cert,
    "--tls-key",
    certs.key,
    "--principal",
    "jobs",
    "--secret-file",
    `${dir}/jobs.secret`,
    "--ca",
    certs.caCert,
  ]);
  const https = Deno.createHttpClient({ caCerts });
  const url = `https://localhost:${port}`;
  const call = async (method: string, path: string, who?: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method,
      client: https,
      headers: {
        "content-type": "application/json",
        ...(who ? { Authorization: basicHeader(who, `${who}-secret`) } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  try {
    jobs.start();
    await waitFor(
      "the jobs API over https",
      async () =>
        (await fetch(`${url}/ping`, { client: https, signal: AbortSignal.timeout(2000) })).ok,
      60_000,
    );
    await waitFor("the jobs framework to register as principal jobs", async () => {
      const state = await (await fetch(`${master.url}/master/state`, { client: https })).json();
      return state.frameworks.some((f: { name: string; principal?: string }) =>
        f.name === "jobs" && f.principal === "jobs"
      );
    }, 60_000);

    assert.equal((await call("GET", "/v1/jobs")).status, 401);
    const job = { id: "nightly", run: { cmd: "echo done", cpus: 0.1, mem: 32, disk: 0 } };
    const refused = await call("POST", "/v1/jobs", "intern", job);
    assert.equal(refused.status, 403);
    assert.equal(
      refused.json.message,
      'Principal "intern" is not authorized to create_jobs on "nightly"',
    );
    assert.equal((await call("POST", "/v1/jobs", "ops", job)).status, 201);
    assert.equal((await call("POST", "/v1/jobs/nightly/runs", "intern")).status, 403);
    const run = await call("POST", "/v1/jobs/nightly/runs", "ops");
    assert.equal(run.status, 201);
    const ended = await waitFor("the run to succeed", async () => {
      const r = await call("GET", `/v1/jobs/nightly/runs/${run.json.id}`, "intern");
      return r.json.status === "SUCCESS" || r.json.status === "FAILED" ? r.json : false;
    }, 60_000);
    assert.equal(ended.status, "SUCCESS");
    const log = jobs.log.join("");
    assert.ok(!log.includes("jobs-secret") && !log.includes("ops-secret"), "no secret logged");
  } catch (e) {
    console.error(jobs.log.slice(-30).join(""));
    throw e;
  } finally {
    await jobs.kill("SIGKILL");
    https.close();
    await agent.stop();
    await master.stop();
    await killProcessTasks(dir).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
