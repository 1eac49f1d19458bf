/** Metronome's error bodies for unknown jobs, schedules and runs, and its conflicts. */
import { TenderError } from "../../../base/mod.ts";

/** 404 `{"id": …, "message": "Job not found"}`. */
export function unknownJob(id: string): TenderError {
  return new TenderError("not_found", "Job not found", { id });
}

/** 404 `{"id": …, "message": "Schedule not found"}`. */
export function unknownSchedule(id: string): TenderError {
  return new TenderError("not_found", "Schedule not found", { id });
}

/** 404 `{"jobSpec": …, "id": …, "message": "Job Run not found"}`. */
export function unknownRun(jobId: string, runId: string): TenderError {
  return new TenderError("not_found", "Job Run not found", { jobSpec: jobId, id: runId });
}

/** 409 `{"message": …}`. */
export function conflict(message: string): TenderError {
  return new TenderError("conflict", message);
}
