/**
 * The jobs framework end to end: a real master and agent (process containerizer) and the jobs
 * framework as its own process, driven through Metronome's API as its users do — runs to
 * success and to failure with retries, a schedule firing every second that honours
 * concurrencyPolicy while the framework is SIGKILLed and started again.
 */
import assert from "node:assert/strict";
import { processIo } from "../cli/io.ts";
import { runCli } from "../cli/run.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { JobsProcess } from "./support/jobs_process.ts";
import { call, type Json } from "./support/marathon_api.ts";

const AGENT_FLAGS = ["--containerizer", "process", "--resources", "cpus:8;mem:4096;disk:1024"];

async function withJobs(
  fn: (ctx: { jobs: JobsProcess; cluster: Cluster; dir: string }) => Promise<void>,
): Promise<void> {
  const cluster = await Cluster.start();
  const dir = await Deno.makeTempDir({ prefix: "jobs-e2e-" });
  const jobs = new JobsProcess("jobs", [
    "--master",
    cluster.masterUrl,
    "--work-dir",
    `${dir}/jobs`,
  ]);
  try {
    await cluster.addAgent(AGENT_FLAGS);
    await jobs.start();
    await fn({ jobs, cluster, dir });
  } catch (e) {
    console.error(jobs.process.log.slice(-40).join(""));
    throw e;
  } finally {
    await jobs.kill();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function job(id: string, cmd: string, extra: Record<string, unknown> = {}) {
  return { id, run: { cmd, cpus: 0.1, mem: 32, disk: 0, ...extra } };
}

/** Waits for the run to end and answers it as `GET …/runs/{id}` shows it. */
function ended(url: string, jobId: string, runId: string, timeoutMs = 30_000): Promise<Json> {
  return waitFor(`run ${runId} of ${jobId} to end`, async () => {
    const r = await call(`${url}/v1/jobs/${jobId}/runs/${runId}`);
    return r.json.status === "SUCCESS" || r.json.status === "FAILED" ? r.json : false;
  }, timeoutMs);
}

Deno.test("jobs: runs end in SUCCESS, in FAILED, and retry ON_FAILURE on a real cluster", async () => {
  await withJobs(async ({ jobs, dir }) => {
    const url = jobs.url;
    const counter = `${dir}/attempts`;
    const jobsToPost = [
      job("ok", "echo done"),
      job("fails", "exit 3"),
      // Fails twice, then succeeds: three tasks in one successful run.
      job(
        "flaky",
        `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]`,
        { restart: { policy: "ON_FAILURE" } },
      ),
      // Never succeeds: retried until its active deadline, then FAILED.
      job("hopeless", "exit 1", { restart: { policy: "ON_FAILURE", activeDeadlineSeconds: 3 } }),
    ];
    for (const j of jobsToPost) {
      assert.equal((await call(`${url}/v1/jobs`, "POST", j)).status, 201);
    }
    const runs = new Map<string, string>();
    for (const j of jobsToPost) {
      const r = await call(`${url}/v1/jobs/${j.id}/runs`, "POST");
      assert.equal(r.status, 201);
      runs.set(j.id, r.json.id);
    }
    const ok = await ended(url, "ok", runs.get("ok")!);
    assert.equal(ok.status, "SUCCESS");
    assert.equal(ok.tasks.length, 1);
    assert.equal(ok.tasks[0].status, "TASK_FINISHED");
    const fails = await ended(url, "fails", runs.get("fails")!);
    assert.equal(fails.status, "FAILED");
    assert.equal(fails.tasks.length, 1, "restart NEVER: one task");
    const flaky = await ended(url, "flaky", runs.get("flaky")!);
    assert.equal(flaky.status, "SUCCESS");
    assert.equal(flaky.tasks.length, 3);
    assert.deepEqual(flaky.tasks.map((t: Json) => t.status), [
      "TASK_FAILED",
      "TASK_FAILED",
      "TASK_FINISHED",
    ]);
    const hopeless = await ended(url, "hopeless", runs.get("hopeless")!);
    assert.equal(hopeless.status, "FAILED");
    assert.ok(hopeless.tasks.length >= 2, `retried (${hopeless.tasks.length} tasks)`);

    const summary = await call(`${url}/v1/jobs?embed=historySummary`);
    assert.deepEqual(
      summary.json.map((
        j: Json,
      ) => [j.id, j.historySummary.successCount, j.historySummary.failureCount]),
      [["fails", 0, 1], ["flaky", 1, 0], ["hopeless", 0, 1], ["ok", 1, 0]],
    );
    const history = await call(`${url}/v1/jobs/ok?embed=history`);
    assert.equal(history.json.history.successfulFinishedRuns[0].id, runs.get("ok"));
    assert.match(
      history.json.history.lastSuccessAt,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/,
    );

    // The CLI waits for a run and exits by its outcome.
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const io = {
        ...processIo(new AbortController().signal),
        out: (t: string) => void out.push(t),
        err: (t: string) => void out.push(t),
      };
      return { code: await runCli([...argv, "--jobs", url], io), out: out.join("") };
    };
    const good = await cli("jobs", "run", "ok", "--wait");
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /^Run \S+ of ok: SUCCESS after \d+s \(1 task\)\.\n$/);
    const bad = await cli("jobs", "run", "fails", "--wait");
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /FAILED/);
  });
});

/** One line a scheduled task wrote: which run, which tick, start or end, and when. */
interface Mark {
  run: string;
  tick: string;
  what: "start" | "end";
  at: number;
}

