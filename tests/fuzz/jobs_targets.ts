/**
 * The jobs API (Metronome v1, frameworks/jobs/) under fuzz: open, in memory, with the other open
 * targets; and with security on over TLS, holding the owner's private job, with the other secure
 * targets. The runtime has no driver (no master): a run it starts waits for offers, a kill it
 * asks for fails and is logged.
 */
import fc from "fast-check";
import { jobsApi } from "../../frameworks/jobs/api/api.ts";
import { JobsCore } from "../../frameworks/jobs/core/jobs_core.ts";
import { JobsRuntime } from "../../frameworks/jobs/runtime.ts";
import { JobsStore } from "../../frameworks/jobs/store/jobs_store.ts";
import { createLogger, FakeClock, SequentialIds } from "../../base/mod.ts";
import type { ServerSecurity } from "../../security/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import {
  expectations,
  outcomeOf,
  OWNER,
  PRIVATE,
  security,
  withIdentity,
} from "./hostile_callers.ts";
import { type FuzzRequest, jsonBodies, oversizedBody, pathSegment } from "./inputs.ts";
import { answer, JSON_TYPE, kvDigest, type Running, type Target } from "./targets.ts";
import { serveOverTls } from "./tls_server.ts";

export const JOBS = [
  {
    id: "prod.backup",
    description: "nightly",
    labels: { team: "ops" },
    run: {
      cmd: "echo hi",
      cpus: 0.5,
      mem: 64,
      disk: 0,
      env: { A: "1" },
      placement: { constraints: [{ attribute: "rack", operator: "LIKE", value: "r[0-9]" }] },
      restart: { policy: "ON_FAILURE", activeDeadlineSeconds: 60 },
      maxLaunchDelay: 30,
    },
    schedules: [{ id: "nightly", cron: "0 2 * * *", timezone: "UTC" }],
  },
];
export const SCHEDULES = [
  { id: "nightly", cron: "0 2 * * *", timezone: "Europe/Berlin", concurrencyPolicy: "FORBID" },
];

const jobPath = fc.oneof(
  fc.constantFrom("prod.backup", "prod", "x"),
  pathSegment,
).map((id) => `/v1/jobs/${id}`);

/** Jobs, schedules and runs: mutated bodies, and every route with hostile ids. */
const jobsInputs: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.constantFrom("POST", "PUT"), jobPath, jsonBodies(JOBS)).map((
      [method, path, body],
    ): FuzzRequest => ({
      method,
      path: method === "POST" ? "/v1/jobs" : path,
      headers: JSON_TYPE,
      body,
    })),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom("POST", "PUT"), jobPath, jsonBodies(SCHEDULES)).map((
      [method, path, body],
    ): FuzzRequest => ({
      method,
      path: method === "POST" ? `${path}/schedules` : `${path}/schedules/nightly`,
      headers: JSON_TYPE,
      body,
    })),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constantFrom("GET", "DELETE", "POST", "PUT"),
      jobPath,
      fc.constantFrom("", "/runs", "/runs/$", "/runs/$/actions/stop", "/schedules/$", "?embed=$"),
      pathSegment,
    ).map(([method, path, shape, id]): FuzzRequest => ({
      method,
      path: `${path}${shape.replace("$", id)}`,
      headers: {},
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom("GET", "POST", "DELETE"),
      fc.constantFrom("/v1/jobs", "/v1/queue", "/ping", "/info", "/leader", "/metrics", "/"),
      fc.array(pathSegment, { maxLength: 2 }),
    ).map(([method, base, rest]): FuzzRequest => ({
      method,
      path: [base, ...rest].join("/"),
      headers: {},
    })),
  },
  {
    weight: 1,
    arbitrary: oversizedBody.map((body): FuzzRequest => ({
      method: "POST",
      path: "/v1/jobs",
      headers: JSON_TYPE,
      body,
    })),
  },
);

/** A jobs runtime over an in-memory KV, and its API (with `security` when given). */
async function startJobs(security?: ServerSecurity) {
  const kv = await DenoKvStore.open(":memory:");
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const runtime = await JobsRuntime.start({
    makeCore: () => new JobsCore({ clock, ids: new SequentialIds() }),
    store: new JobsStore(kv),
    clock,
    log: createLogger({ component: "jobs", level: "error" }),
  });
  const api = jobsApi({
    runtime,
    hostPort: () => "127.0.0.1:9000",
    ...(security ? { security } : {}),
  });
  const state = async () => {
    await runtime.settled();
    return await kvDigest(kv, [["jobs"]]);
  };
  const stop = async () => {
    await runtime.settled();
    kv.close();
  };
  return { api, state, stop };
}

/** The jobs API, open, in memory. */
export const JOBS_TARGET: Target = {
  name: "jobs API (Metronome v1)",
  inputs: jobsInputs,
  async start(): Promise<Running> {
    const { api, state, stop } = await startJobs();
    return {
      violations: [],
      send: (req) =>
        answer(api.request(`http://localhost${req.path}`, {
          method: req.method,
          headers: req.headers,
          body: req.body,
        })),
      state,
      stop,
    };
  },
};

/** The jobs API with security on, over TLS, holding the owner's private job. */
export const JOBS_SECURE_TARGET: Target = {
  name: "jobs API (TLS, security on)",
  secure: expectations([PRIVATE.job], ["/ping"]),
  inputs: withIdentity(fc.oneof(
    { weight: 6, arbitrary: jobsInputs },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "/v1/jobs",
        "/v1/jobs?embed=activeRuns",
        `/v1/jobs/${PRIVATE.job}`,
        `/v1/jobs/${PRIVATE.job}/runs`,
        `/v1/jobs/${PRIVATE.job}/schedules`,
        "/v1/queue",
        "/metrics",
        "/ping",
      ).map((path): FuzzRequest => ({ method: "GET", path, headers: {} })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        ["POST", `/v1/jobs/${PRIVATE.job}/runs`],
        ["DELETE", `/v1/jobs/${PRIVATE.job}`],
        ["DELETE", `/v1/jobs/${PRIVATE.job}/schedules/nightly`],
        ["POST", `/v1/jobs/${PRIVATE.job}/runs/r-1/actions/stop`],
      ).map(([method, path]): FuzzRequest => ({ method: method!, path: path!, headers: {} })),
    },
  )),
  async start(workDir): Promise<Running> {
    const jobs = await startJobs(security());
    const served = await serveOverTls(workDir, jobs.api);
    const seeded = await served.request({
      method: "POST",
      path: "/v1/jobs",
      headers: { ...JSON_TYPE, Authorization: OWNER },
      body: JSON.stringify({ ...JOBS[0], id: PRIVATE.job }),
    });
    if (seeded.status !== 201) {
      throw new Error(`seeding the jobs API answered ${seeded.status}: ${await seeded.text()}`);
    }
    await seeded.body?.cancel();
    return {
      violations: [],
      send: async (req) => await outcomeOf(await served.request(req)),
      state: jobs.state,
      async stop() {
        await served.stop();
        await jobs.stop();
      },
    };
  },
};
