/**
 * Jobs and their runs for the dashboard from a Metronome-style API (v1), read over HTTP: the
 * master does not import the jobs framework, it asks it like any client would.
 */
import { z } from "zod";

/** A job as the dashboard lists it. */
export interface JobSummary {
  id: string;
  /** The first schedule's cron and time zone, when the job has one. */
  schedule?: string;
  /** When that schedule fires next (as the API wrote it). */
  nextRunAt?: string;
  /** Active runs, oldest first. */
  activeRuns: { id: string; status: string; createdAt: string }[];
  successCount: number;
  failureCount: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

const JobsSchema = z.array(z.object({
  id: z.string(),
  schedules: z.array(z.object({
    cron: z.string(),
    timezone: z.string().default("UTC"),
    enabled: z.boolean().default(true),
    nextRunAt: z.string().optional(),
  })).default([]),
  activeRuns: z.array(z.object({ id: z.string(), status: z.string(), createdAt: z.string() }))
    .default([]),
  historySummary: z.object({
    successCount: z.number(),
    failureCount: z.number(),
    lastSuccessAt: z.string().nullable(),
    lastFailureAt: z.string().nullable(),
  }).optional(),
}));

/** A source for `mountDashboard({ jobs })`: each call reads `/v1/jobs` with runs and counts. */
export function metronomeJobs(
  url: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): () => Promise<JobSummary[]> {
  return async () => {
    const path = "/v1/jobs?embed=activeRuns&embed=historySummary";
    const r = await (options.fetch ?? fetch)(`${url}${path}`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 2000),
    });
    if (!r.ok) throw new Error(`The jobs framework answered ${path} with ${r.status}`);
    return JobsSchema.parse(await r.json()).map((j) => {
      const s = j.schedules[0];
      return {
        id: j.id,
        ...(s ? { schedule: `${s.cron} (${s.timezone})${s.enabled ? "" : ", disabled"}` } : {}),
        ...(s?.enabled && s.nextRunAt ? { nextRunAt: s.nextRunAt } : {}),
        activeRuns: j.activeRuns,
        successCount: j.historySummary?.successCount ?? 0,
        failureCount: j.historySummary?.failureCount ?? 0,
        lastSuccessAt: j.historySummary?.lastSuccessAt ?? null,
        lastFailureAt: j.historySummary?.lastFailureAt ?? null,
      };
    });
  };
}
