/**
 * Issue 16's figures, in one run:
 * 1. Launch cost of the containerd containerizer against raw CRI: N busybox `sleep 3600` tasks to
 *    running, each in its own pod with a CNI network, at the same concurrency, (a) by raw CRI calls
 *    (RunPodSandbox + CreateContainer + StartContainer, the same configs) and (b) through
 *    `ContainerdContainerizer.launch()`. Pairs alternate which goes first; medians over the pairs.
 * 2. Through Marathon (`containerd_marathon.ts`): the same N-instance app to running on a
 *    containerd agent and on a Docker agent, against the same N pods by raw CRI calls all at once
 *    (as the agent starts what Marathon sends it), and a killed container until Marathon's
 *    replacement runs, on each.
 * Runs against a private containerd it starts and removes.
 *
 *     deno run -A --unstable-kv tests/bench/containerd_launch.ts [n=50] [concurrency=8] [pairs=3]
 *       [kills=5]
 *     → containerd_raw_cri_start_50 <ms> ms
 *       containerd_containerizer_start_50 <ms> ms
 *       containerd_containerizer_vs_raw_ratio <r> x     (target ≤ 1.1)
 *       marathon_containerd_launch_50 <ms> ms
 *       marathon_docker_launch_50 <ms> ms
 *       marathon_containerd_vs_docker_ratio <r> x
 *       raw_cri_start_50_at_50 <ms> ms
 *       marathon_containerd_vs_raw_cri_ratio <r> x
 *       marathon_containerd_kill_to_replacement_running <ms> ms
 *       marathon_docker_kill_to_replacement_running <ms> ms
 */
import type { ContainerSpec } from "../../agent/containerizer/containerizer.ts";
import { ContainerdContainerizer } from "../../agent/containerizer/containerd.ts";
import { containerConfig, sandboxConfig } from "../../agent/containerizer/containerd_spec.ts";
import { probeDocker } from "../../agent/containerizer/docker.ts";
import { CRI_TEST_IMAGE, noContainerdReason, startContainerd } from "../support/containerd.ts";
import { SOCKET } from "../docker_helpers.ts";
import { marathonOnBothEngines, median } from "./containerd_marathon.ts";

const n = Number(Deno.args[0] ?? 50);
const concurrency = Number(Deno.args[1] ?? 8);
const pairs = Number(Deno.args[2] ?? 3);
const kills = Number(Deno.args[3] ?? 5);
if (noContainerdReason) {
  console.error(`containerd_launch: skipped (${noContainerdReason})`);
  Deno.exit(0);
}
if (!await probeDocker(SOCKET)) {
  console.error("containerd_launch: skipped (no Docker engine answers, for the Docker side)");
  Deno.exit(0);
}

const ctd = await startContainerd();
const sandboxes = await Deno.makeTempDir({ prefix: "tender-bench-ctd-" });
const c = new ContainerdContainerizer({
  socketPath: ctd.socket,
  owner: "bench",
  node: ctd.node,
  cpuQuota: false,
});
const cri = c.cri;

/** A task's spec; with `port`, bridged with that host port published (as Marathon's default). */
function spec(id: string, port?: number): ContainerSpec {
  const mappings = port === undefined ? [] : [{ host_port: port, container_port: port }];
  return {
    agentId: "bench-agent",
    frameworkId: "bench",
    taskId: id,
    command: { value: "sleep 3600" },
    container: {
      type: "DOCKER",
      docker: { image: CRI_TEST_IMAGE, network: "BRIDGE", port_mappings: mappings },
    },
    limits: { cpus: 0.1, memMb: 32, diskMb: 0 },
    ports: port === undefined ? [] : [port],
    env: { MESOS_TASK_ID: id },
    hostIp: "127.0.0.1",
    sandbox: `${sandboxes}/${id}`,
  };
}

/** Runs `work(i)` for i < n with at most `width` at once; resolves with the elapsed ms. */
async function timed(work: (i: number) => Promise<unknown>, width = concurrency): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await work(next++);
  }));
  return performance.now() - started;
}

/**
 * N tasks by raw CRI calls, `width` at once; with `ports`, each publishes a host port (from
 * 32700) as a bridged Marathon app's task does.
 */
async function raw(round: string, width = concurrency, ports = false): Promise<number> {
  // The same configs the containerizer sends, under an owner of their own.
  const ids = Array.from({ length: n }, (_, i) => `raw-${round}-${i}`);
  await Promise.all(ids.map((id) => Deno.mkdir(`${sandboxes}/${id}`, { recursive: true })));
  const ms = await timed(async (i) => {
    const id = ids[i]!;
    const task = spec(id, ports ? 32700 + i : undefined);
    const options = { id, owner: "bench-raw", sandbox: `${sandboxes}/${id}`, cpuQuota: false };
    const pod = sandboxConfig(task, options);
    const podId = await cri.runPodSandbox(pod, { timeoutMs: 120_000 });
    const container = await cri.createContainer(
      podId,
      containerConfig(task, CRI_TEST_IMAGE, options),
      pod,
    );
    await cri.startContainer(container);
  }, width);
  await removeAll("bench-raw");
  return ms;
}

async function viaContainerizer(round: number): Promise<number> {
  const ids = Array.from({ length: n }, (_, i) => `ctz-${round}-${i}`);
  const ms = await timed((i) => c.launch(ids[i]!, spec(ids[i]!)));
  await Promise.all(ids.map((id) => c.destroy(id, 0)));
  return ms;
}

async function removeAll(owner: string): Promise<void> {
  const pods = await cri.listPodSandboxes({ "tender.owner": owner });
  await Promise.all(pods.map(async (p) => {
    await cri.stopPodSandbox(p.id, { timeoutMs: 60_000 });
    await cri.removePodSandbox(p.id, { timeoutMs: 60_000 });
  }));
}

try {
  // Warm-up: the node is prepared (sandbox image, CNI) and one pod of each kind has run.
  await c.launch("warm", spec("warm"));
  await c.destroy("warm", 0);
  const raws: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < pairs; round++) {
    if (round % 2 === 0) {
      raws.push(await raw(String(round)));
      ours.push(await viaContainerizer(round));
    } else {
      ours.push(await viaContainerizer(round));
      raws.push(await raw(String(round)));
    }
  }
  const r = median(raws), o = median(ours);
  console.log(`containerd_raw_cri_start_${n} ${r.toFixed(0)} ms`);
  console.log(`containerd_containerizer_start_${n} ${o.toFixed(0)} ms`);
  console.log(`containerd_containerizer_vs_raw_ratio ${(o / r).toFixed(3)} x`);
  console.log(`containerd_raw_cri_per_task ${(r / n).toFixed(1)} ms`);
  console.log(`containerd_containerizer_per_task ${(o / n).toFixed(1)} ms`);
  await marathonOnBothEngines(
    ctd,
    // Raw CRI beside Marathon: all N at once, as the agent starts what Marathon sends it.
    { n, pairs, kills, rawCri: (pair) => raw(`m${pair}`, n, true) },
    (metric, value, unit) => console.log(`${metric} ${value} ${unit}`),
  );
} finally {
  c.close();
  await ctd.stop();
  await Deno.remove(sandboxes, { recursive: true }).catch(() => undefined);
}
