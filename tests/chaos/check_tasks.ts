/**
 * After the faults, every view of every task agrees. What runs (a task's processes on a host),
 * what its agent holds, what the leading master has and what Marathon has must name the same
 * tasks in the same state:
 * - an orphan is a task running on an agent (a process, or held by the agent) that the master
 *   or Marathon does not know;
 * - a lost status update is a task one side still believes alive (or in an older state) after
 *   the side below it moved on: Marathon or the master has it running where its agent holds
 *   nothing and nothing runs it, or in another state than the agent reports, or the agent
 *   holds it running with no process.
 */
import type { Snapshot } from "./chaos_cluster.ts";
import { TERMINAL_STATES } from "./views.ts";
import type { Violation } from "./violation.ts";

/**
 * Orphans and lost updates in a snapshot read with the agents' own states. `firstSeen`: when
 * each task's process was first seen running (said of an orphan, with what the master recorded
 * of it, to tell how it came to be).
 */
export function checkTasks(
  snapshot: Snapshot,
  firstSeen: ReadonlyMap<string, number> = new Map(),
): Violation[] {
  const out: Violation[] = [];
  const { master, marathonTasks, agents } = snapshot;
  if (!master || !marathonTasks || !agents) {
    out.push({
      check: "availability",
      message: `cannot compare tasks: ${!master ? "no master leads" : ""}${
        !marathonTasks ? " no Marathon answers" : ""
      }${!agents ? " agents not read" : ""}`.trim(),
    });
    return out;
  }
  const completed = new Map(
    master.frameworks.flatMap((f) => f.completed_tasks).map((t) => [t.id, t]),
  );
  /** What else is known of an orphan: since when it runs, what the master recorded of it. */
  const history = (taskId: string) => {
    const seen = firstSeen.get(taskId);
    const done = completed.get(taskId);
    return [
      ...(seen !== undefined ? [`running since ${new Date(seen).toISOString()} or before`] : []),
      ...(done
        ? [`the master recorded it finished: ${done.statuses.map((s) => s.state).join(" → ")}`]
        : []),
    ].map((h) => ` (${h})`).join("");
  };
  const orphan = (message: string) => out.push({ check: "orphans", message });
  const lost = (message: string) => out.push({ check: "status-updates", message });

  const masterTasks = new Map(
    master.frameworks.flatMap((f) => [...f.tasks, ...f.unreachable_tasks]).map((t) => [t.id, t]),
  );
  const agentName = new Map(master.slaves.map((s) => [s.id, s.hostname]));
  const marathon = new Map(marathonTasks.map((t) => [t.id, t]));
  const processes = new Map(snapshot.running.map((r) => [`${r.host}\0${r.taskId}`, r]));
  const runs = (host: string, taskId: string) => processes.has(`${host}\0${taskId}`);

  for (const [name, state] of agents) {
    if (!state) {
      out.push({ check: "availability", message: `${name} does not answer /state` });
      continue;
    }
    const held = new Map(state.tasks.map((t) => [t.id, t]));
    // What runs there: each process's task must be held by the agent and known above it.
    for (const r of snapshot.running.filter((r) => r.host === name)) {
      const where = `task ${r.taskId} runs on ${name}`;
      const unknownTo = [
        ...(!held.has(r.taskId) ? ["its agent"] : []),
        ...(!masterTasks.has(r.taskId) ? ["the master"] : []),
        ...(r.appId && !marathon.has(r.taskId) ? ["Marathon"] : []),
      ];
      if (unknownTo.length > 0) {
        orphan(`${where}, unknown to ${unknownTo.join(", ")}${history(r.taskId)}`);
      }
    }
    for (const t of held.values()) {
      if (TERMINAL_STATES.has(t.state)) continue;
      if (!masterTasks.has(t.id)) {
        orphan(`${name} holds task ${t.id} (${t.state}), the master does not know it`);
      }
      if (t.state === "TASK_RUNNING" && !runs(name, t.id)) {
        lost(`${name} holds task ${t.id} as TASK_RUNNING, but no process runs it`);
      }
    }
  }

  for (const t of masterTasks.values()) {
    const name = agentName.get(t.slave_id) ?? t.slave_id;
    const agent = agents.get(name);
    if (!agent) continue;
    const held = agent.tasks.find((a) => a.id === t.id);
    if (!held) {
      lost(`the master has task ${t.id} as ${t.state} on ${name}, which does not hold it`);
    } else if (held.state !== t.state) {
      lost(`the master has task ${t.id} as ${t.state}, its agent ${name} as ${held.state}`);
    }
  }

  for (const t of marathon.values()) {
    if (TERMINAL_STATES.has(t.state)) continue;
    const m = masterTasks.get(t.id);
    if (!m) {
      const runsThere = runs(t.host, t.id) ? "its process still runs" : "nothing runs it";
      lost(
        `Marathon has task ${t.id} as ${t.state} on ${t.host}; the master does not know it and ${runsThere}`,
      );
    } else if (m.state !== t.state) {
      lost(`Marathon has task ${t.id} as ${t.state}, the master as ${m.state}`);
    }
  }
  return out;
}
