/**
 * Metronome's JSON for jobs (with `embed=activeRuns,history,historySummary,schedules`), schedules
 * (with `nextRunAt`), runs and histories; times as `2016-07-15T13:02:59.735+0000`.
 */
import type { Job, RunSpec, Schedule } from "../model/job.ts";
import type { FinishedRun, History, RunView } from "../model/run.ts";

/** The embeds Metronome knows. */
export const EMBEDS = ["activeRuns", "schedules", "history", "historySummary"] as const;
export type Embed = (typeof EMBEDS)[number];

/** Epoch ms as Metronome writes times (UTC). */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "+0000");
}

/** `run` of a job, with Metronome's defaults written out. */
export function runSpecJson(run: RunSpec): Record<string, unknown> {
  return {
    cpus: run.cpus,
    mem: run.mem,
    disk: run.disk,
    gpus: run.gpus,
    ...(run.cmd !== undefined ? { cmd: run.cmd } : {}),
    ...(run.args !== undefined ? { args: run.args } : {}),
    env: run.env,
    placement: {
      constraints: run.placement.constraints.map((c) => ({
        attribute: c.attribute,
        operator: c.operator,
        value: c.value,
      })),
    },
    artifacts: run.artifacts,
    maxLaunchDelay: run.maxLaunchDelay,
    ...(run.docker ? { docker: run.docker } : {}),
    volumes: run.volumes,
    restart: run.restart,
    ...(run.taskKillGracePeriodSeconds !== undefined
      ? { taskKillGracePeriodSeconds: run.taskKillGracePeriodSeconds }
      : {}),
    secrets: run.secrets,
    networks: run.networks,
  };
}

/** A schedule, with when it fires next. */
export function scheduleJson(s: Schedule, nextRunAt: number | undefined): Record<string, unknown> {
  return {
    id: s.id,
    cron: s.cron,
    timezone: s.timezone,
    startingDeadlineSeconds: s.startingDeadlineSeconds,
    concurrencyPolicy: s.concurrencyPolicy,
    enabled: s.enabled,
    ...(nextRunAt !== undefined ? { nextRunAt: formatTime(nextRunAt) } : {}),
  };
}

/** A job as POST/PUT/DELETE answer it (Metronome's JobSpec). */
export function jobJson(
  job: Job,
  nextRunAt: (s: Schedule) => number | undefined,
): Record<string, unknown> {
  return {
    id: job.id,
    ...(job.description !== undefined ? { description: job.description } : {}),
    dependencies: [],
    labels: job.labels,
    schedules: job.schedules.map((s) => scheduleJson(s, nextRunAt(s))),
    run: runSpecJson(job.run),
  };
}

/** A run (Metronome's JobRun). */
export function runJson(run: RunView): Record<string, unknown> {
  return {
    id: run.id,
    jobId: run.jobId,
    status: run.status,
    createdAt: formatTime(run.createdAt),
    completedAt: run.completedAt === null ? null : formatTime(run.completedAt),
    tasks: run.tasks.map((t) => ({
      id: t.id,
      startedAt: formatTime(t.startedAt),
      ...(t.completedAt !== null ? { completedAt: formatTime(t.completedAt) } : {}),
      status: t.status,
    })),
  };
}

/** `historySummary`. */
export function historySummaryJson(h: History): Record<string, unknown> {
  return {
    successCount: h.successCount,
    failureCount: h.failureCount,
    lastSuccessAt: h.lastSuccessAt === null ? null : formatTime(h.lastSuccessAt),
    lastFailureAt: h.lastFailureAt === null ? null : formatTime(h.lastFailureAt),
  };
}

/** `history`: the summary and the finished runs. */
export function historyJson(h: History): Record<string, unknown> {
  const finished = (r: FinishedRun) => ({
    id: r.id,
    createdAt: formatTime(r.createdAt),
    finishedAt: formatTime(r.finishedAt),
    tasks: r.tasks,
  });
  return {
    ...historySummaryJson(h),
    successfulFinishedRuns: h.successfulFinishedRuns.map(finished),
    failedFinishedRuns: h.failedFinishedRuns.map(finished),
  };
}

/**
 * A job as GET answers it (Metronome's JobInfo), with what `embed` asked for. Its schedules are
 * always there (as in Metronome, where `embed=schedules` changes nothing any more).
 */
export function jobInfoJson(
  job: Job,
  embed: ReadonlySet<Embed>,
  parts: {
    nextRunAt(s: Schedule): number | undefined;
    activeRuns(): RunView[];
    history(): History;
  },
): Record<string, unknown> {
  const history = embed.has("history") || embed.has("historySummary") ? parts.history() : undefined;
  return {
    ...jobJson(job, parts.nextRunAt),
    ...(embed.has("activeRuns") ? { activeRuns: parts.activeRuns().map(runJson) } : {}),
    ...(history && embed.has("history") ? { history: historyJson(history) } : {}),
    ...(history && embed.has("historySummary")
      ? { historySummary: historySummaryJson(history) }
      : {}),
  };
}
