/**
 * The jobs framework's Prometheus metrics: jobs, active runs by status, runs started and ended,
 * tasks launched and relaunched, schedule ticks fired, skipped and missed, and how long runs
 * took from being requested to a running task.
 */
import { Histogram, type HttpMetrics, PrometheusWriter } from "../../base/mod.ts";
import type { JobEvent } from "./core/jobs_core.ts";
import type { JobsRuntime } from "./runtime.ts";
import type { SecurityMetrics } from "../../security/mod.ts";

/** Start-latency buckets in seconds (50 ms to 5 min). */
const START_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

/** Observes the events the runtime hands on. */
export class JobsInstruments {
  readonly startLatency = new Histogram(START_BUCKETS);

  observe(events: readonly JobEvent[]): void {
    for (const e of events) {
      if (e.startLatencyMs !== undefined) this.startLatency.observe(e.startLatencyMs / 1000);
    }
  }
}

/** Renders the exposition text. */
export function renderJobsMetrics(
  runtime: JobsRuntime,
  instruments: JobsInstruments,
  http: HttpMetrics,
  security?: SecurityMetrics,
): string {
  const core = runtime.core;
  const c = core.counters;
  const runs = core.activeRuns();
  const w = new PrometheusWriter()
    .gauge("tender_jobs_jobs", "Jobs defined.", core.jobs().length)
    .gauge("tender_jobs_active_runs", "Active runs, by status.", [
      { labels: { status: "STARTING" }, value: runs.filter((r) => r.status === "STARTING").length },
      { labels: { status: "ACTIVE" }, value: runs.filter((r) => r.status === "ACTIVE").length },
    ])
    .gauge(
      "tender_jobs_waiting_runs",
      "Active runs waiting for a task to launch.",
      core.waitingRuns().length,
    )
    .counter("tender_jobs_runs_total", "Runs started and ended since this process started.", [
      { labels: { event: "started" }, value: c.runsStarted },
      { labels: { event: "succeeded" }, value: c.runsSucceeded },
      { labels: { event: "failed" }, value: c.runsFailed },
    ])
    .counter("tender_jobs_tasks_launched_total", "Tasks launched for runs.", c.tasksLaunched)
    .counter(
      "tender_jobs_task_relaunches_total",
      "Tasks launched again after a failure (restart policy ON_FAILURE).",
      c.taskRelaunches,
    )
    .counter("tender_jobs_schedule_ticks_total", "Schedule ticks, by what became of them.", [
      { labels: { result: "fired" }, value: c.ticksFired },
      { labels: { result: "skipped" }, value: c.ticksSkipped },
      { labels: { result: "missed" }, value: c.ticksMissed },
    ])
    .histogram(
      "tender_jobs_run_start_seconds",
      "From a run being created to its first task running.",
      instruments.startLatency.samples(),
    );
  http.write(w, "tender_jobs");
  security?.write(w);
  return w.text();
}
