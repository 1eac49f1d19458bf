/**
 * The master's authentication, ACLs and identity binding over real HTTP: each switch open,
 * authenticated and denied; ACL denials as 403s counted in /metrics; state filtered by
 * view ACLs; the framework and agent hijacks of issue 15 refused with nothing changed.
 */
import assert from "node:assert/strict";
import type { TaskInfo, TaskStatus } from "../protocol/mod.ts";
import { Resources } from "../protocol/mod.ts";
import { type AuthenticationSwitches, type RunningMaster, startMaster } from "../master/mod.ts";
import { startAgent } from "../agent/mod.ts";
import { SchedulerDriver } from "../sdk/mod.ts";
import {
  basicHeader,
  ClientSecurity,
  parseAcls,
  parseCredentials,
  ServerSecurity,
} from "../security/mod.ts";
import { waitFor } from "./support/cluster.ts";

const CREDENTIALS = {
  credentials: [
    { principal: "marathon", secret: "marathon-secret" },
    { principal: "agent", secret: "agent-secret" },
    { principal: "ops", secret: "ops-secret" },
    { principal: "mallory", secret: "mallory-secret" },
  ],
};
const AUTH = {
  marathon: basicHeader("marathon", "marathon-secret"),
  agent: basicHeader("agent", "agent-secret"),
  ops: basicHeader("ops", "ops-secret"),
  mallory: basicHeader("mallory", "mallory-secret"),
  wrong: basicHeader("ops", "not-the-secret"),
};

async function withMaster(
  options: { switches?: AuthenticationSwitches; acls?: object; credentials?: boolean },
  body: (master: RunningMaster, security: ServerSecurity) => Promise<void>,
): Promise<void> {
  const workDir = await Deno.makeTempDir({ prefix: "tender-master-security-" });
  const security = new ServerSecurity({
    credentials: options.credentials === false
      ? undefined
      : parseCredentials(JSON.stringify(CREDENTIALS)),
    acls: options.acls ? parseAcls(JSON.stringify(options.acls)) : undefined,
  });
  const master = await startMaster({
    port: 0,
    workDir,
    security,
    authenticate: options.switches,
    heartbeatIntervalMs: 1000,
  });
  try {
    await body(master, security);
  } finally {
    await master.stop();
    await Deno.remove(workDir, { recursive: true });
  }
}

function agentSubscribe(id?: string) {
  return {
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        ...(id ? { id: { value: id } } : {}),
        hostname: "127.0.0.1",
        port: 5051,
        resources: Resources.parse("cpus:2;mem:1024").toMesos(),
        attributes: [],
      },
      tasks: [],
    },
  };
}

const FRAMEWORK_SUBSCRIBE = {
  type: "SUBSCRIBE",
  subscribe: { framework_info: { user: "web", name: "f" } },
};

/** POSTs JSON; for a stream (SUBSCRIBE), reads nothing and cancels the body. */
async function post(
  url: string,
  body: unknown,
  authorization?: string,
): Promise<{ status: number; text: string; challenge: string | null; stream?: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(authorization ? { Authorization: authorization } : {}),
    },
    body: JSON.stringify(body),
  });
  const stream = response.headers.get("Mesos-Stream-Id") ?? undefined;
  const text = stream ? "" : await response.text();
  if (stream) await response.body?.cancel();
  return {
    status: response.status,
    text,
    challenge: response.headers.get("WWW-Authenticate"),
    stream,
  };
}

async function get(url: string, authorization?: string) {
  const response = await fetch(url, {
    headers: authorization ? { Authorization: authorization } : {},
    redirect: "manual",
  });
  const text = await response.text();
  return { status: response.status, text, challenge: response.headers.get("WWW-Authenticate") };
}

const GET_FRAMEWORKS = { type: "GET_FRAMEWORKS" };
const REACTIVATE = (id: string) => ({
  type: "REACTIVATE_AGENT",
  reactivate_agent: { agent_id: { value: id } },
});

Deno.test("master: with credentials but no switches, anonymous requests pass and wrong credentials are 401", async () => {
  await withMaster({}, async (master) => {
    assert.equal((await post(`${master.url}/api/v1/scheduler`, FRAMEWORK_SUBSCRIBE)).status, 200);
    assert.equal((await post(`${master.url}/api/v1/agent`, agentSubscribe())).status, 200);
    assert.equal((await get(`${master.url}/master/state`)).status, 200);
    const wrong = await get(`${master.url}/master/state`, AUTH.wrong);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.challenge, 'Basic realm="mesos", Bearer realm="mesos"');
    assert.doesNotMatch(wrong.text, /not-the-secret/);
  });
});

