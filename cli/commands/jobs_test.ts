import assert from "node:assert/strict";
import { jobsApi, JobsCore, JobsRuntime, JobsStore } from "../../frameworks/jobs/mod.ts";
import { createLogger, FakeClock, SequentialIds } from "../../base/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import type { Io } from "../io.ts";
import { runCli } from "../run.ts";

/** The CLI against an in-memory jobs API (no driver: runs stay STARTING unless finished here). */
async function withCli(
  fn: (
    cli: (...argv: string[]) => Promise<{ code: number; out: string; err: string }>,
    runtime: JobsRuntime,
  ) => Promise<void>,
) {
  const kv = await DenoKvStore.open(":memory:");
  const clock = new FakeClock(Date.now());
  const runtime = await JobsRuntime.start({
    makeCore: () => new JobsCore({ clock, ids: new SequentialIds() }),
    store: new JobsStore(kv),
    clock,
    log: createLogger({ component: "jobs", level: "error" }),
  });
  const api = jobsApi({ runtime, hostPort: () => "jobs.test:9000" });
  const cli = async (...argv: string[]) => {
    const out: string[] = [], err: string[] = [];
    const io: Io = {
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
      env: (name) => name === "TENDER_JOBS" ? "jobs.test:9000" : undefined,
      fetch: (input, init) => {
        const url = new URL(String(input));
        assert.equal(url.host, "jobs.test:9000");
        return Promise.resolve(api.request(url.pathname + url.search, init));
      },
      signal: new AbortController().signal,
      isTerminal: () => false,
    };
    const code = await runCli(argv, io);
    return { code, out: out.join(""), err: err.join("") };
  };
  try {
    await fn(cli, runtime);
  } finally {
    kv.close();
  }
}

Deno.test("tender jobs add/list/show/run/history speak Metronome's API", async () => {
  await withCli(async (cli, runtime) => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/job.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        id: "prod.report",
        run: { cmd: "make report", cpus: 0.5, mem: 64, disk: 0 },
        schedules: [{ id: "daily", cron: "0 6 * * *", timezone: "Europe/Paris" }],
      }),
    );
    assert.deepEqual(await cli("jobs", "add", file), {
      code: 0,
      out: "Job prod.report created.\n",
      err: "",
    });
    // Adding again updates, schedules included.
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        id: "prod.report",
        run: { cmd: "make report", cpus: 0.5, mem: 64, disk: 0 },
        schedules: [{ id: "daily", cron: "0 7 * * *", timezone: "Europe/Paris" }],
      }),
    );
    assert.equal((await cli("jobs", "add", file)).out, "Job prod.report updated.\n");
    assert.equal(runtime.core.job("prod.report").schedules[0]?.cron, "0 7 * * *");

    const list = await cli("jobs");
    assert.equal(list.code, 0);
    assert.match(list.out, /^ID\s+SCHEDULE\s+NEXT RUN/);
    assert.match(list.out, /prod\.report\s+0 7 \* \* \* Europe\/Paris/);

    const run = await cli("jobs", "run", "prod.report");
    assert.match(run.out, /^Run \d{14}\w{5} of prod\.report started\.\n$/);
    const show = await cli("jobs", "show", "prod.report");
    assert.match(show.out, /Run:\s+make report/);
    assert.match(show.out, /Schedule:\s+daily: 0 7 \* \* \* \(Europe\/Paris\), ALLOW/);
    assert.match(show.out, /STARTING/);

    const runId = runtime.core.activeRuns()[0]!.id;
    await runtime.run((core) => core.stopRun("prod.report", runId));
    const history = await cli("jobs", "history", "prod.report");
    assert.match(history.out, /^0 succeeded \(last never\), 1 failed/);
    assert.match(history.out, new RegExp(`${runId}\\s+FAILED`));
    const json = await cli("jobs", "history", "prod.report", "--json");
    assert.equal(JSON.parse(json.out).failureCount, 1);

    const missing = await cli("jobs", "show", "nope");
    assert.equal(missing.code, 1);
    assert.match(
      missing.err,
      /refused \/v1\/jobs\/nope\?embed=activeRuns&embed=historySummary \(404\): Job not found/,
    );
    assert.equal((await cli("jobs", "show", "Bad_Id")).code, 2);
    await Deno.remove(dir, { recursive: true });
  });
});
