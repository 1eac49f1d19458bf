/**
 * Marathon's security on real processes: a Marathon process authenticating to a master that
 * requires framework authentication (`--mesos-authentication…`, FrameworkInfo.principal), its
 * own API behind `--credentials`/`--acls`; a Marathon without credentials says it has no
 * framework; and the defect of issue 15 — a SUBSCRIBE claiming Marathon's public framework id,
 * then disconnecting, tore the framework down while Marathon went on reporting its tasks
 * running — now noticed, reported and healed (Marathon registers again and its apps run).
 */
import assert from "node:assert/strict";
import { basicHeader } from "../security/mod.ts";
import { Cluster, freePort, TenderProcess, waitFor } from "./support/cluster.ts";
import type { Json } from "./support/marathon_api.ts";

const AGENT_FLAGS = [
  "--containerizer",
  "process",
  "--resources",
  "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
];
const OPS = basicHeader("ops", "ops-secret");

async function get(url: string, auth?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, {
    headers: auth ? { Authorization: auth } : {},
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, text: await r.text() };
}

async function json(url: string, auth?: string): Promise<Json> {
  const r = await get(url, auth);
  assert.equal(r.status, 200, `${url}: ${r.text}`);
  return JSON.parse(r.text);
}

async function post(url: string, body: unknown, auth?: string): Promise<number> {
  const r = await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...(auth ? { Authorization: auth } : {}) },
    signal: AbortSignal.timeout(10_000),
  });
  await r.body?.cancel();
  return r.status;
}

/** A Marathon process on a free port. */
function marathonProcess(root: string, name: string, master: string, flags: string[]) {
  const port = freePort();
  const p = new TenderProcess(name, "frameworks/marathon/main.ts", [
    "--master",
    master,
    "--port",
    String(port),
    "--work-dir",
    `${root}/${name}`,
    ...flags,
  ]);
  p.start();
  return { process: p, url: `http://127.0.0.1:${port}` };
}

function running(state: Json, frameworkId: string): Json[] {
  const fw = state.frameworks.find((f: Json) => f.id === frameworkId);
  return (fw?.tasks ?? []).filter((t: Json) => t.state === "TASK_RUNNING");
}

