/**
 * Marathon's Prometheus metrics: whether it leads, apps, instances by condition and health,
 * deployments, and the driver calls the scheduler made (launches, kills, offers used and
 * declined).
 */
import type { SchedulerDriver } from "../../mod.ts";
import { type HttpMetrics, PrometheusWriter, type Sample } from "../../base/mod.ts";
import type { SecurityMetrics } from "../../security/mod.ts";
import { CONDITIONS } from "./model/instance.ts";
import type { MarathonStore } from "./store/store.ts";

/** Counts the driver calls the scheduler makes. */
export class MarathonInstruments {
  tasksLaunched = 0;
  kills = 0;
  offersUsed = 0;
  offersDeclined = 0;

  /**
   * Wraps `driver`'s accept (which its launch calls: app tasks, and pods' task groups), decline
   * and kill (the scheduler gets this same driver).
   */
  watch(driver: SchedulerDriver): void {
    const accept = driver.accept.bind(driver);
    const decline = driver.decline.bind(driver);
    const kill = driver.kill.bind(driver);
    driver.accept = async (offerIds, operations, filters) => {
      await accept(offerIds, operations, filters);
      this.offersUsed += offerIds.length;
      for (const op of operations) {
        this.tasksLaunched += (op.launch?.task_infos ?? op.launch_group?.task_group.tasks ?? [])
          .length;
      }
    };
    driver.decline = async (offerIds, filters) => {
      await decline(offerIds, filters);
      this.offersDeclined += offerIds.length;
    };
    driver.kill = async (taskId, agentId, gracePeriodMs) => {
      await kill(taskId, agentId, gracePeriodMs);
      this.kills += 1;
    };
  }
}

/** Renders Marathon's exposition text from its store and counters. */
export async function renderMarathonMetrics(deps: {
  store: MarathonStore;
  instruments: MarathonInstruments;
  http: HttpMetrics;
  /** 401s, 429s and 403s of the API. */
  security?: SecurityMetrics;
  /** Whether the framework is registered, and how often the master ended it. */
  framework?: { readonly loss: unknown; readonly losses: number };
}): Promise<string> {
  const { store, instruments: i } = deps;
  const books = await store.state();
  const [apps, instances, deployments] = [books.apps(), books.instances(), books.deployments()];
  const byCondition = new Map<string, number>(CONDITIONS.map((c) => [c, 0]));
  const byHealth = new Map<string, number>([["healthy", 0], ["unhealthy", 0], ["unknown", 0]]);
  for (const inst of instances) {
    byCondition.set(inst.condition, (byCondition.get(inst.condition) ?? 0) + 1);
    const health = inst.healthy === undefined ? "unknown" : inst.healthy ? "healthy" : "unhealthy";
    byHealth.set(health, byHealth.get(health)! + 1);
  }
  const w = electedGauge(new PrometheusWriter(), true)
    .gauge("tender_marathon_apps", "Apps defined.", apps.length)
    .gauge(
      "tender_marathon_apps_wanted_instances",
      "Instances wanted, summed over apps.",
      apps.reduce((sum, a) => sum + a.instances, 0),
    )
    .gauge("tender_marathon_instances", "Instances by condition.", samples(byCondition, "state"))
    .gauge(
      "tender_marathon_instances_health",
      "Instances by health (unknown: no health checks or no verdict yet).",
      samples(byHealth, "health"),
    )
    .gauge("tender_marathon_deployments_running", "Deployments in progress.", deployments.length)
    .counter("tender_marathon_tasks_launched_total", "Tasks launched.", i.tasksLaunched)
    .counter("tender_marathon_kills_total", "Kill calls sent to the master.", i.kills)
    .counter("tender_marathon_offers_total", "Offers the scheduler used or declined.", [
      { labels: { outcome: "used" }, value: i.offersUsed },
      { labels: { outcome: "declined" }, value: i.offersDeclined },
    ]);
  if (deps.framework) {
    w.gauge(
      "tender_marathon_framework_lost",
      "1 while the master has ended Marathon's framework and it has not registered again.",
      deps.framework.loss ? 1 : 0,
    ).counter(
      "tender_marathon_framework_losses_total",
      "Times the master ended Marathon's framework (torn down, removed, or taken over).",
      deps.framework.losses,
    );
  }
  deps.http.write(w, "tender_marathon");
  deps.security?.write(w);
  return w.text();
}

/** What a standby Marathon's `/metrics` says: that it does not lead (and its own refusals). */
export function renderStandbyMetrics(security?: SecurityMetrics): string {
  const w = electedGauge(new PrometheusWriter(), false);
  security?.write(w);
  return w.text();
}

function electedGauge(w: PrometheusWriter, elected: boolean): PrometheusWriter {
  return w.gauge(
    "tender_marathon_elected",
    "1 when this Marathon leads, 0 when it stands by (proxying to the leader).",
    elected ? 1 : 0,
  );
}

function samples(counts: Map<string, number>, label: string): Sample[] {
  return [...counts].map(([k, value]) => ({ labels: { [label]: k }, value }));
}
