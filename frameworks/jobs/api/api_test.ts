import assert from "node:assert/strict";
import { createLogger, FakeClock, SequentialIds } from "../../../base/mod.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { JobsCore } from "../core/jobs_core.ts";
import { type DriverPort, JobsRuntime } from "../runtime.ts";
import { JobsStore } from "../store/jobs_store.ts";
import { jobsApi } from "./api.ts";

const START = Date.parse("2024-03-01T12:00:00Z");

/** Records the driver calls the runtime makes. */
class FakeDriver implements DriverPort {
  readonly calls: string[] = [];
  launch() {
    this.calls.push("launch");
    return Promise.resolve();
  }
  decline() {
    this.calls.push("decline");
    return Promise.resolve();
  }
  kill(taskId: string) {
    this.calls.push(`kill ${taskId}`);
    return Promise.resolve();
  }
  reconcile() {
    this.calls.push("reconcile");
    return Promise.resolve();
  }
  revive() {
    this.calls.push("revive");
    return Promise.resolve();
  }
  suppress() {
    this.calls.push("suppress");
    return Promise.resolve();
  }
}

// deno-lint-ignore no-explicit-any -- response bodies are read loosely by the tests
type Json = any;

async function withApi(
  fn: (
    call: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: Json }>,
    ctx: { clock: FakeClock; runtime: JobsRuntime; driver: FakeDriver; kv: DenoKvStore },
  ) => Promise<void>,
) {
  const kv = await DenoKvStore.open(":memory:");
  const clock = new FakeClock(START);
  const runtime = await JobsRuntime.start({
    makeCore: () => new JobsCore({ clock, ids: new SequentialIds() }),
    store: new JobsStore(kv),
    clock,
    log: createLogger({ component: "jobs", level: "error" }),
  });
  const driver = new FakeDriver();
  runtime.driver = driver;
  const api = jobsApi({ runtime, hostPort: () => "127.0.0.1:9000" });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await api.request(path, {
      method,
      ...(body !== undefined
        ? { body: typeof body === "string" ? body : JSON.stringify(body) }
        : {}),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  try {
    await fn(call, { clock, runtime, driver, kv });
    await runtime.settled();
  } finally {
    kv.close();
  }
}

const JOB = { id: "prod.backup", run: { cmd: "echo hi", cpus: 0.5, mem: 64, disk: 0 } };

Deno.test("POST /v1/jobs answers 201 with Metronome's defaults, and 409 for the same id", async () => {
  await withApi(async (call) => {
    const created = await call("POST", "/v1/jobs", JOB);
    assert.equal(created.status, 201);
    assert.deepEqual(created.json, {
      id: "prod.backup",
      dependencies: [],
      labels: {},
      schedules: [],
      run: {
        cpus: 0.5,
        mem: 64,
        disk: 0,
        gpus: 0,
        cmd: "echo hi",
        env: {},
        placement: { constraints: [] },
        artifacts: [],
        maxLaunchDelay: 3600,
        volumes: [],
        restart: { policy: "NEVER" },
        secrets: {},
        networks: [],
      },
    });
    const again = await call("POST", "/v1/jobs", JOB);
    assert.equal(again.status, 409);
    assert.deepEqual(again.json, { message: "Job with this id already exists" });
  });
});

Deno.test("POST /v1/jobs answers 422 naming each field at fault, unhonoured ones too", async () => {
  await withApi(async (call) => {
    const r = await call("POST", "/v1/jobs", {
      id: "Bad_Id",
      run: {
        cmd: "x",
        cpus: 0.001,
        mem: 64,
        disk: 0,
        artifacts: [{ uri: "http://x/a.tgz" }],
        user: "nobody",
      },
      extra: 1,
    });
    assert.equal(r.status, 422);
    assert.equal(r.json.message, "Object is not valid");
    const paths = r.json.details.map((d: { path: string }) => d.path);
    assert.ok(paths.includes("/id"), paths.join());
    assert.ok(paths.includes("/run/cpus"), paths.join());
    assert.ok(paths.includes("/"), "the unknown key"); // Additional properties
    const unhonoured = await call("POST", "/v1/jobs", {
      ...JOB,
      run: {
        ...JOB.run,
        artifacts: [{ uri: "http://x/a.tgz" }, { uri: "hdfs://nn/a.tgz" }],
        user: "nobody",
      },
    });
    assert.equal(unhonoured.status, 422);
    // run.user and http artifacts are honoured (the agent fetches them, and runs the task as
    // that user), so only the hdfs artifact is refused.
    assert.deepEqual(unhonoured.json.details.map((d: { path: string }) => d.path), [
      "/run/artifacts(1)/uri",
    ]);
    assert.match(unhonoured.json.details[0].errors[0], /Tender cannot honour hdfs: artifacts/);
    const noCommand = await call("POST", "/v1/jobs", {
      id: "a",
      run: { cpus: 1, mem: 32, disk: 0 },
    });
    assert.deepEqual(noCommand.json.details, [
      { path: "/run", errors: ["Cmd, Docker or UCR image must be specified"] },
    ]);
    const notJson = await call("POST", "/v1/jobs", "{nope");
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.message, /^Failed to parse body into JSON/);
  });
});

Deno.test("GET /v1/jobs/{id} answers 404 with the id, 400 for an invalid id or embed", async () => {
  await withApi(async (call) => {
    assert.deepEqual(await call("GET", "/v1/jobs/nope"), {
      status: 404,
      json: { message: "Job not found", id: "nope" },
    });
    const bad = await call("GET", "/v1/jobs/Not_Valid");
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, {
      message: "Not a valid id: Not_Valid",
      requestPath: "/v1/jobs/Not_Valid",
    });
    await call("POST", "/v1/jobs", JOB);
    const embed = await call("GET", "/v1/jobs/prod.backup?embed=activeRuns,bogus");
    assert.equal(embed.status, 400);
    assert.match(embed.json.message, /Unknown embed options/);
    const unknown = await call("GET", "/v2/apps");
    assert.deepEqual(unknown, {
      status: 404,
      json: { message: "Unknown route.", requestPath: "/v2/apps" },
    });
  });
});

