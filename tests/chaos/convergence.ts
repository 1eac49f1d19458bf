/**
 * Whether the cluster is whole again, from one snapshot: a master leads and lists every agent
 * active, Marathon answers and is subscribed, and every app runs exactly `instances` tasks, all
 * running, each one a process on its agent, with nothing else of it running anywhere. An app in
 * a deployment the driver started after the fault (`excused`) is left out: the driver never
 * stops, and that deployment is the next fault's concern; any other deployment is waited for.
 */
import type { Snapshot } from "./chaos_cluster.ts";

/** What a convergence check says. */
export interface Convergence {
  converged: boolean;
  /** What it still waits for (empty when converged). */
  waiting: string[];
}

/** Checks one snapshot; `agents` are the agents' names that must be active. */
export function convergence(
  snapshot: Snapshot,
  options: { agents: readonly string[]; excused?: ReadonlySet<string> },
): Convergence {
  const waiting: string[] = [];
  const { master, apps, marathonTasks } = snapshot;
  if (!master) waiting.push("no master leads");
  if (!apps || !marathonTasks) waiting.push("no Marathon answers");
  if (master) {
    for (const name of options.agents) {
      const agent = master.slaves.find((s) => s.hostname === name);
      if (!agent?.active) waiting.push(`${name} is not active at the master`);
    }
    const marathon = master.frameworks.find((f) => f.name === "marathon");
    if (!marathon?.connected) waiting.push("Marathon is not subscribed");
  }
  if (!apps || waiting.length > 0) return { converged: false, waiting };
  const known = new Set(apps.map((a) => a.id));
  const marathonKnows = new Set(marathonTasks?.map((t) => t.id));
  for (const app of apps) {
    // A process of the app Marathon does not know is never excused, deployment or not.
    const strays = snapshot.running.filter((r) =>
      r.appId === app.id && !marathonKnows.has(r.taskId)
    );
    if (strays.length > 0) {
      waiting.push(
        `${app.id}: task process(es) Marathon does not know run (${
          strays.map((r) => `${r.taskId} on ${r.host}`).join(", ")
        })`,
      );
      continue;
    }
    const deployments = app.deployments.map((d) => d.id);
    if (deployments.length > 0) {
      const pending = deployments.filter((id) => !options.excused?.has(id));
      if (pending.length > 0) {
        waiting.push(`${app.id}: deployment ${pending.join(", ")} in progress`);
      }
      continue;
    }
    const running = snapshot.running.filter((r) => r.appId === app.id);
    const tasks = app.tasks;
    const notRunning = tasks.filter((t) => t.state !== "TASK_RUNNING");
    if (tasks.length !== app.instances || notRunning.length > 0) {
      waiting.push(
        `${app.id}: ${tasks.length - notRunning.length} of ${app.instances} running per Marathon` +
          (notRunning.length > 0 ? ` (${notRunning.map((t) => t.state).join(", ")})` : ""),
      );
      continue;
    }
    const ids = new Set(tasks.map((t) => t.id));
    const extra = running.filter((r) => !ids.has(r.taskId));
    const missing = tasks.filter((t) => !running.some((r) => r.taskId === t.id));
    if (extra.length > 0) {
      waiting.push(
        `${app.id}: ${extra.length} more task process(es) run (${
          extra.map((r) => `${r.taskId} on ${r.host}`).join(", ")
        })`,
      );
    }
    if (missing.length > 0) {
      waiting.push(
        `${app.id}: no process runs ${missing.map((t) => `${t.id} on ${t.host}`).join(", ")}`,
      );
    }
  }
  for (const r of snapshot.running) {
    if (r.appId && !known.has(r.appId)) {
      waiting.push(
        `task ${r.taskId} of ${r.appId}, an app Marathon does not have, runs on ${r.host}`,
      );
    }
  }
  return { converged: waiting.length === 0, waiting };
}
