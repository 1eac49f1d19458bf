/**
 * Metronome's v1 REST API over hono: jobs, their schedules and runs, the launch queue, `/ping`,
 * `/info`, `/leader` and `/metrics`. Handlers hold no try/catch: one `onError` writes
 * Metronome's bodies — `{"message": …}` with `details` for a 422, the unknown id for a 404,
 * `requestPath` for a 400 or an unknown route.
 *
 * With credentials, every route but `/ping` needs them (401 with a challenge, realm `jobs`);
 * the ACLs' view_jobs, create_jobs, update_jobs (also starting and stopping runs) and
 * delete_jobs decide per job id (`prod` covers `prod.backup`): lists show only the jobs the
 * principal may view, anything else refused is a 403 naming principal, action and job.
 */
import { type Context, Hono } from "hono";
import {
  checkRecordSize,
  type FailureRenderer,
  httpErrorHandler,
  type HttpMetrics,
  parseJson,
  PROMETHEUS_CONTENT_TYPE,
  requestLimits,
  TenderError,
} from "../../../base/mod.ts";
import { unknownRun, unknownSchedule } from "../model/errors.ts";
import { JOB_ID, parseJob, parseSchedule } from "../model/job.ts";
import { objectNotValid } from "../model/violations.ts";
import { activeView, finishedView } from "../model/run.ts";
import type { JobsRuntime } from "../runtime.ts";
import { type Embed, EMBEDS, jobInfoJson, jobJson, runJson, scheduleJson } from "./views.ts";
import {
  type AclAction,
  authenticate,
  principalOf,
  ServerSecurity,
} from "../../../security/mod.ts";

/** The realm of the jobs API's 401 challenge. */
export const JOBS_REALM = "jobs";

/** What the API needs. */
export interface JobsApiDeps {
  runtime: JobsRuntime;
  /** `host:port` of this API, for `/leader` and `/info`. */
  hostPort(): string;
  /** Times every route and serves `GET /metrics` with this text. */
  metrics?: { http: HttpMetrics; render(): string };
  /** Credentials and ACLs (default: off). */
  security?: ServerSecurity;
}

const VERSION = "0.6.33-tender";

/**
 * Metronome's error bodies: `{"message": …}` with the error's details (a list as `details`, an
 * object spread, e.g. the unknown id), `requestPath` for a 400 without details; an unexpected
 * failure is `{"requestPath": …}` alone.
 */
const metronomeJson: FailureRenderer = (failure, c) => {
  if (failure.error === undefined) return c.json({ requestPath: c.req.path }, failure.status);
  const d = failure.details;
  const extra = Array.isArray(d)
    ? { details: d }
    : typeof d === "object" && d !== null
    ? d
    : failure.code === "bad_request"
    ? { requestPath: c.req.path }
    : {};
  return c.json({ message: failure.message, ...extra }, failure.status);
};