Deno.test("runs: start, list, embed, show, stop; the history counts the stopped run", async () => {
  await withApi(async (call, { driver }) => {
    await call("POST", "/v1/jobs", JOB);
    const override = await call("POST", "/v1/jobs/prod.backup/runs", { env: { A: "1" } });
    assert.equal(override.status, 422);
    const started = await call("POST", "/v1/jobs/prod.backup/runs");
    assert.equal(started.status, 201);
    assert.equal(started.json.status, "STARTING");
    assert.equal(started.json.jobId, "prod.backup");
    assert.equal(started.json.createdAt, "2024-03-01T12:00:00.000+0000");
    assert.equal(started.json.completedAt, null);
    const runId = started.json.id;
    const list = await call("GET", "/v1/jobs/prod.backup/runs");
    assert.deepEqual(list.json.map((r: { id: string }) => r.id), [runId]);
    const queue = await call("GET", "/v1/queue");
    assert.deepEqual(queue.json, [{ jobId: "prod.backup", runs: [{ runId }] }]);
    const info = await call("GET", "/v1/jobs/prod.backup?embed=activeRuns&embed=historySummary");
    assert.equal(info.json.activeRuns.length, 1);
    assert.deepEqual(info.json.historySummary, {
      successCount: 0,
      failureCount: 0,
      lastSuccessAt: null,
      lastFailureAt: null,
    });
    assert.equal(info.json.history, undefined);
    // Deleting refuses while the run is active.
    const refused = await call("DELETE", "/v1/jobs/prod.backup");
    assert.equal(refused.status, 409);
    const stopped = await call("POST", `/v1/jobs/prod.backup/runs/${runId}/actions/stop`);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.json.status, "FAILED");
    const shown = await call("GET", `/v1/jobs/prod.backup/runs/${runId}`);
    assert.equal(shown.json.status, "FAILED");
    const history = await call("GET", "/v1/jobs/prod.backup?embed=history");
    assert.equal(history.json.history.failureCount, 1);
    assert.equal(history.json.history.failedFinishedRuns[0].id, runId);
    const missing = await call("GET", "/v1/jobs/prod.backup/runs/nope");
    assert.deepEqual(missing.json, {
      message: "Job Run not found",
      jobSpec: "prod.backup",
      id: "nope",
    });
    assert.ok(driver.calls.includes("revive"));
    assert.equal((await call("DELETE", "/v1/jobs/prod.backup")).status, 200);
  });
});

Deno.test("schedules: create, one only, show with nextRunAt, update, delete; PUT job keeps them", async () => {
  await withApi(async (call) => {
    await call("POST", "/v1/jobs", JOB);
    const schedule = {
      id: "nightly",
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      concurrencyPolicy: "FORBID",
    };
    const created = await call("POST", "/v1/jobs/prod.backup/schedules", schedule);
    assert.equal(created.status, 201);
    assert.deepEqual(created.json, {
      ...schedule,
      startingDeadlineSeconds: 900,
      enabled: true,
      nextRunAt: "2024-03-02T01:00:00.000+0000",
    });
    const second = await call("POST", "/v1/jobs/prod.backup/schedules", {
      ...schedule,
      id: "other",
    });
    assert.equal(second.status, 409);
    const bad = await call("POST", "/v1/jobs/prod.backup/schedules", {
      id: "x1",
      cron: "99 * * * *",
      startingDeadlineSeconds: 10,
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json.details.map((d: { path: string }) => d.path), [
      "/cron",
      "/startingDeadlineSeconds",
    ]);
    const updated = await call("PUT", "/v1/jobs/prod.backup/schedules/nightly", {
      ...schedule,
      cron: "30 3 * * *",
    });
    assert.equal(updated.json.cron, "30 3 * * *");
    const putJob = await call("PUT", "/v1/jobs/prod.backup", { ...JOB, description: "backups" });
    assert.equal(putJob.json.description, "backups");
    assert.equal(putJob.json.schedules.length, 1, "PUT of the job keeps its schedules");
    const list = await call("GET", "/v1/jobs/prod.backup/schedules");
    assert.equal(list.json[0].id, "nightly");
    assert.equal((await call("DELETE", "/v1/jobs/prod.backup/schedules/nightly")).status, 200);
    assert.deepEqual(await call("GET", "/v1/jobs/prod.backup/schedules/nightly"), {
      status: 404,
      json: { message: "Schedule not found", id: "nightly" },
    });
  });
});

Deno.test("a schedule fires on the runtime's tick; a restarted runtime has the run, not the tick", async () => {
  await withApi(async (call, { clock, runtime, kv }) => {
    await call("POST", "/v1/jobs", {
      ...JOB,
      schedules: [{ id: "each-second", cron: "* * * * * *" }],
    });
    clock.advance(1_000);
    await runtime.run((core) => core.tick());
    const runs = await call("GET", "/v1/jobs/prod.backup/runs");
    assert.equal(runs.json.length, 1);
    await runtime.settled();
    const restarted = await JobsRuntime.start({
      makeCore: () => new JobsCore({ clock, ids: new SequentialIds() }),
      store: new JobsStore(kv),
      clock,
      log: createLogger({ component: "jobs", level: "error" }),
    });
    await restarted.run((core) => core.tick());
    assert.deepEqual(restarted.core.activeRuns().map((r) => r.id), [runs.json[0].id]);
  });
});
