/**
 * Launch latency through Tender against Docker directly, in one run: N `sleep 3600` busybox
 * containers launched by a framework through a real master and agent (processes), timed from
 * ACCEPT until the framework has seen every task RUNNING; then the same N containers started
 * straight through the Engine API at the same concurrency (the agent starts all at once).
 * Alternates the two, `rounds` times, and prints medians and their ratio.
 * Target: Tender at most 1.25 times the direct time.
 *
 *   deno run -A --unstable-kv tests/bench/docker_launch.ts [--tasks 50] [--rounds 3]
 */
import { parseArgs } from "node:util";
import { probeDocker } from "../../agent/containerizer/docker.ts";
import { taskInfo } from "../../mod.ts";
import { Cluster, waitFor } from "../support/cluster.ts";
import { RecordingFramework } from "../support/recording_framework.ts";
import { startContainersDirect } from "./docker_direct.ts";

const args = parseArgs({
  args: Deno.args,
  options: { tasks: { type: "string", default: "50" }, rounds: { type: "string", default: "3" } },
}).values;
const N = Number(args.tasks);
const ROUNDS = Number(args.rounds);

if (!await probeDocker("/var/run/docker.sock")) {
  console.log("# docker_launch: skipped, no Docker engine answers");
  Deno.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function throughTender(cluster: Cluster, round: number): Promise<number> {
  const fw = new RecordingFramework(cluster.masterUrl, { name: `bench-${round}` });
  await fw.driver.start();
  try {
    const offer = await fw.takeOffer();
    const tasks = Array.from({ length: N }, (_, i) =>
      taskInfo({
        name: `b${round}-${i}`,
        taskId: `b${round}-${i}`,
        agentId: offer.agent_id.value,
        cpus: 0.01,
        mem: 8,
        command: "sleep 3600",
        docker: { image: "tender-busybox:latest", network: "BRIDGE" },
      }));
    const start = performance.now();
    await fw.driver.launch([offer.id.value], tasks);
    await waitFor(`${N} tasks RUNNING`, () => {
      const running = new Set(
        fw.updates.filter((u) => u.state === "TASK_RUNNING").map((u) => u.task_id.value),
      );
      const failed = fw.updates.find((u) => u.state === "TASK_FAILED");
      if (failed) throw new Error(`task ${failed.task_id.value} failed: ${failed.message}`);
      return running.size === N;
    }, 120_000);
    return performance.now() - start;
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    // Teardown kills the containers; wait until the agent has removed them.
    await waitFor("the bench containers to go", async () => {
      const out = await new Deno.Command("docker", {
        args: ["ps", "-aq", "--filter", `label=tender.framework_id=${fw.driver.frameworkId}`],
      }).output();
      return new TextDecoder().decode(out.stdout).trim() === "";
    }, 120_000).catch(() => {});
  }
}

const cluster = await Cluster.start();
const tender: number[] = [];
const direct: number[] = [];
try {
  await cluster.addAgent([
    "--containerizer",
    "docker",
    "--resources",
    "cpus:4;mem:4096;ports:[31000-31099]",
  ]);
  for (let round = 0; round < ROUNDS; round++) {
    tender.push(await throughTender(cluster, round));
    direct.push(await startContainersDirect(N, N));
  }
} finally {
  await cluster.stop();
}
console.log(`tender_launch_${N} ${Math.round(median(tender))} ms`);
console.log(`direct_launch_${N} ${Math.round(median(direct))} ms`);
console.log(`launch_ratio ${(median(tender) / median(direct)).toFixed(2)} x`);
console.log(`tender_launch_all ${tender.map(Math.round).join(",")} ms`);
console.log(`direct_launch_all ${direct.map(Math.round).join(",")} ms`);
