/**
 * Job run start latency: a real master and agent (process containerizer) and the jobs framework
 * as processes; `--runs` runs of one job, one after another, each timed from `POST
 * /v1/jobs/{id}/runs` until `GET …/runs/{runId}` shows its task TASK_RUNNING (polled every
 * 5 ms). Prints `metric value unit` lines (p50, p90, min, max). Not part of run_all.ts.
 *
 *   deno run -A --unstable-kv tests/bench/jobs_start.ts [--runs 20]
 */
import { parseArgs } from "node:util";
import { Cluster, waitFor } from "../support/cluster.ts";
import { JobsProcess } from "../support/jobs_process.ts";
import { call } from "../support/marathon_api.ts";

const RUNS = Number(
  parseArgs({ args: Deno.args, options: { runs: { type: "string", default: "20" } } }).values.runs,
);

const cluster = await Cluster.start();
const dir = await Deno.makeTempDir({ prefix: "jobs-bench-" });
const jobs = new JobsProcess("jobs", ["--master", cluster.masterUrl, "--work-dir", dir]);
try {
  await cluster.addAgent([
    "--containerizer",
    "process",
    "--resources",
    "cpus:4;mem:4096;disk:1024",
  ]);
  const url = await jobs.start();
  await call(`${url}/v1/jobs`, "POST", {
    id: "bench",
    run: { cmd: "sleep 0.5", cpus: 0.1, mem: 32, disk: 0 },
  });
  // The framework's subscription: one warm-up run that is not timed.
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const start = performance.now();
    const run = (await call(`${url}/v1/jobs/bench/runs`, "POST")).json;
    await waitFor(`run ${run.id} to be running`, async () => {
      const r = await call(`${url}/v1/jobs/bench/runs/${run.id}`);
      return r.json.tasks?.some((t: { status: string }) =>
        t.status === "TASK_RUNNING" || t.status === "TASK_FINISHED"
      );
    }, 60_000);
    if (i > 0) times.push(performance.now() - start);
    await waitFor("the run to end", async () => {
      const r = await call(`${url}/v1/jobs/bench/runs/${run.id}`);
      return r.json.status === "SUCCESS" || r.json.status === "FAILED";
    }, 60_000);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  console.log(`jobs_run_start_p50 ${q(0.5).toFixed(0)} ms`);
  console.log(`jobs_run_start_p90 ${q(0.9).toFixed(0)} ms`);
  console.log(`jobs_run_start_min ${times[0]!.toFixed(0)} ms`);
  console.log(`jobs_run_start_max ${times.at(-1)!.toFixed(0)} ms`);
  console.log(`jobs_run_start_runs ${times.length} runs`);
} finally {
  await jobs.kill();
  await cluster.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
