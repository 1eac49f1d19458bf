/** Renders the master's books as Prometheus text, plus the latency histograms the shell feeds. */
import type { Clock, HttpMetrics } from "../../base/mod.ts";
import { isTerminalState, TASK_STATES } from "../../protocol/mod.ts";
import { Histogram, PrometheusWriter } from "../../base/mod.ts";
import type { Change } from "../core/context.ts";
import type { MasterView } from "../core/master_view.ts";
import { type FrameworkRecord, taskKey } from "../core/records.ts";
import type { MasterService } from "../runtime.ts";
import { agentBooks, type AgentStatus, clusterBooks } from "./books.ts";
import type { SecurityMetrics } from "../../security/mod.ts";

const RESOURCE_NAMES = ["cpus", "mem", "disk", "gpus", "ports"];
const AGENT_STATUSES: AgentStatus[] = ["active", "disconnected", "unreachable"];
/** Launches remembered while waiting for TASK_RUNNING; older ones are dropped past this. */
const MAX_PENDING_LAUNCHES = 100_000;

/**
 * Latencies the master's shell reports: allocation runs (timed by the shell) and
 * launch-to-running, derived from the task records each operation persists.
 */
export class MasterInstruments {
  readonly allocation = new Histogram();
  readonly launchToRunning = new Histogram([0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
  readonly #launched = new Map<string, number>();

  constructor(readonly clock: Clock) {}

  /** One allocation run took this long. */
  observeAllocation(seconds: number): void {
    this.allocation.observe(seconds);
  }

  /** Reads one operation's drained changes: new tasks start a clock, TASK_RUNNING stops it. */
  observeChanges(changes: readonly Change[]): void {
    const now = this.clock.now();
    for (const change of changes) {
      if (change.kind !== "task") continue;
      const key = taskKey(change.frameworkId, change.taskId);
      const task = change.value;
      if (task === null || isTerminalState(task.state)) {
        this.#launched.delete(key);
      } else if (task.state === "TASK_STAGING" && task.statuses.length === 0) {
        if (this.#launched.size >= MAX_PENDING_LAUNCHES) {
          this.#launched.delete(this.#launched.keys().next().value!);
        }
        this.#launched.set(key, now);
      } else if (task.state === "TASK_RUNNING") {
        const start = this.#launched.get(key);
        if (start === undefined) continue;
        this.#launched.delete(key);
        this.launchToRunning.observe(Math.max(0, now - start) / 1000);
      }
    }
  }
}

/** Sums of milli-unit scalars drift in binary floating point: keep six decimals. */
function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Everything `masterMetrics` renders beyond the books. */
export interface MasterMetricsSources {
  instruments?: MasterInstruments;
  http?: HttpMetrics;
  /** Refused requests (401, 429, 403 by action). */
  security?: SecurityMetrics;
  /**
   * The frameworks the caller may see (`view_frameworks`): series labelled with a framework's
   * id and name leave out the others, as `/master/state` does. Default: every framework.
   */
  framework?: (f: FrameworkRecord) => boolean;
}

/** The master's `/metrics` text, read from its books (`runtime.view`) as they are now. */
export function masterMetrics(runtime: MasterService, sources: MasterMetricsSources = {}): string {
  return renderMasterMetrics(runtime.view, sources);
}

/** `masterMetrics` over the books themselves (pure; for benchmarks and tests). */
export function renderMasterMetrics(
  ctx: MasterView,
  sources: MasterMetricsSources = {},
): string {
  const w = new PrometheusWriter();
  const c = ctx.counters;
  w.counter("tender_offers_total", "Resource offers by outcome.", [
    { labels: { outcome: "sent" }, value: c.offersSent },
    { labels: { outcome: "accepted" }, value: c.offersAccepted },
    { labels: { outcome: "declined" }, value: c.offersDeclined },
    { labels: { outcome: "rescinded" }, value: c.offersRescinded },
  ]);
  w.gauge("tender_offers_outstanding", "Offers tendered and not yet answered.", ctx.offers.size);
  w.counter("tender_tasks_launched_total", "Tasks launched from accepted offers.", c.tasksLaunched);
  w.counter("tender_status_updates_total", "Task status updates from agents.", c.statusUpdates);
  w.counter("tender_invalid_calls_total", "Scheduler calls refused as invalid.", c.invalidCalls);

  const byState = new Map<string, number>(TASK_STATES.map((s) => [s, 0]));
  for (const t of ctx.tasks.values()) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
  w.gauge(
    "tender_tasks",
    "Tasks the master tracks, by state (terminal tasks until acknowledged).",
    [...byState].map(([state, value]) => ({ labels: { state }, value })),
  );

  const agents = agentBooks(ctx);
  w.gauge(
    "tender_agents",
    "Registered agents by state.",
    AGENT_STATUSES.map((state) => ({
      labels: { state },
      value: agents.filter((a) => a.status === state).length,
    })),
  );
  const connected = [...ctx.frameworks.keys()].filter((id) => ctx.frameworkConnections.has(id));
  w.gauge("tender_frameworks", "Registered frameworks by state.", [
    { labels: { state: "connected" }, value: connected.length },
    { labels: { state: "disconnected" }, value: ctx.frameworks.size - connected.length },
  ]);
  const shares = ctx.allocator.shares().frameworks;
  w.gauge(
    "tender_framework_dominant_share",
    "Each framework's DRF dominant share (0-1).",
    [...ctx.frameworks.values()].filter(sources.framework ?? (() => true)).map((f) => ({
      labels: { framework_id: f.id, name: f.info.name },
      value: shares[f.id] ?? 0,
    })),
  );

  const sums = clusterBooks(agents.filter((a) => a.status === "active"));
  const names = new Set([...RESOURCE_NAMES, ...Object.keys(sums.total)]);
  w.gauge(
    "tender_resources",
    "Resources of active agents: total, used by tasks, offered (ports counted one by one).",
    [...names].flatMap((resource) =>
      (["total", "used", "offered"] as const).map((kind) => ({
        labels: { resource, kind },
        value: round(sums[kind][resource] ?? 0),
      }))
    ),
  );

  const instruments = sources.instruments;
  w.histogram(
    "tender_allocation_duration_seconds",
    "Time one allocation run took.",
    instruments?.allocation.samples() ?? [],
  );
  w.histogram(
    "tender_task_launch_to_running_seconds",
    "Time from a task's launch to its first TASK_RUNNING.",
    instruments?.launchToRunning.samples() ?? [],
  );
  sources.http?.write(w, "tender_master");
  sources.security?.write(w);
  w.gauge("tender_master_start_time_seconds", "When the master started.", ctx.startTime / 1000);
  // A master with books leads: a standby serves its own /metrics (master/http/standby_app.ts).
  w.gauge("tender_master_elected", "1 when this master leads, 0 when it stands by.", 1);
  return w.text();
}