Deno.test("Marathon authenticates to a master requiring framework authentication, guards its API, and one without credentials reports it has no framework", async () => {
  const root = await Deno.makeTempDir({ prefix: "tender-marathon-security-" });
  await Deno.writeTextFile(
    `${root}/credentials.json`,
    JSON.stringify({
      credentials: [
        { principal: "marathon", secret: "marathon-secret" },
        { principal: "agent", secret: "agent-secret" },
        { principal: "ops", secret: "ops-secret" },
        { principal: "web", secret: "web-secret" },
      ],
    }),
  );
  await Deno.writeTextFile(
    `${root}/acls.json`,
    JSON.stringify({
      permissive: false,
      register_frameworks: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
      run_tasks: [{ principals: { type: "ANY" }, users: { type: "ANY" } }],
      register_agents: [{ principals: { type: "ANY" }, agents: { type: "ANY" } }],
      view_frameworks: [{ principals: { type: "ANY" }, users: { type: "ANY" } }],
      view_tasks: [{ principals: { type: "ANY" }, users: { type: "ANY" } }],
      view_apps: [{ principals: { values: ["ops"] }, paths: { values: ["/"] } }],
      create_apps: [{ principals: { values: ["ops"] }, paths: { values: ["/"] } }],
    }),
  );
  await Deno.writeTextFile(`${root}/marathon.secret`, "marathon-secret\n");
  await Deno.writeTextFile(`${root}/agent.secret`, "agent-secret\n");
  const cluster = await Cluster.start([
    "--credentials",
    `${root}/credentials.json`,
    "--authenticate-frameworks",
    "--authenticate-agents",
  ]);
  const processes: TenderProcess[] = [];
  try {
    await cluster.addAgent([
      ...AGENT_FLAGS,
      "--principal",
      "agent",
      "--secret-file",
      `${root}/agent.secret`,
    ]);
    const marathon = marathonProcess(root, "marathon", cluster.masterUrl, [
      "--mesos-authentication",
      "--mesos-authentication-principal",
      "marathon",
      "--mesos-authentication-secret-file",
      `${root}/marathon.secret`,
      "--credentials",
      `${root}/credentials.json`,
      "--acls",
      `${root}/acls.json`,
    ]);
    processes.push(marathon.process);
    await waitFor(
      "marathon to answer /ping",
      async () => (await get(`${marathon.url}/ping`)).status === 200,
      60_000,
    );

    const anonymous = await get(`${marathon.url}/v2/info`);
    assert.equal(anonymous.status, 401);
    const info = await waitFor("marathon to register", async () => {
      const i = await json(`${marathon.url}/v2/info`, OPS);
      return i.frameworkId ? i : false;
    }, 60_000);
    const state = await cluster.state();
    const framework = state.frameworks.find((f: Json) => f.id === info.frameworkId);
    assert.equal(framework?.principal, "marathon", "FrameworkInfo.principal is Marathon's");
    assert.ok(
      !JSON.stringify(state).includes("marathon-secret"),
      "the secret is nowhere in the state",
    );

    assert.equal(
      await post(
        `${marathon.url}/v2/apps`,
        { id: "/web", cmd: "sleep 1000", cpus: 0.1, mem: 16 },
        basicHeader("web", "web-secret"),
      ),
      403,
    );
    assert.equal(
      await post(
        `${marathon.url}/v2/apps`,
        { id: "/web", cmd: "sleep 1000", cpus: 0.1, mem: 16 },
        OPS,
      ),
      201,
    );
    await waitFor(
      "the app to run on the authenticated cluster",
      async () => running(await cluster.state(), info.frameworkId).length === 1,
      60_000,
    );
    const metrics = (await get(`${marathon.url}/metrics`, OPS)).text;
    assert.match(metrics, /^tender_http_forbidden_total\{action="create_apps"\} 1$/m);
    assert.match(metrics, /^tender_http_unauthenticated_total [1-9]/m);
    assert.match(metrics, /^tender_marathon_framework_lost 0$/m);

    // A Marathon with no credentials is refused by the master, and says so.
    const bare = marathonProcess(root, "bare", cluster.masterUrl, []);
    processes.push(bare.process);
    const ping = await waitFor("the bare marathon to report no framework", async () => {
      const r = await get(`${bare.url}/ping`).catch(() => undefined);
      return r?.status === 503 ? r : false;
    }, 60_000);
    assert.match(ping.text, /framework lost: .*401/);
    const bareInfo = await json(`${bare.url}/v2/info`);
    assert.equal(bareInfo.frameworkId, null);
    assert.match(bareInfo.frameworkLost.message, /401/);
    assert.ok(bare.process.log.join("").includes("marathon lost its framework at the master"));
  } finally {
    for (const p of processes) await p.kill("SIGKILL");
    await cluster.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("Marathon notices when a SUBSCRIBE claiming its framework id gets it torn down, reports it, and registers again so its app runs", async () => {
  const cluster = await Cluster.start();
  const root = await Deno.makeTempDir({ prefix: "tender-marathon-loss-" });
  let marathon: ReturnType<typeof marathonProcess> | undefined;
  try {
    await cluster.addAgent(AGENT_FLAGS);
    marathon = marathonProcess(root, "marathon", cluster.masterUrl, []);
    const url = marathon.url;
    const frameworkId: string = await waitFor("marathon to register", async () => {
      const i = await json(`${url}/v2/info`).catch(() => undefined);
      return i?.frameworkId ?? false;
    }, 60_000);
    assert.equal(
      await post(`${url}/v2/apps`, { id: "/web", cmd: "sleep 1000", cpus: 0.1, mem: 16 }),
      201,
    );
    await waitFor(
      "the app to run",
      async () => running(await cluster.state(), frameworkId).length === 1,
      60_000,
    );

    // The attack: subscribe as Marathon's framework (its id is public in /v2/info), then leave.
    const attack = new AbortController();
    const r = await fetch(`${cluster.masterUrl}/api/v1/scheduler`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "SUBSCRIBE",
        framework_id: { value: frameworkId },
        subscribe: {
          framework_info: {
            id: { value: frameworkId },
            user: "nobody",
            name: "mallory",
            failover_timeout: 0,
          },
        },
      }),
      signal: attack.signal,
    });
    assert.equal(r.status, 200, "the open master lets the claim through");
    attack.abort();
    await r.body?.cancel().catch(() => {});

    // Marathon sees it, says so, and comes back: its app runs again under the framework it holds.
    await waitFor("marathon to report the loss", async () => {
      const m = (await get(`${url}/metrics`)).text;
      return /^tender_marathon_framework_losses_total [1-9]/m.test(m);
    }, 30_000);
    assert.ok(marathon.process.log.join("").includes("marathon lost its framework at the master"));
    const healed = await waitFor("marathon's app to run again under its framework", async () => {
      const info = await json(`${url}/v2/info`);
      if (!info.frameworkId || info.frameworkLost) return false;
      const app = (await json(`${url}/v2/apps/web`)).app;
      const tasks = running(await cluster.state(), info.frameworkId);
      return app.tasksRunning === 1 && tasks.length === 1 &&
          app.tasks[0]?.id === tasks[0]?.id
        ? { info, tasks }
        : false;
    }, 90_000);
    assert.equal((await get(`${url}/ping`)).status, 200);
    console.log(
      `framework ${frameworkId} ${
        healed.info.frameworkId === frameworkId
          ? "taken back"
          : `replaced by ${healed.info.frameworkId}`
      }`,
    );
  } finally {
    await marathon?.process.kill("SIGKILL");
    await cluster.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("Marathon process with Marathon's --http-credentials and --http-realm: 401 naming the realm, the pair accepted, a warning about argv and no password in its log", async () => {
  const cluster = await Cluster.start();
  const root = await Deno.makeTempDir({ prefix: "tender-marathon-http-credentials-" });
  const marathon = marathonProcess(root, "marathon", cluster.masterUrl, [
    "--http-credentials",
    "ops:pass:word",
    "--http-realm",
    "tender",
    "--log-level",
    "warn",
  ]);
  try {
    await waitFor(
      "marathon to answer /ping",
      async () => (await get(`${marathon.url}/ping`).catch(() => undefined))?.status === 200,
      60_000,
    );
    const r = await fetch(`${marathon.url}/v2/apps`);
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate") ?? "", /^Basic realm="tender"/);
    await r.body?.cancel();
    const ok = await get(`${marathon.url}/v2/apps`, basicHeader("ops", "pass:word"));
    assert.equal(ok.status, 200);
    const log = marathon.process.log.join("");
    assert.match(log, /--http-credentials shows its password/);
    assert.ok(!log.includes("pass:word"));
  } finally {
    await marathon.process.kill("SIGKILL");
    await cluster.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