Deno.test("master: --authenticate-frameworks guards the scheduler API only", async () => {
  await withMaster({ switches: { frameworks: true } }, async (master) => {
    const url = `${master.url}/api/v1/scheduler`;
    const anonymous = await post(url, FRAMEWORK_SUBSCRIBE);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.challenge ?? "", /^Basic realm="mesos"/);
    assert.equal((await post(url, FRAMEWORK_SUBSCRIBE, AUTH.wrong)).status, 401);
    assert.equal((await post(url, FRAMEWORK_SUBSCRIBE, AUTH.marathon)).status, 200);
    assert.equal((await post(`${master.url}/api/v1/agent`, agentSubscribe())).status, 200);
    assert.equal((await get(`${master.url}/master/state`)).status, 200);
    const state = JSON.parse((await get(`${master.url}/master/state`)).text);
    assert.equal(state.frameworks[0].principal, "marathon", "the principal is filled in");
  });
});

Deno.test("master: --authenticate-agents guards the agent API only", async () => {
  await withMaster({ switches: { agents: true } }, async (master) => {
    const url = `${master.url}/api/v1/agent`;
    assert.equal((await post(url, agentSubscribe())).status, 401);
    assert.equal((await post(url, agentSubscribe(), AUTH.agent)).status, 200);
    assert.equal((await post(`${master.url}/api/v1/scheduler`, FRAMEWORK_SUBSCRIBE)).status, 200);
  });
});

Deno.test("master: --authenticate-http-readwrite guards DRAIN/REACTIVATE/TEARDOWN, not reads", async () => {
  await withMaster({ switches: { httpReadwrite: true } }, async (master) => {
    const subscribed = await post(`${master.url}/api/v1/agent`, agentSubscribe());
    assert.equal(subscribed.status, 200);
    const agentId = await waitFor("the agent", async () => {
      const s = JSON.parse((await get(`${master.url}/master/state`)).text);
      return s.slaves[0]?.id as string | undefined;
    });
    const api = `${master.url}/api/v1`;
    const anonymous = await post(api, REACTIVATE(agentId));
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.challenge ?? "", /realm="mesos"/);
    assert.equal((await post(api, REACTIVATE(agentId), AUTH.ops)).status, 200);
    assert.equal((await post(api, GET_FRAMEWORKS)).status, 200, "reads stay open");
    assert.equal((await get(`${master.url}/master/state`)).status, 200);
  });
});

Deno.test("master: --authenticate-http-readonly guards state, operator reads, catalog, metrics and the dashboard; /health stays open", async () => {
  await withMaster({ switches: { httpReadonly: true } }, async (master) => {
    for (
      const path of ["/master/state", "/metrics", "/", "/dashboard/api/summary", "/api/v1/services"]
    ) {
      const anonymous = await get(`${master.url}${path}`);
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.challenge ?? "", /^Basic realm="mesos"/, path);
      assert.equal((await get(`${master.url}${path}`, AUTH.ops)).status, 200, path);
    }
    assert.equal((await post(`${master.url}/api/v1`, GET_FRAMEWORKS)).status, 401);
    assert.equal((await post(`${master.url}/api/v1`, GET_FRAMEWORKS, AUTH.ops)).status, 200);
    assert.equal((await get(`${master.url}/health`)).status, 200);
    assert.equal((await get(`${master.url}/master/redirect`)).status, 307);
    // The registry's routes are not the master's to guard.
    assert.notEqual((await get(`${master.url}/v2/`)).status, 401);
    const metrics = (await get(`${master.url}/metrics`, AUTH.ops)).text;
    assert.match(metrics, /tender_http_unauthenticated_total [1-9]/);
  });
});

