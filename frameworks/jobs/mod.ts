/**
 * The jobs framework: batch and cron jobs with Metronome's v1 API, on a Tender master. A pure
 * core (`JobsCore`: jobs, runs, schedules, histories) inside a shell that persists each change
 * before it acts (`JobsRuntime`), on the SDK's `SchedulerDriver`.
 *
 * @module
 * @example
 * ```ts
 * import { startJobs } from "./frameworks/jobs/mod.ts";
 * const jobs = await startJobs({ master: "http://127.0.0.1:5050", port: 0, workDir: "/tmp/jobs" });
 * await fetch(`${jobs.url}/v1/jobs`, {
 *   method: "POST",
 *   body: JSON.stringify({ id: "hello", run: { cmd: "echo hi", cpus: 0.1, mem: 32, disk: 0 } }),
 * });
 * await fetch(`${jobs.url}/v1/jobs/hello/runs`, { method: "POST" });
 * await jobs.stop();
 * ```
 */
export { type RunningJobs, startJobs, type StartJobsOptions } from "./start_jobs.ts";
export { jobsApi, type JobsApiDeps } from "./api/api.ts";
export {
  type Change,
  type Command,
  type JobEvent,
  JobsCore,
  type JobsState,
} from "./core/jobs_core.ts";
export { JobsRuntime } from "./runtime.ts";
export { JobsScheduler } from "./scheduler.ts";
export { JobsStore } from "./store/jobs_store.ts";
export { type Job, parseJob, parseSchedule, type Schedule } from "./model/job.ts";
export { CronSchedule } from "./model/cron.ts";
