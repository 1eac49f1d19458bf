import assert from "node:assert/strict";
import type { AgentState } from "./agent.ts";
import type { LogOptions } from "./containerizer/containerizer.ts";
import { agentApp } from "./http.ts";

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
  }],
};

function makeApp() {
  const asked: LogOptions[] = [];
  const app = agentApp({
    state: () => state,
    logs: (taskId, options) => {
      if (taskId !== "web.1") return Promise.resolve(undefined);
      asked.push(options);
      return Promise.resolve(new Response(options.stream === "stdout" ? "out\n" : "err\n").body!);
    },
  });
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