/** Builds the hono app serving Metronome's API. */
export function jobsApi(deps: JobsApiDeps): Hono {
  const { runtime } = deps;
  const core = () => runtime.core;
  const nextRunAt = (jobId: string) => (s: Parameters<JobsRuntime["core"]["nextRunAt"]>[1]) =>
    core().nextRunAt(jobId, s);
  const api = new Hono();
  const metrics = deps.metrics;
  const security = deps.security ?? ServerSecurity.off();
  /** 403 unless the request's principal may do `action` to job `id`. */
  const authorize = (c: Context, action: AclAction, id: string) =>
    security.authorize(action, principalOf(c), id);
  if (metrics) api.use(metrics.http.middleware());
  api.use(requestLimits());
  api.use(authenticate(security, {
    realm: JOBS_REALM,
    required: (c) => c.req.path !== "/ping",
    render: (c, status, message) => c.json({ message }, status),
  }));
  if (metrics) {
    api.get(
      "/metrics",
      (c) => c.body(metrics.render(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE }),
    );
  }

  api.onError(httpErrorHandler("jobs api", metronomeJson));
  api.notFound((c) => c.json({ message: "Unknown route.", requestPath: c.req.path }, 404));

  api.get("/ping", (c) => c.text("pong"));
  api.get("/leader", (c) => c.json({ leader: deps.hostPort() }));
  api.get("/info", (c) =>
    c.json({
      version: VERSION,
      libVersion: "tender",
      config: { http_port: Number(deps.hostPort().split(":").pop()) },
    }));

  api.get("/v1/jobs", (c) => {
    const embed = embeds(c);
    const principal = principalOf(c);
    return c.json(
      core().jobs().filter((job) => security.acls.allows("view_jobs", principal, job.id))
        .map((job) => info(job.id, embed)),
    );
  });
  api.post("/v1/jobs", async (c) => {
    const job = parseJob(await body(c));
    authorize(c, "create_jobs", job.id);
    checkRecordSize(`Job "${job.id}"`, job);
    const created = await runtime.run((k) => k.createJob(job));
    return c.json(jobJson(created, nextRunAt(created.id)), 201);
  });
  api.get("/v1/jobs/:jobId", (c) => c.json(info(viewed(c), embeds(c))));
  api.put("/v1/jobs/:jobId", async (c) => {
    const id = changed(c, "update_jobs");
    const input = await body(c);
    const job = parseJob(isObject(input) ? { ...input, id } : input);
    checkRecordSize(`Job "${id}"`, job);
    const updated = await runtime.run((k) => k.updateJob(job));
    return c.json(jobJson(updated, nextRunAt(id)));
  });
  api.delete("/v1/jobs/:jobId", async (c) => {
    const id = changed(c, "delete_jobs");
    const stop = c.req.query("stopCurrentJobRuns") === "true";
    const deleted = await runtime.run((k) => k.deleteJob(id, { stopCurrentJobRuns: stop }));
    return c.json(jobJson(deleted, () => undefined));
  });

  api.get("/v1/jobs/:jobId/schedules", (c) => {
    const job = core().job(viewed(c));
    return c.json(job.schedules.map((s) => scheduleJson(s, core().nextRunAt(job.id, s))));
  });
  api.post("/v1/jobs/:jobId/schedules", async (c) => {
    const id = changed(c, "update_jobs");
    core().job(id);
    const schedule = parseSchedule(await body(c));
    const added = await runtime.run((k) => k.addSchedule(id, schedule));
    return c.json(scheduleJson(added, core().nextRunAt(id, added)), 201);
  });
  api.get("/v1/jobs/:jobId/schedules/:scheduleId", (c) => {
    const job = core().job(viewed(c));
    const schedule = job.schedules.find((s) => s.id === c.req.param("scheduleId"));
    if (!schedule) throw unknownSchedule(c.req.param("scheduleId"));
    return c.json(scheduleJson(schedule, core().nextRunAt(job.id, schedule)));
  });
  api.put("/v1/jobs/:jobId/schedules/:scheduleId", async (c) => {
    const id = changed(c, "update_jobs");
    core().job(id);
    const schedule = parseSchedule(await body(c), c.req.param("scheduleId"));
    const updated = await runtime.run((k) => k.updateSchedule(id, schedule));
    return c.json(scheduleJson(updated, core().nextRunAt(id, updated)));
  });
  api.delete("/v1/jobs/:jobId/schedules/:scheduleId", async (c) => {
    const id = changed(c, "update_jobs");
    const scheduleId = c.req.param("scheduleId");
    await runtime.run((k) => k.deleteSchedule(id, scheduleId));
    return c.body(null, 200);
  });

  api.post("/v1/jobs/:jobId/runs", async (c) => {
    const id = changed(c, "update_jobs");
    const text = (await c.req.text()).trim();
    if (text !== "" && !isEmptyObject(parseJson(text))) {
      throw objectNotValid([{
        path: "/",
        errors: ["Tender cannot honour run overrides: a run runs the job as defined"],
      }]);
    }
    const run = await runtime.run((k) => k.startRun(id));
    return c.json(runJson(activeView(run)), 201);
  });
  api.get("/v1/jobs/:jobId/runs", (c) => {
    const id = viewed(c);
    core().job(id);
    return c.json(core().activeRuns(id).map((r) => runJson(activeView(r))));
  });
  api.get("/v1/jobs/:jobId/runs/:runId", (c) => {
    const id = viewed(c);
    const runId = c.req.param("runId");
    const active = core().activeRun(id, runId);
    // Metronome shows active runs only; a finished one is shown from the history too.
    const view = active ? activeView(active) : finishedView(core().history(id), runId);
    if (!view) throw unknownRun(id, runId);
    return c.json(runJson(view));
  });
  api.post("/v1/jobs/:jobId/runs/:runId/actions/stop", async (c) => {
    const id = changed(c, "update_jobs");
    const runId = c.req.param("runId");
    const stopped = await runtime.run((k) => k.stopRun(id, runId));
    return c.json(runJson(stopped));
  });

  api.get("/v1/queue", (c) => {
    const principal = principalOf(c);
    const byJob = Map.groupBy(
      core().waitingRuns().filter((r) => security.acls.allows("view_jobs", principal, r.jobId)),
      (r) => r.jobId,
    );
    return c.json(
      [...byJob].map(([id, runs]) => ({ jobId: id, runs: runs.map((r) => ({ runId: r.id })) })),
    );
  });

  /** The job id of a read, once the principal may view it. */
  function viewed(c: Context): string {
    const id = jobId(c);
    authorize(c, "view_jobs", id);
    return id;
  }

  /** The job id of a change, once the principal may make it. */
  function changed(c: Context, action: AclAction): string {
    const id = jobId(c);
    authorize(c, action, id);
    return id;
  }

  function info(id: string, embed: ReadonlySet<Embed>) {
    const job = core().job(id);
    return jobInfoJson(job, embed, {
      nextRunAt: nextRunAt(id),
      activeRuns: () => core().activeRuns(id).map(activeView),
      history: () => core().history(id),
    });
  }

  return api;
}

/** The job id in the path, or 400 `Not a valid id`. */
function jobId(c: Context): string {
  const id = c.req.param("jobId") ?? "";
  if (!JOB_ID.test(id)) throw new TenderError("bad_request", `Not a valid id: ${id}`);
  return id;
}

/** `embed=` values (repeated or comma-separated), or 400 naming the valid ones. */
function embeds(c: Context): Set<Embed> {
  const asked = (c.req.queries("embed") ?? []).flatMap((e) => e.split(",")).filter((e) => e);
  const valid = asked.filter((e): e is Embed => (EMBEDS as readonly string[]).includes(e));
  if (valid.length !== asked.length) {
    throw new TenderError(
      "bad_request",
      `Unknown embed options. Valid options are: ${EMBEDS.join(", ")}`,
    );
  }
  return new Set(valid);
}

/** The JSON body (within the shared limits), or 400 naming what is wrong with it. */
async function body(c: Context): Promise<unknown> {
  return parseJson(await c.req.text());
}

function isEmptyObject(x: unknown): boolean {
  return isObject(x) && Object.keys(x).length === 0;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
