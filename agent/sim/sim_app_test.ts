import assert from "node:assert/strict";
import { simApp, type SimServed } from "./sim_agents.ts";

const agent = (hostname: string, tasks: string[]): SimServed => ({
  id: hostname,
  connected: true,
  state: () => ({ hostname }),
  tasks: () => tasks.map((id) => ({ id })),
});

Deno.test("simApp() answers /health, /state and a known task's (empty) logs; 404 otherwise", async () => {
  const app = simApp([agent("sim-00001", ["web.1"]), agent("sim-00002", [])]);
  const health = await app.request("/health");
  assert.deepEqual([health.status, await health.text()], [200, "ok"]);
  const state = await (await app.request("/state")).json();
  assert.deepEqual(state, {
    simulated: true,
    agents: [
      { id: "sim-00001", hostname: "sim-00001", connected: true, tasks: 1 },
      { id: "sim-00002", hostname: "sim-00002", connected: true, tasks: 0 },
    ],
  });
  const logs = await app.request("/tasks/web.1/logs?stream=stdout");
  assert.deepEqual([logs.status, await logs.text()], [200, ""]);
  const unknown = await app.request("/tasks/web%202/logs");
  assert.deepEqual([unknown.status, await unknown.text()], [404, 'Unknown task "web 2"']);
  const other = await app.request("/nothing");
  assert.equal(other.status, 404);
});