/** Metronome's `…T12:00:00.000+0000` as epoch ms. */
function time(text: string): number {
  return Date.parse(text.replace("+0000", "Z"));
}

async function marks(path: string): Promise<Mark[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.trim().split("\n").filter((l) => l).map((l) => {
    const [what, run, tick, at] = l.split(" ");
    return { what: what as Mark["what"], run: run!, tick: tick!, at: Number(at) };
  });
}

Deno.test("jobs: schedules fire on time and honour concurrencyPolicy across a framework restart", async () => {
  await withJobs(async ({ jobs, dir }) => {
    const log = (name: string) => `${dir}/${name}.log`;
    const marked = (name: string, seconds: number) =>
      `echo "start $TENDER_JOB_RUN_ID $TENDER_JOB_SCHEDULED_AT $(date +%s.%N)" >> ${log(name)}; ` +
      `sleep ${seconds}; ` +
      `echo "end $TENDER_JOB_RUN_ID $TENDER_JOB_SCHEDULED_AT $(date +%s.%N)" >> ${log(name)}`;
    const every = (
      policy: string,
    ) => [{ id: "every-second", cron: "* * * * * *", concurrencyPolicy: policy }];
    await call(`${jobs.url}/v1/jobs`, "POST", {
      ...job("forbid", marked("forbid", 3)),
      schedules: every("FORBID"),
    });
    await call(`${jobs.url}/v1/jobs`, "POST", {
      ...job("allow", marked("allow", 2)),
      schedules: every("ALLOW"),
    });

    await waitFor("the first scheduled runs", async () => {
      const r = await call(`${jobs.url}/v1/jobs/allow/runs`);
      return r.json.length > 0;
    });

    // ALLOW overlaps runs (2 s each, one per second); FORBID never does.
    await waitFor(
      "ALLOW to run two at once",
      async () => (await call(`${jobs.url}/v1/jobs/allow/runs`)).json.length >= 2,
    );
    const forbidActive = await waitFor("a FORBID run to be running", async () => {
      const r = await call(`${jobs.url}/v1/jobs/forbid/runs`);
      return r.json.length === 1 && r.json[0].tasks[0]?.status === "TASK_RUNNING"
        ? r.json[0]
        : false;
    });

    // SIGKILL the framework mid-run, leave it down for 2 s, start it again on its store.
    const killedAt = Date.now();
    await jobs.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 2_000));
    await jobs.start();
    // The run in flight is neither lost nor started again: it ends, once, in the history.
    const survivor = await ended(jobs.url, "forbid", forbidActive.id);
    assert.equal(survivor.status, "SUCCESS");
    await waitFor("FORBID to start runs after the restart", async () => {
      const h = await call(`${jobs.url}/v1/jobs/forbid?embed=history`);
      return h.json.history.successCount >= 2;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 3_000));
    // On time: before the restart, each run was created soon after its tick (after the restart
    // the tick missed while down starts late, once).
    const history = (await call(`${jobs.url}/v1/jobs/allow?embed=history`)).json.history;
    const createdAt = new Map<string, number>(
      history.successfulFinishedRuns.map((r: Json) => [r.id, time(r.createdAt)]),
    );
    const late = (await marks(log("allow")))
      .filter((m) => m.what === "start" && (createdAt.get(m.run) ?? Infinity) < killedAt)
      .map((m) => createdAt.get(m.run)! - Date.parse(m.tick))
      .sort((a, b) => a - b);
    assert.ok(late.length >= 2, `${late.length} runs before the restart`);
    const median = late[Math.floor(late.length / 2)]!;
    console.log(`# runs created after their ticks: median ${median} ms, max ${late.at(-1)} ms`);
    // A second late would be the next tick's time: generous bounds, for busy CI machines.
    assert.ok(late.every((ms) => ms >= 0 && ms < 2_000), `created after their ticks: ${late} ms`);
    assert.ok(median < 500, `median lateness of ${late.join(" ")} ms`);

    for (const name of ["forbid", "allow"]) {
      await call(`${jobs.url}/v1/jobs/${name}?stopCurrentJobRuns=true`, "DELETE");
    }

    // No tick started twice, in either job, across the restart.
    for (const name of ["forbid", "allow"]) {
      const starts = (await marks(log(name))).filter((m) => m.what === "start");
      const ticks = starts.map((m) => m.tick);
      assert.equal(new Set(ticks).size, ticks.length, `${name}: a tick started twice: ${ticks}`);
      const runs = starts.map((m) => m.run);
      assert.equal(new Set(runs).size, runs.length, `${name}: a run started twice`);
    }
    // FORBID: each run started after the one before it ended (restart included).
    const forbid = (await marks(log("forbid"))).sort((a, b) => a.at - b.at);
    let open: string | undefined;
    for (const m of forbid) {
      if (m.what === "start") {
        assert.equal(open, undefined, `FORBID: ${m.run} started while ${open} ran`);
        open = m.run;
      } else if (m.run === open) open = undefined;
    }
    assert.ok(forbid.filter((m) => m.what === "start").length >= 3);
    // ALLOW did overlap.
    const allow = (await marks(log("allow"))).sort((a, b) => a.at - b.at);
    let running = 0, most = 0;
    for (const m of allow) {
      running += m.what === "start" ? 1 : -1;
      most = Math.max(most, running);
    }
    assert.ok(most >= 2, `ALLOW ran at most ${most} at once`);
  });
});
