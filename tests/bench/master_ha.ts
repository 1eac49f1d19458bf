/**
 * The figures of the high-availability issue, on real processes (a 3-member etcd, masters,
 * agents with the simulated containerizer, a framework on the SDK). Prints `metric value unit`:
 *
 * - `master_failover_ms`: SIGKILL of the leading master → a new leader serving, every agent
 *   re-registered and the framework re-subscribed (median of `--runs`, default 5);
 * - `master_launch_tasks_per_s{store=…}`: tasks launched through the master to TASK_RUNNING per
 *   second, with every update acknowledged, on Deno KV and on etcd in the same run, and their ratio.
 *
 * `deno run -A --unstable-kv tests/bench/master_ha.ts [--runs 5] [--tasks 2000]`
 */
import { parseArgs } from "node:util";
import { taskInfo } from "../../mod.ts";
import { Cluster, waitFor } from "../support/cluster.ts";
import { hasEtcd } from "../support/etcd_cluster.ts";
import { HaCluster } from "../support/ha_cluster.ts";
import { RecordingFramework } from "../support/recording_framework.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" }, tasks: { type: "string", default: "2000" } },
});
const RUNS = Number(values.runs);
const TASKS = Number(values.tasks);
const SIM = ["--containerizer", "simulated", "--resources", "cpus:1000;mem:1000000;disk:0"];

if (!hasEtcd()) {
  console.log("# master_ha: no etcd binary here, skipped");
  Deno.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Launches `TASKS` tiny tasks through `master` and answers tasks/s to all RUNNING. */
async function launchRate(master: string): Promise<number> {
  const fw = new RecordingFramework(master);
  try {
    await fw.driver.start();
    const running = new Set<string>();
    let seen = 0;
    const started = performance.now();
    let launched = 0;
    while (launched < TASKS) {
      const offer = await fw.takeOffer();
      const n = Math.min(250, TASKS - launched);
      const tasks = Array.from({ length: n }, (_, i) =>
        taskInfo({
          name: "t",
          taskId: `t-${launched + i}`,
          agentId: offer.agent_id.value,
          cpus: 0.01,
          mem: 1,
          command: "sleep 600",
        }));
      await fw.driver.launch([offer.id.value], tasks);
      launched += n;
    }
    await waitFor(`${TASKS} tasks running`, () => {
      for (; seen < fw.updates.length; seen++) {
        const u = fw.updates[seen]!;
        if (u.state === "TASK_RUNNING") running.add(u.task_id.value);
      }
      return running.size === TASKS;
    }, 300_000);
    return TASKS / ((performance.now() - started) / 1000);
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
  }
}

// Launch rate, Deno KV then etcd, in the same run.
const kv = await Cluster.start();
let kvRate: number;
try {
  for (let i = 0; i < 2; i++) await kv.addAgent(SIM);
  kvRate = await launchRate(kv.masterUrl);
} finally {
  await kv.stop();
}
console.log(`master_launch_tasks_per_s{store="deno-kv"} ${kvRate.toFixed(0)} tasks/s`);

const ha = await HaCluster.start();
try {
  for (let i = 0; i < 2; i++) await ha.addAgent(SIM);
  const etcdRate = await launchRate(ha.masterList);
  console.log(`master_launch_tasks_per_s{store="etcd"} ${etcdRate.toFixed(0)} tasks/s`);
  console.log(`master_launch_kv_over_etcd ${(kvRate / etcdRate).toFixed(2)} ratio`);

  // Failover: a framework stays subscribed (failover_timeout) across each leader kill.
  const fw = new RecordingFramework(ha.masterList, { failover_timeout: 600 });
  await fw.driver.start();
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const old = await ha.waitForLeader();
    const subscriptions = fw.subscriptions;
    const t0 = performance.now();
    await ha.masters[old]!.kill("SIGKILL");
    await waitFor("a new leader with every agent and the framework back", async () => {
      const state = await ha.state();
      return state && fw.subscriptions > subscriptions &&
        state.slaves.length === 2 &&
        state.slaves.every((s: { active: boolean }) => s.active) &&
        state.frameworks.some((f: { active: boolean }) => f.active);
    }, 60_000);
    times.push(performance.now() - t0);
    console.log(`# failover ${run + 1}: ${Math.round(times.at(-1)!)} ms`);
    ha.masters[old]!.start(); // back as a standby
  }
  await fw.driver.stop().catch(() => {});
  console.log(`master_failover_ms ${Math.round(median(times))} ms`);
} finally {
  await ha.stop();
}
