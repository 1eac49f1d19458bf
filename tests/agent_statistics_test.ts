/**
 * Container statistics end to end: a real master and agent (process containerizer) and Marathon
 * in-process; an app that spins its CPU shows up in the agent's Mesos-shaped
 * `/monitor/statistics`, and the autoscaler's `AgentCpu` turns two samples into its utilisation.
 */
import assert from "node:assert/strict";
import { AgentCpu, agentUrl, cpuUtilisation } from "../autoscaler/mod.ts";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call, type Json } from "./support/marathon_api.ts";

Deno.test("agents report container CPU in /monitor/statistics, read as utilisation", async () => {
  const cluster = await Cluster.start();
  const workDir = await Deno.makeTempDir({ prefix: "stats-e2e-" });
  const marathon = await startMarathon({
    master: cluster.masterUrl,
    port: 0,
    workDir,
    tickMs: 200,
  });
  try {
    await cluster.addAgent([
      "--containerizer",
      "process",
      "--resources",
      "cpus:4;mem:2048;disk:100",
    ]);
    await call(`${marathon.url}/v2/apps`, "POST", {
      id: "/spin",
      cmd: "while :; do :; done",
      cpus: 0.5,
      mem: 32,
      instances: 1,
    });
    const task = await waitFor("the app to run", async () => {
      const app = (await call(`${marathon.url}/v2/apps/spin?embed=app.tasks`)).json.app;
      return app.tasks?.find((t: Json) => t.state === "TASK_RUNNING");
    }, 30_000);
    const state = await cluster.state();
    const agent = state.slaves[0];
    const stats = await waitFor("statistics of the task", async () => {
      const r = await call(`${agentUrl(agent)}/monitor/statistics`);
      return r.json.find((e: Json) => e.executor_id === task.id);
    });
    assert.equal(stats.statistics.cpus_limit, 0.5);
    assert.equal(stats.statistics.mem_limit_bytes, 32 * 1024 * 1024);
    const source = new AgentCpu(cluster.masterUrl);
    const before = await source.sample();
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await source.sample();
    const used = cpuUtilisation(before, after, [task.id], 0.5);
    // One spinning core over a 0.5 cpus limit (the process containerizer does not cap it): ~2 on
    // an idle machine; much less on a busy one, but clearly measured.
    assert.ok(used !== undefined && used > 0.2, `utilisation ${used}`);
  } finally {
    await marathon.stop();
    await cluster.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
