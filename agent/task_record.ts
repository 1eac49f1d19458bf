/** What the agent persists of each task, and the Mesos status that ends a container's life. */
import { z } from "zod";
import {
  AgentTaskSchema,
  FrameworkInfoSchema,
  type TaskState,
  type TaskStatus,
} from "../protocol/mod.ts";
import type { Termination } from "./containerizer/containerizer.ts";

/** A task as the agent stores it (`keys.task`): the wire `AgentTask` plus local facts. */
export const TaskRecordSchema = AgentTaskSchema.extend({
  framework_info: FrameworkInfoSchema,
  /** The containerizer's id for the task's container. */
  container_id: z.string().min(1),
  /** The executor id of the LAUNCH_GROUP the task came in: the group lives and dies together. */
  group: z.string().optional(),
  /** When the task first reported TASK_RUNNING (ms since the epoch). */
  started_at: z.number().optional(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

/** The fields of a status that differ per update. */
export type StatusFields =
  & Pick<TaskStatus, "state">
  & Partial<Omit<TaskStatus, "task_id" | "uuid">>;

/** Why the task is being killed, when it is (a health check, a group member, a KILL). */
export interface KillCause {
  message?: string;
  reason?: string;
  /** Set when a failed health check is the cause. */
  healthy?: boolean;
}

/**
 * The terminal status for a container that ended. A container the agent was killing is
 * TASK_KILLED; otherwise exit 0 is TASK_FINISHED and anything else TASK_FAILED, with Mesos'
 * messages and reasons.
 */
export function terminalStatus(termination: Termination, killing?: KillCause): StatusFields {
  if (killing) {
    return {
      state: "TASK_KILLED",
      message: killing.message ?? `Killed: ${termination.message}`,
      ...(killing.reason ? { reason: killing.reason } : {}),
      ...(killing.healthy !== undefined ? { healthy: killing.healthy } : {}),
    };
  }
  if (termination.reason === "oom") {
    return {
      state: "TASK_FAILED",
      message: termination.message,
      reason: "REASON_CONTAINER_LIMITATION_MEMORY",
    };
  }
  if (termination.reason === "launch_failed") {
    return {
      state: "TASK_FAILED",
      message: termination.message,
      reason: "REASON_CONTAINER_LAUNCH_FAILED",
    };
  }
  if (termination.exitCode === 0) {
    return { state: "TASK_FINISHED", message: "Command exited with status 0" };
  }
  return {
    state: "TASK_FAILED",
    message: termination.exitCode === null
      ? `Command ${termination.message}`
      : `Command exited with status ${termination.exitCode}`,
    reason: "REASON_COMMAND_EXECUTOR_FAILED",
  };
}

/** The state to report for a task whose container vanished while the agent was down. */
export function vanishedState(partitionAware: boolean): TaskState {
  return partitionAware ? "TASK_GONE" : "TASK_LOST";
}
