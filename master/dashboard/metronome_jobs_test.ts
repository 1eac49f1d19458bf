import assert from "node:assert/strict";
import { metronomeJobs } from "./metronome_jobs.ts";

Deno.test("metronomeJobs() lists jobs with their schedule, active runs and history counts", async () => {
  const asked: string[] = [];
  const fakeFetch = (url: string | URL | Request) => {
    asked.push(String(url));
    return Promise.resolve(Response.json([
      {
        id: "backup",
        schedules: [{
          id: "nightly",
          cron: "0 2 * * *",
          timezone: "UTC",
          enabled: true,
          nextRunAt: "2024-03-02T02:00:00.000+0000",
        }],
        activeRuns: [{ id: "20240301020000abcde", status: "ACTIVE", createdAt: "x", tasks: [] }],
        historySummary: {
          successCount: 3,
          failureCount: 1,
          lastSuccessAt: "2024-03-01T02:00:05.000+0000",
          lastFailureAt: null,
        },
      },
      { id: "adhoc", run: {} },
    ]));
  };
  const jobs = await metronomeJobs("http://jobs:9000", { fetch: fakeFetch as typeof fetch })();
  assert.deepEqual(asked, ["http://jobs:9000/v1/jobs?embed=activeRuns&embed=historySummary"]);
  assert.deepEqual(jobs, [
    {
      id: "backup",
      schedule: "0 2 * * * (UTC)",
      nextRunAt: "2024-03-02T02:00:00.000+0000",
      activeRuns: [{ id: "20240301020000abcde", status: "ACTIVE", createdAt: "x" }],
      successCount: 3,
      failureCount: 1,
      lastSuccessAt: "2024-03-01T02:00:05.000+0000",
      lastFailureAt: null,
    },
    {
      id: "adhoc",
      activeRuns: [],
      successCount: 0,
      failureCount: 0,
      lastSuccessAt: null,
      lastFailureAt: null,
    },
  ]);
});