Deno.test("master: a switch without credentials is refused at start", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-master-security-" });
  try {
    await assert.rejects(
      () => startMaster({ port: 0, workDir, authenticate: { agents: true } }),
      /--authenticate-agents needs --credentials/,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        new URL("../master/main.ts", import.meta.url).pathname,
        "--authenticate-frameworks",
        "--port",
        "0",
        "--work-dir",
        workDir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 2);
    assert.match(
      new TextDecoder().decode(run.stderr),
      /--authenticate-frameworks needs --credentials/,
    );
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("master: ACL denials are 403s naming the action, counted in /metrics, and change nothing", async () => {
  const acls = {
    permissive: false,
    drain_agents: [{ principals: { values: ["ops"] }, agents: { type: "ANY" } }],
    reactivate_agents: [{ principals: { values: ["ops"] }, agents: { type: "ANY" } }],
    teardown_frameworks: [{
      principals: { values: ["ops"] },
      framework_principals: { values: ["marathon"] },
    }],
    register_frameworks: [{ principals: { type: "ANY" }, roles: { values: ["*"] } }],
    register_agents: [{ principals: { type: "ANY" }, agents: { type: "ANY" } }],
    view_frameworks: [{ principals: { values: ["ops"] }, users: { type: "ANY" } }],
    view_tasks: [{ principals: { values: ["ops"] }, users: { type: "ANY" } }],
  };
  await withMaster({ acls, switches: { httpReadwrite: true } }, async (master) => {
    assert.equal(
      (await post(`${master.url}/api/v1/agent`, agentSubscribe(), AUTH.agent)).status,
      200,
    );
    const framework = await fetch(`${master.url}/api/v1/scheduler`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: AUTH.marathon },
      body: JSON.stringify(FRAMEWORK_SUBSCRIBE),
    });
    assert.equal(framework.status, 200);
    const state = async (auth?: string) =>
      JSON.parse((await get(`${master.url}/master/state`, auth)).text);
    const { slaves, frameworks } = await waitFor("agent and framework", async () => {
      const s = await state(AUTH.ops);
      return s.slaves.length === 1 && s.frameworks.length === 1 ? s : undefined;
    });
    const agentId = slaves[0].id, frameworkId = frameworks[0].id;
    const api = `${master.url}/api/v1`;
    const drain = {
      type: "DRAIN_AGENT",
      drain_agent: { agent_id: { value: agentId } },
    };
    const denied = await post(api, drain, AUTH.mallory);
    assert.equal(denied.status, 403);
    assert.equal(
      denied.text,
      `Principal "mallory" is not authorized to drain_agents on "${agentId}"`,
    );
    assert.equal((await state(AUTH.ops)).slaves[0].drain_info, undefined, "not drained");
    const teardown = { type: "TEARDOWN", teardown: { framework_id: { value: frameworkId } } };
    const refused = await post(api, teardown, AUTH.mallory);
    assert.equal(refused.status, 403);
    assert.match(refused.text, /not authorized to teardown_frameworks of principal "marathon"/);
    assert.equal((await state(AUTH.ops)).frameworks.length, 1, "not torn down");
    // view_frameworks: mallory sees no framework, ops does.
    assert.equal((await state(AUTH.mallory)).frameworks.length, 0);
    const v1 = JSON.parse((await post(api, GET_FRAMEWORKS, AUTH.mallory)).text);
    assert.deepEqual(v1.get_frameworks.frameworks, []);
    const summary = async (auth: string) =>
      JSON.parse((await get(`${master.url}/dashboard/api/summary`, auth)).text);
    assert.deepEqual((await summary(AUTH.mallory)).frameworks, [], "nor on the dashboard");
    assert.equal((await summary(AUTH.ops)).frameworks.length, 1);
    const metrics = (await get(`${master.url}/metrics`)).text;
    assert.match(metrics, /tender_http_forbidden_total\{action="drain_agents"\} 1/);
    assert.match(metrics, /tender_http_forbidden_total\{action="teardown_frameworks"\} 1/);
    assert.doesNotMatch(metrics, /secret/);
    // Allowed: ops drains, then tears Marathon's framework down.
    assert.equal((await post(api, drain, AUTH.ops)).status, 200);
    assert.equal((await post(api, teardown, AUTH.ops)).status, 200);
    assert.equal((await state(AUTH.ops)).frameworks.length, 0);
    await framework.body?.cancel();
  });
});

Deno.test("master: another principal cannot subscribe as an existing agent id; no launch reaches it", async () => {
  await withMaster({ switches: { agents: true } }, async (master) => {
    const url = `${master.url}/api/v1/agent`;
    const first = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: AUTH.agent },
      body: JSON.stringify(agentSubscribe()),
    });
    assert.equal(first.status, 200);
    const agentId = await waitFor("agent", async () => {
      const s = JSON.parse((await get(`${master.url}/master/state`)).text);
      return s.slaves[0]?.id as string | undefined;
    });
    const hijack = await post(url, agentSubscribe(agentId), AUTH.mallory);
    assert.equal(hijack.status, 403);
    assert.match(hijack.text, /registered by principal "agent"; principal "mallory" may not/);
    assert.equal(hijack.stream, undefined, "no stream: nothing can leak");
    const heartbeat = await post(
      url,
      { type: "HEARTBEAT", agent_id: { value: agentId } },
      AUTH.mallory,
    );
    assert.equal(heartbeat.status, 403);
    const state = JSON.parse((await get(`${master.url}/master/state`)).text);
    assert.equal(state.slaves.length, 1);
    assert.equal(state.slaves[0].active, true, "the real agent stays subscribed");
    await first.body?.cancel();
  });
});

