/**
 * Marathon killed with SIGKILL in the middle of a rolling restart and started again on the same
 * state (`deno task marathon` as a real process): the deployment resumes and finishes, and the
 * master ends up with exactly the app's instances — none lost, none duplicated.
 */
import assert from "node:assert/strict";
import { Cluster, TenderProcess, waitFor } from "./support/cluster.ts";
import { call, type Json } from "./support/marathon_api.ts";

async function ping(api: string): Promise<boolean> {
  const r = await fetch(`${api}/ping`);
  return (await r.text()) === "pong";
}

Deno.test("Marathon SIGKILLed mid-deployment resumes it after a restart, nothing lost or doubled", async () => {
  const cluster = await Cluster.start();
  const workDir = await Deno.makeTempDir({ prefix: "marathon-chaos-" });
  const marathon = new TenderProcess("marathon", "frameworks/marathon/main.ts", [
    "--master",
    cluster.masterUrl,
    "--port",
    "0",
    "--work-dir",
    workDir,
  ]);
  let api = "";
  /** Starts the process and reads its API URL from the line it prints (port 0: no port race). */
  const start = async () => {
    const seen = marathon.log.length;
    marathon.start();
    api = await waitFor("marathon to print its URL", () => {
      const m = /API on (http:\/\/\S+),/.exec(marathon.log.slice(seen).join(""));
      return m?.[1];
    }, 60_000);
  };
  try {
    await cluster.addAgent([
      "--containerizer",
      "process",
      "--resources",
      "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
    ]);
    await start();
    await waitFor(
      "marathon to answer",
      async () => await ping(api),
      60_000,
    );
    await waitFor(
      "marathon to subscribe",
      async () => (await call(`${api}/v2/info`)).json.frameworkId,
      60_000,
    );
    const fwId = (await call(`${api}/v2/info`)).json.frameworkId;
    const running = async () => {
      const state = await (await fetch(`${cluster.masterUrl}/master/state`)).json();
      const fw = state.frameworks.find((f: Json) => f.id === fwId);
      return (fw?.tasks ?? []).filter((t: Json) => t.state === "TASK_RUNNING");
    };

    await call(`${api}/v2/apps`, "POST", {
      id: "/svc",
      cmd: "sleep 1000",
      instances: 3,
      cpus: 0.1,
      mem: 16,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 },
    });
    await waitFor("3 instances", async () => {
      const a = (await call(`${api}/v2/apps/svc`)).json.app;
      return a.tasksRunning === 3 && a.deployments.length === 0;
    }, 30_000);

    const upd = await call(`${api}/v2/apps/svc`, "PUT", { env: { GEN: "2" } });
    await waitFor("the first new instance to run", async () => {
      const a = (await call(`${api}/v2/apps/svc`)).json.app;
      return a.tasks.some((t: Json) =>
        t.version === upd.json.version && t.state === "TASK_RUNNING"
      );
    }, 30_000);
    await marathon.kill("SIGKILL");

    await start();
    const done = await waitFor("the deployment to finish after the restart", async () => {
      const r = await call(`${api}/v2/apps/svc`);
      const a = r.json?.app;
      return a && a.deployments.length === 0 && a.tasksRunning === 3 &&
          a.tasks.every((t: Json) => t.version === upd.json.version)
        ? a
        : false;
    }, 60_000);
    assert.equal(
      (await call(`${api}/v2/info`)).json.frameworkId,
      fwId,
      "same framework after restart",
    );
    const onMaster = await waitFor("the master to hold exactly 3 running tasks", async () => {
      const tasks = await running();
      return tasks.length === 3 ? tasks : false;
    }, 30_000);
    assert.deepEqual(
      onMaster.map((t: Json) => t.id).sort(),
      done.tasks.map((t: Json) => t.id).sort(),
      "Marathon and the master agree on the tasks",
    );

    // Killed while idle: nothing restarts.
    await marathon.kill("SIGKILL");
    await start();
    await waitFor(
      "marathon to answer again",
      async () => await ping(api),
      60_000,
    );
    await waitFor(
      "marathon to re-subscribe",
      async () => (await call(`${api}/v2/info`)).json.frameworkId === fwId,
      60_000,
    );
    const after = (await call(`${api}/v2/apps/svc`)).json.app;
    assert.deepEqual(
      after.tasks.map((t: Json) => t.id).sort(),
      done.tasks.map((t: Json) => t.id).sort(),
    );
  } finally {
    await marathon.kill("SIGKILL");
    await cluster.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
