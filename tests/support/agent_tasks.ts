/**
 * The tasks and LAUNCH events the agent tests send through a FakeMaster: a small task on
 * `agent-1` for framework `fw-1`, and its LAUNCH.
 */
import type { AgentEvent, FrameworkInfo, Resource, TaskInfo } from "../../protocol/mod.ts";

/** The user the tests run as (the framework's user where a test runs tasks as itself). */
export const CURRENT_USER = Deno.env.get("USER") || "root";

/** What a test task asks for: 0.1 cpus and 32 MB. */
export const SMALL_TASK_RESOURCES: readonly Resource[] = [
  { name: "cpus", type: "SCALAR", scalar: { value: 0.1 } },
  { name: "mem", type: "SCALAR", scalar: { value: 32 } },
];

/** Framework `fw-1` (named `t`), whose tasks run as `user`. */
export function testFramework(user = "root"): FrameworkInfo {
  return { user, name: "t", id: { value: "fw-1" } };
}

/**
 * A task named and identified `id` on `agent-1`, with `SMALL_TASK_RESOURCES` and `resources`
 * after them, then the fields of `extra` (a command, a container) over it.
 */
export function testTask(
  id: string,
  extra: Partial<TaskInfo> = {},
  resources: readonly Resource[] = [],
): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: "agent-1" },
    resources: [...SMALL_TASK_RESOURCES, ...resources],
    ...extra,
  };
}

/** The master's LAUNCH of `task` for `framework` (default `testFramework()`). */
export function launchEvent(task: TaskInfo, framework = testFramework()): AgentEvent {
  return {
    type: "LAUNCH",
    launch: {
      framework_id: { value: framework.id?.value ?? "fw-1" },
      framework_info: framework,
      task,
    },
  };
}
