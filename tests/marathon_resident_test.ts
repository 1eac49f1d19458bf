/**
 * Marathon resident apps end to end: a real master and agent (process containerizer) as
 * processes, Marathon in-process with `--mesos-role`. The example app
 * (examples/apps/counter-volume.json) appends a line to its persistent volume each time it
 * starts: the count grows across a kill and an agent restart on the same agent and volume, the
 * reservation stays in the master's state while the app is suspended, and deleting the app
 * destroys the volume and frees the reservation. With the process containerizer (a plain
 * command), and with Docker (the busybox test image; ignored, visibly, where no Docker answers).
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, killProcessTasks, waitFor } from "./support/cluster.ts";
import { ensureTestImage, IMAGE, noDocker, removeContainersOf } from "./docker_helpers.ts";
import { call, type Json } from "./support/marathon_api.ts";

const ROLE = "stateful";
const APP = "/stateful/counter";

async function residentApp(containerizer: "process" | "docker"): Promise<void> {
  const cluster = await Cluster.start();
  const workDir = await Deno.makeTempDir({ prefix: "marathon-resident-e2e-" });
  const marathon = await startMarathon({
    master: cluster.masterUrl,
    port: 0,
    workDir,
    tickMs: 200,
    role: ROLE,
  });
  try {
    const agent = await cluster.addAgent([
      "--containerizer",
      containerizer,
      "--resources",
      "cpus:2;mem:1024;disk:1024;ports:[31000-31099]",
    ]);
    await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
    const info = await call(`${marathon.url}/v2/info`);
    assert.equal(info.json.marathon_config.mesos_role, ROLE);

    const example = JSON.parse(
      await Deno.readTextFile(new URL("../examples/apps/counter-volume.json", import.meta.url)),
    );
    const body = containerizer === "process" ? example : {
      ...example,
      // The volume is at data/ in the sandbox, mounted at $MESOS_SANDBOX in the container.
      cmd: `cd "$MESOS_SANDBOX" && ${example.cmd}`,
      container: { ...example.container, type: "DOCKER", docker: { image: IMAGE } },
    };
    const created = await call(`${marathon.url}/v2/apps`, "POST", body);
    assert.equal(created.status, 201, JSON.stringify(created.json));

    const tasks = async (): Promise<Json[]> =>
      (await call(`${marathon.url}/v2/apps${APP}/tasks`)).json.tasks;
    const running = (but?: string) =>
      waitFor(`${APP} to run${but ? ` a task other than ${but}` : ""}`, async () => {
        const [t] = await tasks();
        return t?.state === "TASK_RUNNING" && t.id !== but ? t : false;
      }, 90_000);
    const lines = async (path: string) =>
      (await Deno.readTextFile(path).catch(() => "")).split("\n").filter(Boolean).length;
    const counted = (path: string, n: number) =>
      waitFor(`${n} lines on the volume`, async () => (await lines(path)) === n, 30_000);

    // First launch: reserved for the role, the volume created and mounted at data/.
    const first = await running();
    assert.equal(first.localVolumes.length, 1);
    const { containerPath, persistenceId } = first.localVolumes[0];
    assert.equal(containerPath, "data");
    assert.match(persistenceId, /^stateful_counter#data#/);
    const log = `${cluster.root}/agent-0/volumes/roles/${ROLE}/${persistenceId}/log`;
    await counted(log, 1);
    const reserved = async () => {
      const s = (await cluster.state()).slaves[0];
      return { flat: s.reserved_resources[ROLE], full: s.reserved_resources_full[ROLE] ?? [] };
    };
    const atFirst = await reserved();
    assert.equal(atFirst.flat?.cpus, 0.05);
    assert.equal(atFirst.flat?.disk, 16);
    assert.ok(atFirst.full.some((r: Json) => r.disk?.persistence?.id === persistenceId));
    assert.ok(
      atFirst.full.every((r: Json) =>
        r.reservations?.[0]?.labels?.labels?.some((l: Json) =>
          l.key === "marathon_task_id" && first.id.startsWith(l.value)
        )
      ),
      "labelled with the instance",
    );

    // The task is killed: relaunched on the same agent and volume; the data is still there.
    await marathon.driver.kill(first.id);
    const second = await running(first.id);
    assert.equal(second.slaveId, first.slaveId);
    assert.deepEqual(second.localVolumes, first.localVolumes);
    await counted(log, 2);

    // The agent dies with its tasks and comes back: same agent, same reservation, same data.
    await agent.kill("SIGKILL");
    await killProcessTasks(`${cluster.root}/agent-0`);
    await removeContainersOf(marathon.driver.frameworkId);
    agent.start();
    const third = await running(second.id);
    assert.equal(third.slaveId, first.slaveId);
    assert.deepEqual(third.localVolumes, first.localVolumes);
    await counted(log, 3);

    // Suspended: no task, the reservation and the volume kept (master state, Marathon's tasks).
    const suspend = await call(`${marathon.url}/v2/apps${APP}`, "PATCH", { instances: 0 });
    assert.equal(suspend.status, 200);
    const waiting = await waitFor("the instance to wait on its reservation", async () => {
      const [t] = await tasks();
      return t && t.state === "TASK_STAGING" && t.startedAt === undefined ? t : false;
    }, 60_000);
    assert.deepEqual(waiting.localVolumes, first.localVolumes);
    const app = (await call(`${marathon.url}/v2/apps${APP}?embed=apps.tasks`)).json.app;
    assert.equal(app.tasksRunning, 0);
    assert.equal(app.tasks.length, 1, "the suspended instance is listed");
    assert.ok((await reserved()).full.some((r: Json) => r.disk?.persistence?.id === persistenceId));
    assert.equal(await lines(log), 3);

    // Scaled up again: the same reservation and volume.
    await call(`${marathon.url}/v2/apps${APP}`, "PATCH", { instances: 1 });
    const fourth = await running(third.id);
    assert.equal(fourth.slaveId, first.slaveId);
    assert.deepEqual(fourth.localVolumes, first.localVolumes);
    await counted(log, 4);

    // Deleted: the volume destroyed and the reservation freed.
    const deleted = await call(`${marathon.url}/v2/apps${APP}`, "DELETE");
    assert.equal(deleted.status, 200);
    await waitFor("the reservation to be freed", async () => {
      const { flat, full } = await reserved();
      return flat === undefined && full.length === 0;
    }, 60_000);
    await waitFor("the volume's directory to go", async () => {
      try {
        await Deno.stat(log);
        return false;
      } catch {
        return true;
      }
    }, 30_000);
    const state = await cluster.state();
    const fw = state.frameworks.find((f: Json) => f.id === marathon.driver.frameworkId);
    assert.equal((fw?.tasks ?? []).length, 0);
  } catch (e) {
    // What Marathon, the master and the agent saw, for a failure's report.
    const tasks = await call(`${marathon.url}/v2/apps${APP}/tasks`).catch(() => undefined);
    const fws = await cluster.state().then((s) => s.frameworks, () => undefined);
    console.error(JSON.stringify({ tasks: tasks?.json, frameworks: fws }, null, 1).slice(0, 8000));
    console.error(cluster.agents[0]?.log.slice(-40).join(""));
    throw e;
  } finally {
    const frameworkId = marathon.driver.frameworkId;
    await marathon.stop();
    await removeContainersOf(frameworkId);
    await cluster.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

Deno.test(
  "a Marathon resident app keeps its volume's data across kills, agent restarts and suspension, and frees it when deleted",
  () => residentApp("process"),
);

Deno.test({
  name:
    "a Marathon resident Docker app keeps its volume's data across kills and agent restarts (needs Docker)",
  ignore: noDocker,
  fn: async () => {
    await ensureTestImage();
    await residentApp("docker");
  },
});
