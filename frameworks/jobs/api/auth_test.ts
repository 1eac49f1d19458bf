import assert from "node:assert/strict";
import { createLogger, FakeClock, HttpMetrics, SequentialIds } from "../../../base/mod.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../../../security/mod.ts";
import { JobsCore } from "../core/jobs_core.ts";
import { JobsRuntime } from "../runtime.ts";
import { JobsStore } from "../store/jobs_store.ts";
import { JobsInstruments, renderJobsMetrics } from "../metrics.ts";
import { jobsApi } from "./api.ts";

const credentials = parseCredentials(JSON.stringify({
  credentials: [
    { principal: "ops", secret: "ops-secret" },
    { principal: "prod", secret: "prod-secret" },
  ],
}));
const acls = parseAcls(JSON.stringify({
  permissive: false,
  view_jobs: [
    { principals: { values: ["ops"] }, jobs: { type: "ANY" } },
    { principals: { values: ["prod"] }, jobs: { values: ["prod"] } },
  ],
  create_jobs: [
    { principals: { values: ["ops"] }, jobs: { type: "ANY" } },
    { principals: { values: ["prod"] }, jobs: { values: ["prod"] } },
  ],
  update_jobs: [{ principals: { values: ["ops"] }, jobs: { type: "ANY" } }],
  delete_jobs: [{ principals: { values: ["ops"] }, jobs: { type: "ANY" } }],
}));
const as = (p: string) => basicHeader(p, `${p}-secret`);
const job = (id: string) => ({ id, run: { cmd: "echo hi", cpus: 0.5, mem: 64, disk: 0 } });

// deno-lint-ignore no-explicit-any -- bodies are read loosely
type Json = any;

Deno.test("jobs API with credentials and ACLs: 401 but /ping, jobs filtered by view_jobs, 403 naming principal, action and job, counted", async () => {
  const kv = await DenoKvStore.open(":memory:");
  const clock = new FakeClock(Date.parse("2024-03-01T12:00:00Z"));
  const runtime = await JobsRuntime.start({
    makeCore: () => new JobsCore({ clock, ids: new SequentialIds() }),
    store: new JobsStore(kv),
    clock,
    log: createLogger({ component: "jobs", level: "error" }),
  });
  const security = new ServerSecurity({ credentials, acls });
  const http = new HttpMetrics();
  const api = jobsApi({
    runtime,
    hostPort: () => "127.0.0.1:9000",
    security,
    metrics: {
      http,
      render: () => renderJobsMetrics(runtime, new JobsInstruments(), http, security.metrics),
    },
  });
  const call = async (method: string, path: string, who?: string, body?: unknown) => {
    const r = await api.request(path, {
      method,
      headers: who ? { Authorization: as(who) } : {},
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    let json: Json = text;
    try {
      json = JSON.parse(text);
    } catch { /* text */ }
    return { status: r.status, json, challenge: r.headers.get("www-authenticate") };
  };
  try {
    assert.equal((await call("GET", "/ping")).status, 200);
    const none = await call("GET", "/v1/jobs");
    assert.equal(none.status, 401);
    assert.match(none.challenge ?? "", /^Basic realm="jobs"/);
    assert.deepEqual(none.json, { message: "Authentication required" });

    assert.equal((await call("POST", "/v1/jobs", "ops", job("ops.clean"))).status, 201);
    assert.equal((await call("POST", "/v1/jobs", "prod", job("prod.backup"))).status, 201);
    const denied = await call("POST", "/v1/jobs", "prod", job("ops.other"));
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json, {
      message: 'Principal "prod" is not authorized to create_jobs on "ops.other"',
    });
    // "prod" covers "prod.backup" but not "production".
    assert.equal((await call("POST", "/v1/jobs", "prod", job("production"))).status, 403);

    const theirs = await call("GET", "/v1/jobs", "prod");
    assert.deepEqual(theirs.json.map((j: Json) => j.id), ["prod.backup"]);
    const all = await call("GET", "/v1/jobs", "ops");
    assert.deepEqual(all.json.map((j: Json) => j.id).sort(), ["ops.clean", "prod.backup"]);
    assert.equal((await call("GET", "/v1/jobs/ops.clean", "prod")).status, 403);
    assert.equal((await call("GET", "/v1/jobs/ops.clean/runs", "prod")).status, 403);

    for (
      const [method, path, action] of [
        ["POST", "/v1/jobs/prod.backup/runs", "update_jobs"],
        ["PUT", "/v1/jobs/prod.backup", "update_jobs"],
        ["DELETE", "/v1/jobs/prod.backup", "delete_jobs"],
        ["POST", "/v1/jobs/prod.backup/schedules", "update_jobs"],
      ]
    ) {
      const r = await call(method!, path!, "prod", method === "POST" ? {} : job("prod.backup"));
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(
        r.json.message,
        `Principal "prod" is not authorized to ${action} on "prod.backup"`,
      );
    }
    assert.equal(runtime.core.activeRuns("prod.backup").length, 0, "no run was started");
    assert.equal((await call("POST", "/v1/jobs/prod.backup/runs", "ops")).status, 201);

    const metrics = (await call("GET", "/metrics", "ops")).json as string;
    assert.match(metrics, /^tender_http_forbidden_total\{action="create_jobs"\} 2$/m);
    assert.match(metrics, /^tender_http_forbidden_total\{action="update_jobs"\} 3$/m);
    assert.match(metrics, /^tender_http_unauthenticated_total 1$/m);
    await runtime.settled();
  } finally {
    kv.close();
  }
});
