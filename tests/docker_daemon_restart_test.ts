/**
 * An agent survives a Docker daemon restart: the task whose container the restart ended is
 * reported terminal, and new tasks launch once the engine is back. Restarts the machine's
 * dockerd, so it runs only where this test may do that (root, a dockerd it can find); it is
 * ignored, visibly, elsewhere.
 */
import assert from "node:assert/strict";
import { probeDocker } from "../agent/containerizer/docker.ts";
import { taskInfo } from "../mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const SOCKET = "/var/run/docker.sock";

async function dockerdPid(): Promise<number | undefined> {
  const out = await new Deno.Command("pgrep", { args: ["-x", "dockerd"], stdout: "piped" }).output()
    .catch(() => undefined);
  const pid = Number(
    new TextDecoder().decode(out?.stdout ?? new Uint8Array()).trim().split("\n")[0],
  );
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const canRestart = Deno.uid() === 0 && await probeDocker(SOCKET) &&
  (await dockerdPid()) !== undefined;

async function restartDockerd(): Promise<void> {
  const pid = (await dockerdPid())!;
  Deno.kill(pid, "SIGTERM");
  await waitFor("dockerd to stop", async () => (await dockerdPid()) === undefined, 60_000);
  const child = new Deno.Command("dockerd", { stdout: "null", stderr: "null", stdin: "null" })
    .spawn();
  child.unref();
  await waitFor("dockerd to answer again", () => probeDocker(SOCKET), 60_000);
}

Deno.test({
  name: "an agent survives a Docker daemon restart (restarts dockerd; needs root and Docker)",
  ignore: !canRestart,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = await Cluster.start();
    const fw = new RecordingFramework(cluster.masterUrl);
    try {
      const agent = await cluster.addAgent([
        "--containerizer",
        "docker",
        "--resources",
        "cpus:2;mem:1024;ports:[31000-31099]",
      ]);
      await fw.driver.start();
      const launch = async (id: string) => {
        const offer = await fw.takeOffer();
        await fw.driver.launch([offer.id.value], [taskInfo({
          name: id,
          taskId: id,
          agentId: offer.agent_id.value,
          cpus: 0.1,
          mem: 32,
          command: "sleep 3600",
          docker: { image: "tender-busybox:latest" },
        })]);
        await fw.waitForState(id, "TASK_RUNNING", 60_000);
      };
      await launch("before");
      await restartDockerd();
      // The daemon's shutdown stopped the container: the framework hears that it ended.
      await waitFor(
        "the task to be reported ended",
        () =>
          ["TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_FINISHED"].includes(
            fw.states("before").at(-1) ?? "",
          ),
        60_000,
      );
      assert.notEqual(agent.pid, undefined);
      await launch("after");
      assert.equal((await cluster.state()).slaves[0].active, true, "the agent stayed registered");
      await fw.driver.kill("after");
      await fw.waitForState("after", "TASK_KILLED", 60_000);
    } finally {
      await fw.driver.stop({ teardown: true }).catch(() => {});
      await cluster.stop();
    }
  },
});
