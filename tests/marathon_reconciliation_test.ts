/**
 * Marathon's scheduling flags on real processes: `--reconciliation-interval` (Marathon's
 * `reconciliation_interval`) reconciles task states with the master periodically, not only when
 * it subscribes; `--local-port-min/--local-port-max` set the service-port range.
 */
import assert from "node:assert/strict";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call, type Json, readEvents } from "./support/marathon_api.ts";
import { MarathonProcess } from "./support/marathon_process.ts";

Deno.test("marathon --reconciliation-interval reconciles task states again and again; --local-port-min/max set the service ports", async () => {
  const cluster = await Cluster.start();
  const marathon = new MarathonProcess("marathon", [
    "--master",
    cluster.masterUrl,
    "--work-dir",
    `${cluster.root}/marathon`,
    "--reconciliation-interval",
    "1",
    "--local-port-min",
    "15000",
    "--local-port-max",
    "15009",
  ]);
  try {
    await cluster.addAgent([
      "--containerizer",
      "process",
      "--resources",
      "cpus:2;mem:1024;ports:[31000-31010]",
    ]);
    await marathon.start();
    const info = (await call(`${marathon.url}/v2/info`)).json.marathon_config;
    assert.deepEqual(
      [info.local_port_min, info.local_port_max, info.reconciliation_interval],
      [15000, 15009, 1000],
    );
    await waitFor(
      "Marathon to subscribe",
      async () => (await call(`${marathon.url}/v2/info`)).json.frameworkId,
    );
    const stream = readEvents(marathon.url, "status_update_event");
    try {
      const created = await call(`${marathon.url}/v2/apps`, "POST", {
        id: "/recon/web",
        cmd: "sleep 1000",
        cpus: 0.1,
        mem: 16,
        instances: 1,
        portDefinitions: [{ port: 0 }, { port: 0 }],
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const app = (await call(`${marathon.url}/v2/apps/recon/web`)).json.app;
      assert.deepEqual(app.portDefinitions.map((p: Json) => p.port), [15000, 15001]);
      const taskId = await waitFor("the task to run", async () => {
        const tasks = (await call(`${marathon.url}/v2/apps/recon/web/tasks`)).json.tasks;
        return tasks.find((t: Json) => t.state === "TASK_RUNNING")?.id as string | undefined;
      }, 60_000);
      // Each reconciliation brings the running task's state back from the master; Marathon
      // subscribed before the app existed, so these can only come from periodic passes.
      const reconciled = () =>
        stream.events.filter((e) =>
          e.data.taskId === taskId && /Reconciliation/.test(String(e.data.message))
        );
      await waitFor(
        "three reconciliations of the running task",
        () => reconciled().length >= 3,
        30_000,
      );
      assert.equal(cluster.master.exited, undefined);
    } finally {
      await stream.close();
    }
  } finally {
    await marathon.kill("SIGKILL");
    await cluster.stop();
  }
});

Deno.test("marathon refuses a --local-port-min above --local-port-max and a bad --reconciliation-interval, naming the flag", async () => {
  const run = async (...flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        "frameworks/marathon/main.ts",
        "--master",
        "http://127.0.0.1:1",
        ...flags,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const inverted = await run("--local-port-min", "20001", "--local-port-max", "20000");
  assert.equal(inverted.code, 2);
  assert.match(inverted.stderr, /--local-port-min \(20001\) must not be above --local-port-max/);
  const zero = await run("--reconciliation-interval", "0");
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--reconciliation-interval must be a positive number of seconds/);
  const port = await run("--local-port-max", "70000");
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--local-port-max must be a port number/);
});
