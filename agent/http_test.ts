import assert from "node:assert/strict";
import type { AgentState } from "./agent.ts";
import type { LogOptions } from "./containerizer/containerizer.ts";
import { agentApp } from "./http.ts";
import { LIMITS } from "../base/mod.ts";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../security/mod.ts";

const state: AgentState = {
  id: "a-1",
  hostname: "node1",
  port: 5051,
  master: "http://127.0.0.1:1",
  connected: true,
  containerizer: "process",
  resources: { cpus: 2, mem: 1024, disk: 0, gpus: 0, ports: "[31000-32000]" },
  attributes: [{ name: "rack", type: "TEXT", text: { value: "r1" } }],
  tasks: [{
    id: "web.1",
    name: "web",
    framework_id: "fw",
    state: "TASK_RUNNING",
    container_id: "c1",
    ports: [31000],
    user: "web",
  }],
};

function makeApp(security?: ServerSecurity, readonly = false) {
  const asked: LogOptions[] = [];
  const auth = security ? { security, readonly } : undefined;
  const app = agentApp(
    {
      state: () => state,
      logs: (taskId, options) => {
        if (taskId !== "web.1") return Promise.resolve(undefined);
        asked.push(options);
        return Promise.resolve(new Response(options.stream === "stdout" ? "out\n" : "err\n").body!);
      },
    },
    undefined,
    auth,
  );
  return { app, asked };
}

Deno.test("agentApp GET /health answers ok", async () => {
  const res = await makeApp().app.request("/health");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
});

Deno.test("agentApp GET /state shows id, resources, containerizer and tasks", async () => {
  const res = await makeApp().app.request("/state");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.id, "a-1");
  assert.equal(body.containerizer, "process");
  assert.equal(body.resources.cpus, 2);
  assert.equal(body.tasks[0].state, "TASK_RUNNING");
});

Deno.test("agentApp GET /tasks/{id}/logs streams the chosen output with tail and follow", async () => {
  const { app, asked } = makeApp();
  const res = await app.request("/tasks/web.1/logs?stream=stderr&tail=5&follow=true");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/plain/);
  assert.equal(await res.text(), "err\n");
  assert.equal(asked[0]?.stream, "stderr");
  assert.equal(asked[0]?.tail, 5);
  assert.equal(asked[0]?.follow, true);
  assert.equal(await (await app.request("/tasks/web.1/logs")).text(), "out\n");
});

Deno.test("agentApp GET /tasks/{id}/logs answers 404 naming an unknown task, 400 on bad query", async () => {
  const { app } = makeApp();
  const res = await app.request("/tasks/nope/logs");
  assert.equal(res.status, 404);
  assert.equal(await res.text(), 'Task "nope" is unknown to this agent');
  const bad = await app.request("/tasks/web.1/logs?stream=video");
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /stream/);
});

function secured(acls: object = {}) {
  return new ServerSecurity({
    credentials: parseCredentials(JSON.stringify({
      credentials: [{ principal: "ops", secret: "s" }, { principal: "eve", secret: "e" }],
    })),
    acls: parseAcls(JSON.stringify(acls)),
  });
}

Deno.test("agentApp with --authenticate-http-readonly asks credentials of every route but /health", async () => {
  const { app } = makeApp(secured(), true);
  assert.equal((await app.request("/health")).status, 200);
  for (const path of ["/state", "/tasks/web.1/logs", "/monitor/statistics"]) {
    const res = await app.request(path);
    assert.equal(res.status, 401, path);
    assert.equal(
      res.headers.get("WWW-Authenticate"),
      'Basic realm="mesos-agent", Bearer realm="mesos-agent"',
    );
    const ok = await app.request(path, { headers: { Authorization: basicHeader("ops", "s") } });
    assert.equal(ok.status, 200, path);
  }
  const wrong = await makeApp(secured()).app.request("/state", {
    headers: { Authorization: basicHeader("ops", "nope") },
  });
  assert.equal(wrong.status, 401, "wrong credentials are refused even where none are needed");
});

Deno.test("agentApp gives task output by access_sandboxes and shows tasks by view_tasks of the task's user", async () => {
  const acls = {
    access_sandboxes: [
      { principals: { values: ["ops"] }, users: { values: ["web"] } },
      { principals: { type: "ANY" }, users: { type: "NONE" } },
    ],
    view_tasks: [
      { principals: { values: ["ops"] }, users: { type: "ANY" } },
      { principals: { type: "ANY" }, users: { type: "NONE" } },
    ],
  };
  const { app } = makeApp(secured(acls));
  const as = (p: string, s: string) => ({ headers: { Authorization: basicHeader(p, s) } });
  const denied = await app.request("/tasks/web.1/logs", as("eve", "e"));
  assert.equal(denied.status, 403);
  assert.equal(
    await denied.text(),
    'Principal "eve" is not authorized to access_sandboxes on "web"',
  );
  assert.equal((await app.request("/tasks/web.1/logs", as("ops", "s"))).status, 200);
  const seen = async (p: string, s: string) =>
    (await (await app.request("/state", as(p, s))).json()).tasks.length;
  assert.equal(await seen("ops", "s"), 1);
  assert.equal(await seen("eve", "e"), 0);
});

Deno.test("agentApp GET /tasks/{id}/logs refuses a client's logs past LIMITS.streamsPerClient (429)", async () => {
  const { app } = makeApp();
  const held: Response[] = [];
  for (let i = 0; i < LIMITS.streamsPerClient; i++) {
    const res = await app.request("/tasks/web.1/logs?follow=true");
    assert.equal(res.status, 200);
    held.push(res);
  }
  const refused = await app.request("/tasks/web.1/logs?follow=true");
  assert.equal(refused.status, 429);
  assert.match(await refused.text(), /already holds 32 event streams/);
  // A log read to its end gives its slot back.
  assert.equal(await held.pop()!.text(), "out\n");
  const again = await app.request("/tasks/web.1/logs");
  assert.equal(again.status, 200);
  await again.body?.cancel();
  // An unknown task takes no slot.
  for (const res of held) await res.body?.cancel();
  for (let i = 0; i < LIMITS.streamsPerClient + 1; i++) {
    assert.equal((await app.request("/tasks/nope/logs")).status, 404);
  }
});
