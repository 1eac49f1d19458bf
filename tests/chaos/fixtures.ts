/** Fixed inputs for the chaos checks' unit tests: apps, tasks and snapshots built by hand. */
import type { Snapshot } from "./chaos_cluster.ts";
import type { RunningTask } from "./ground_truth.ts";
import type { AgentState, MarathonApp, MarathonTask, MasterState, MasterTask } from "./views.ts";

/** A Marathon task of `appId` on `host`, running unless told. */
export function task(appId: string, n: number, host: string, state = "TASK_RUNNING"): MarathonTask {
  return { id: `${appId.slice(1).replaceAll("/", "_")}.${n}`, appId, host, state, version: "v1" };
}

/** An app with its active tasks; one instance over allowed during a restart unless told. */
export function app(
  id: string,
  tasks: MarathonTask[],
  overrides: Partial<MarathonApp> = {},
): MarathonApp {
  return {
    id,
    version: "v1",
    versionInfo: { lastConfigChangeAt: "v1" },
    instances: tasks.length,
    env: { GEN: "1" },
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 },
    deployments: [],
    tasksRunning: tasks.filter((t) => t.state === "TASK_RUNNING").length,
    tasks,
    ...overrides,
  };
}

/** The process of a Marathon task, where it says it runs. */
export function running(t: MarathonTask, pgid = 100): RunningTask {
  return { taskId: t.id, appId: t.appId, host: t.host, pgids: [pgid] };
}

/** A master with agents agent-1…agent-N active (unless listed in `inactive`) and these tasks. */
export function master(
  tasks: MarathonTask[],
  options: { agents?: number; inactive?: string[] } = {},
): MasterState {
  const masterTask = (t: MarathonTask): MasterTask => ({
    id: t.id,
    state: t.state,
    slave_id: `S-${t.host}`,
    framework_id: "fw",
  });
  return {
    slaves: Array.from({ length: options.agents ?? 4 }, (_, i) => `agent-${i + 1}`).map((h) => ({
      id: `S-${h}`,
      hostname: h,
      active: !options.inactive?.includes(h),
    })),
    frameworks: [{
      id: "fw",
      name: "marathon",
      connected: true,
      tasks: tasks.filter((t) => t.state !== "TASK_UNREACHABLE").map(masterTask),
      unreachable_tasks: tasks.filter((t) => t.state === "TASK_UNREACHABLE").map(masterTask),
      completed_tasks: [],
    }],
  };
}

/** A snapshot where every view agrees on `apps`' tasks, with what differs overridden. */
export function snapshot(apps: MarathonApp[], overrides: Partial<Snapshot> = {}): Snapshot {
  const tasks = apps.flatMap((a) => a.tasks);
  return {
    at: 1_000_000,
    running: tasks.map((t) => running(t)),
    marathonTasks: tasks,
    apps,
    master: master(tasks),
    ...overrides,
  };
}

/** The four agents' own states holding exactly these tasks. */
export function agentStates(tasks: MarathonTask[]): Map<string, AgentState | undefined> {
  return new Map(
    ["agent-1", "agent-2", "agent-3", "agent-4"].map((h) => [h, {
      id: `S-${h}`,
      hostname: h,
      tasks: tasks.filter((t) => t.host === h).map((t) => ({
        id: t.id,
        state: t.state,
        framework_id: "fw",
      })),
    }]),
  );
}
