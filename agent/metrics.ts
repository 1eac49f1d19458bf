/**
 * The agent's Prometheus metrics: `AgentInstruments` counts launches, status updates,
 * acknowledgements and health verdicts as the agent reports them; `renderAgentMetrics`
 * writes them with the tasks by state and the request durations.
 */
import type { SecurityMetrics } from "../security/mod.ts";
import type { Clock } from "../base/mod.ts";
import type { TaskStatus } from "../protocol/mod.ts";
import {
  Histogram,
  type HistogramSample,
  HttpMetrics,
  PrometheusWriter,
  type Sample,
} from "../base/mod.ts";
import type { AgentObserver, TaskView } from "./agent.ts";
import type { FetcherCounters } from "./fetcher.ts";

/** Launch-to-running buckets in seconds (10 ms to 2 min). */
const LAUNCH_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Counters fed by the agent (it calls them as an `AgentObserver`). */
export class AgentInstruments implements AgentObserver {
  readonly launchToRunning = new Histogram(LAUNCH_BUCKETS);
  launchedTotal = 0;
  acknowledgedTotal = 0;
  readonly updatesByState = new Map<string, number>();
  readonly healthVerdicts = { healthy: 0, unhealthy: 0 };
  readonly #launchedAt = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** A LAUNCH for this task arrived. */
  launched(taskId: string): void {
    this.launchedTotal += 1;
    this.#launchedAt.set(taskId, this.clock.now());
  }

  /** A new status was queued for the master. */
  status(status: TaskStatus): void {
    const state = status.state;
    this.updatesByState.set(state, (this.updatesByState.get(state) ?? 0) + 1);
    if (status.healthy !== undefined) {
      this.healthVerdicts[status.healthy ? "healthy" : "unhealthy"] += 1;
    }
    const taskId = status.task_id.value;
    const at = this.#launchedAt.get(taskId);
    if (at === undefined) return;
    if (state === "TASK_RUNNING") {
      this.launchToRunning.observe((this.clock.now() - at) / 1000);
      this.#launchedAt.delete(taskId);
    } else if (state !== "TASK_STAGING" && state !== "TASK_STARTING") {
      this.#launchedAt.delete(taskId); // ended before running
    }
  }

  /** The master acknowledged an update. */
  acknowledged(): void {
    this.acknowledgedTotal += 1;
  }
}

/** What a scrape reads. */
export interface AgentMetricsSources {
  tasks: readonly TaskView[];
  pendingUpdates: number;
  connected: boolean;
  instruments: AgentInstruments;
  http: HttpMetrics;
  /** Refused requests to the agent's API (401, 429, 403). */
  security?: SecurityMetrics;
  /** What the fetcher did (`CommandInfo.uris`). */
  fetcher?: FetcherCounters;
}

/** Renders the agent's exposition text. */
export function renderAgentMetrics(s: AgentMetricsSources): string {
  const byState = new Map<string, number>();
  for (const t of s.tasks) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
  const i = s.instruments;
  const w = new PrometheusWriter()
    .gauge("tender_agent_tasks", "Tasks the agent holds, by state.", samples(byState, "state"))
    .gauge("tender_agent_connected", "1 while subscribed to the master.", s.connected ? 1 : 0)
    .counter(
      "tender_agent_containers_launched_total",
      "Tasks the master asked this agent to launch.",
      i.launchedTotal,
    )
    .histogram(
      "tender_agent_task_launch_to_running_seconds",
      "From a LAUNCH arriving to the task's TASK_RUNNING.",
      i.launchToRunning.samples() satisfies HistogramSample[],
    )
    .counter(
      "tender_agent_status_updates_total",
      "Status updates queued for the master, by state.",
      samples(i.updatesByState, "state"),
    )
    .gauge(
      "tender_agent_status_updates_pending",
      "Status updates waiting for the master's acknowledgement.",
      s.pendingUpdates,
    )
    .counter(
      "tender_agent_status_updates_acknowledged_total",
      "Status updates the master acknowledged.",
      i.acknowledgedTotal,
    )
    .counter("tender_agent_health_checks_total", "Health verdicts reported, by result.", [
      { labels: { result: "healthy" }, value: i.healthVerdicts.healthy },
      { labels: { result: "unhealthy" }, value: i.healthVerdicts.unhealthy },
    ]);
  if (s.fetcher) {
    w.counter("tender_agent_fetcher_uris_total", "Task URIs fetched into sandboxes, by result.", [
      { labels: { result: "fetched" }, value: s.fetcher.fetched },
      { labels: { result: "failed" }, value: s.fetcher.failures },
    ]).counter(
      "tender_agent_fetcher_cache_total",
      "Lookups of cached URIs in the fetcher's cache, by result.",
      [
        { labels: { result: "hit" }, value: s.fetcher.cacheHits },
        { labels: { result: "miss" }, value: s.fetcher.cacheMisses },
      ],
    );
  }
  s.http.write(w, "tender_agent");
  s.security?.write(w);
  return w.text();
}

function samples(counts: Map<string, number>, label: string): Sample[] {
  return [...counts].sort(([a], [b]) => a < b ? -1 : 1).map(([k, value]) => ({
    labels: { [label]: k },
    value,
  }));
}