Deno.test("master: a SUBSCRIBE claiming another principal's framework id, then disconnecting, leaves its tasks running (the hijack)", async () => {
  await withMaster({ switches: { frameworks: true } }, async (master) => {
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-security-" });
    const agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      containerizer: "simulated",
      resources: "cpus:2;mem:1024",
      advertiseIp: "127.0.0.1",
      log: () => {},
    });
    const statuses: TaskStatus[] = [];
    let launched = false;
    const driver = new SchedulerDriver({
      async offers(d, offers) {
        for (const offer of offers) {
          if (launched) {
            await d.decline([offer.id.value], { refuse_seconds: 60 });
            continue;
          }
          launched = true;
          const task: TaskInfo = {
            name: "web",
            task_id: { value: "web.1" },
            agent_id: offer.agent_id,
            resources: Resources.parse("cpus:0.1;mem:32").toMesos(),
            command: { value: "sleep 1000" },
          };
          await d.launch([offer.id.value], [task]);
        }
      },
      update: (_d, status) => void statuses.push(status),
    }, {
      master: master.url,
      framework: { user: "web", name: "marathon", failover_timeout: 3600 },
      security: new ClientSecurity({ principal: "marathon", secret: "marathon-secret" }),
    });
    try {
      await driver.start();
      await waitFor("web.1 running", () => statuses.some((s) => s.state === "TASK_RUNNING"));
      const frameworkId = driver.frameworkId!;
      const hijack = await post(`${master.url}/api/v1/scheduler`, {
        type: "SUBSCRIBE",
        framework_id: { value: frameworkId },
        subscribe: {
          framework_info: {
            id: { value: frameworkId },
            user: "root",
            name: "x",
            failover_timeout: 0,
          },
        },
      }, AUTH.mallory);
      assert.equal(hijack.status, 403);
      assert.match(hijack.text, /registered by principal "marathon"/);
      // Give a teardown (what followed the hijack before) every chance to happen.
      await new Promise((r) => setTimeout(r, 1500));
      const state = JSON.parse((await get(`${master.url}/master/state`)).text);
      assert.equal(state.frameworks.length, 1);
      assert.equal(state.frameworks[0].active, true, "Marathon's stream was not failed over");
      assert.equal(state.frameworks[0].tasks[0]?.state, "TASK_RUNNING");
      assert.deepEqual(agent.agent.tasks().map((t) => t.state), ["TASK_RUNNING"]);
      assert.ok(!statuses.some((s) => s.state !== "TASK_RUNNING" && s.state !== "TASK_STARTING"));
    } finally {
      await driver.stop();
      await agent.stop();
      await Deno.remove(workDir, { recursive: true });
    }
  });
});

Deno.test("master: the log proxy asks access_sandboxes of the task's user", async () => {
  const acls = {
    access_sandboxes: [
      { principals: { values: ["ops"] }, users: { values: ["web"] } },
      { principals: { type: "ANY" }, users: { type: "NONE" } },
    ],
  };
  await withMaster({ acls }, async (master, security) => {
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-security-" });
    const agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      containerizer: "simulated",
      resources: "cpus:2;mem:1024",
      advertiseIp: "127.0.0.1",
      log: () => {},
    });
    const statuses: TaskStatus[] = [];
    let launched = false;
    const driver = new SchedulerDriver({
      async offers(d, offers) {
        for (const offer of offers) {
          if (launched) {
            await d.decline([offer.id.value], { refuse_seconds: 60 });
            continue;
          }
          launched = true;
          await d.launch([offer.id.value], [{
            name: "web",
            task_id: { value: "web.1" },
            agent_id: offer.agent_id,
            resources: Resources.parse("cpus:0.1;mem:32").toMesos(),
            command: { value: "sleep 1000" },
          }]);
        }
      },
      update: (_d, status) => void statuses.push(status),
    }, { master: master.url, framework: { user: "web", name: "web", failover_timeout: 0 } });
    try {
      await driver.start();
      await waitFor("web.1 running", () => statuses.some((s) => s.state === "TASK_RUNNING"));
      const agentId = JSON.parse((await get(`${master.url}/master/state`)).text).slaves[0].id;
      const url = `${master.url}/dashboard/logs/${agentId}/web.1`;
      const denied = await get(url, AUTH.mallory);
      assert.equal(denied.status, 403);
      assert.equal(
        denied.text,
        'Principal "mallory" is not authorized to access_sandboxes on "web"',
      );
      assert.notEqual((await get(url, AUTH.ops)).status, 403);
      const unknown = await get(`${master.url}/dashboard/logs/${agentId}/nobody.1`, AUTH.ops);
      assert.equal(unknown.status, 403, "a task the master does not know matches no user");
      const metrics = (await get(`${master.url}/metrics`)).text;
      assert.match(metrics, /tender_http_forbidden_total\{action="access_sandboxes"\} 2/);
      assert.ok(security.authenticating);
    } finally {
      await driver.stop();
      await agent.stop();
      await Deno.remove(workDir, { recursive: true });
    }
  });
});
