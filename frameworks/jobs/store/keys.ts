/** Every store key of the jobs framework, built in one place, under `["jobs"]`. */

const ROOT = "jobs";

/** The keys of the jobs store. */
export const keys = {
  root: () => [ROOT] as const,
  /** The framework id the master gave, kept to re-subscribe after a restart. */
  frameworkId: () => [ROOT, "framework_id"] as const,
  /** A job's definition (with its schedules). */
  job: (id: string) => [ROOT, "specs", id] as const,
  jobs: () => [ROOT, "specs"] as const,
  /** An active run (deleted once it ends: its history keeps it). */
  run: (jobId: string, runId: string) => [ROOT, "runs", jobId, runId] as const,
  runs: () => [ROOT, "runs"] as const,
  /** A job's counts and latest finished runs. */
  history: (jobId: string) => [ROOT, "history", jobId] as const,
  histories: () => [ROOT, "history"] as const,
  /** A schedule's last handled tick (epoch ms): written with the run the tick starts. */
  tick: (jobId: string, scheduleId: string) => [ROOT, "ticks", jobId, scheduleId] as const,
  ticks: () => [ROOT, "ticks"] as const,
};
