/**
 * A job run and its tasks, as stored: Metronome's run statuses (STARTING → ACTIVE → SUCCESS |
 * FAILED), the task ids that name their run, and the history kept of finished runs.
 */
import { z } from "zod";
import { type Job, parseJob } from "./job.ts";

/** Metronome's run statuses (INITIAL is never stored: a run is stored as STARTING). */
export type RunStatus = "INITIAL" | "STARTING" | "ACTIVE" | "SUCCESS" | "FAILED";

/** Metronome's task states: Mesos' names, plus TASK_CREATED for a launch not yet reported. */
export const TASK_STATES = [
  "TASK_CREATED",
  "TASK_STAGING",
  "TASK_STARTING",
  "TASK_RUNNING",
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
] as const;
export type RunTaskState = (typeof TASK_STATES)[number];

export const RunTaskSchema = z.object({
  id: z.string(),
  agentId: z.string().optional(),
  startedAt: z.number(),
  completedAt: z.number().nullable(),
  status: z.enum(TASK_STATES),
});
/** One task of a run. */
export type RunTask = z.infer<typeof RunTaskSchema>;

export const RunRecordSchema = z.object({
  jobId: z.string(),
  id: z.string(),
  status: z.enum(["STARTING", "ACTIVE"]),
  createdAt: z.number(),
  /** The job as it was when the run was created (its spec is what runs). */
  job: z.unknown().transform((x): Job => parseJob(x)),
  /** The schedule tick that made this run, if a schedule did. */
  schedule: z.object({
    id: z.string(),
    tick: z.number(),
    startingDeadlineSeconds: z.number(),
  }).optional(),
  tasks: z.array(RunTaskSchema),
  /** Since when the run has been waiting for a running task (undefined once one runs). */
  waitingSince: z.number().optional(),
});
/** An active run, as stored until it ends. */
export type RunRecord = z.infer<typeof RunRecordSchema>;

export const FinishedRunSchema = z.object({
  id: z.string(),
  createdAt: z.number(),
  finishedAt: z.number(),
  tasks: z.array(z.string()),
  /** The last few tasks in full, for `GET …/runs/{runId}` of a finished run. */
  taskRecords: z.array(RunTaskSchema).default([]),
});
/** A finished run in the history (Metronome's JobRunInfo). */
export type FinishedRun = z.infer<typeof FinishedRunSchema>;

export const HistorySchema = z.object({
  jobId: z.string(),
  successCount: z.number(),
  failureCount: z.number(),
  lastSuccessAt: z.number().nullable(),
  lastFailureAt: z.number().nullable(),
  successfulFinishedRuns: z.array(FinishedRunSchema),
  failedFinishedRuns: z.array(FinishedRunSchema),
});
/** Counts and the latest finished runs of one job. */
export type History = z.infer<typeof HistorySchema>;

/**
 * How many finished runs of each kind a history keeps (Metronome's default is 1000; the history
 * is one record, and a Deno KV value holds at most 64 KiB).
 */
export const HISTORY_RUNS = 50;
const TASK_RECORDS_KEPT = 3;

/** A run as the API shows it: an active run, or one that ended. */
export interface RunView {
  jobId: string;
  id: string;
  status: RunStatus;
  createdAt: number;
  completedAt: number | null;
  tasks: RunTask[];
}

/** An active run's view. */
export function activeView(run: RunRecord): RunView {
  return {
    jobId: run.jobId,
    id: run.id,
    status: run.status,
    createdAt: run.createdAt,
    completedAt: null,
    tasks: run.tasks,
  };
}

/** A finished run of the history, as a view, or undefined when the history has none by that id. */
export function finishedView(history: History, id: string): RunView | undefined {
  const pick = (list: FinishedRun[], status: "SUCCESS" | "FAILED") => {
    const f = list.find((r) => r.id === id);
    return f && {
      jobId: history.jobId,
      id,
      status,
      createdAt: f.createdAt,
      completedAt: f.finishedAt,
      tasks: f.taskRecords,
    };
  };
  return pick(history.successfulFinishedRuns, "SUCCESS") ??
    pick(history.failedFinishedRuns, "FAILED");
}

/** An empty history. */
export function emptyHistory(jobId: string): History {
  return {
    jobId,
    successCount: 0,
    failureCount: 0,
    lastSuccessAt: null,
    lastFailureAt: null,
    successfulFinishedRuns: [],
    failedFinishedRuns: [],
  };
}

/** The history after a run finished (newest first, bounded). */
export function recordFinished(
  history: History,
  run: RunRecord,
  outcome: "SUCCESS" | "FAILED",
  at: number,
): History {
  const info: FinishedRun = {
    id: run.id,
    createdAt: run.createdAt,
    finishedAt: at,
    tasks: run.tasks.map((t) => t.id),
    taskRecords: run.tasks.slice(-TASK_RECORDS_KEPT),
  };
  return outcome === "SUCCESS"
    ? {
      ...history,
      successCount: history.successCount + 1,
      lastSuccessAt: at,
      successfulFinishedRuns: [info, ...history.successfulFinishedRuns].slice(0, HISTORY_RUNS),
    }
    : {
      ...history,
      failureCount: history.failureCount + 1,
      lastFailureAt: at,
      failedFinishedRuns: [info, ...history.failedFinishedRuns].slice(0, HISTORY_RUNS),
    };
}

/**
 * A run id as Metronome makes them: the UTC time `yyyyMMddHHmmss` and five letters or digits
 * (taken from `uuid`, so tests with sequential ids get stable run ids).
 */
export function runId(now: number, uuid: string): string {
  const d = new Date(now);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  const hex = uuid.replace(/-/g, "");
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let suffix = "";
  for (let i = 0; i < 5; i++) {
    const byte = parseInt(hex.slice(hex.length - 2 * (i + 1), hex.length - 2 * i), 16);
    suffix += alphabet[byte % alphabet.length];
  }
  return stamp + suffix;
}

/** A task id as Metronome's (Marathon's) for a run: `prod_backup_20240101000000abcde.<uuid>`. */
export function taskId(jobId: string, run: string, uuid: string): string {
  return `${jobId.replaceAll(".", "_")}_${run}.${uuid}`;
}

/** The job and run a task id names, or undefined when it is not one of ours. */
export function runOfTask(id: string): { jobId: string; runId: string } | undefined {
  const dot = id.indexOf(".");
  if (dot < 0) return undefined;
  const parts = id.slice(0, dot).split("_");
  const run = parts.pop();
  if (!run || parts.length === 0) return undefined;
  return { jobId: parts.join("."), runId: run };
}

/** A task state that can still change (the task is or may be alive). */
export function isLive(state: RunTaskState): boolean {
  return state === "TASK_CREATED" || state === "TASK_STAGING" || state === "TASK_STARTING" ||
    state === "TASK_RUNNING";
}
