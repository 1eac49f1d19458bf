/**
 * What the master remembers durably: agents, frameworks and tasks. These records cross the
 * KV boundary, so each has a schema and is parsed once when loaded.
 */
import { z } from "zod";
import {
  AgentInfoSchema,
  FrameworkInfoSchema,
  KillPolicySchema,
  ResourceSchema,
  TaskInfoSchema,
  TaskStateSchema,
  TaskStatusSchema,
} from "../../protocol/mod.ts";
import { fitsStoredRecord } from "../../base/mod.ts";

export const AgentRecordSchema = z.object({
  id: z.string(),
  info: AgentInfoSchema,
  /** The address the agent connected from: where its tasks' host ports are reached. */
  ip: z.string().optional(),
  /** `https` when the agent's API serves TLS. */
  scheme: z.enum(["http", "https"]).optional(),
  /**
   * The principal the agent registered as: its id is bound to it, so that nobody else can
   * subscribe as this agent and receive its launches.
   */
  principal: z.string().optional(),
  registeredTime: z.number().finite(),
  reregisteredTime: z.number().finite().optional(),
  /** Maintenance: a deactivated agent is offered to nobody (Mesos DEACTIVATE/DRAIN_AGENT). */
  deactivated: z.boolean().default(false),
  /** Set while draining: its tasks are killed; DRAINED once none is left. */
  drain: z.object({
    state: z.enum(["DRAINING", "DRAINED"]),
    maxGracePeriodNs: z.number().finite().optional(),
    /** DRAIN_AGENT's `mark_gone`: once DRAINED, the agent is marked gone. */
    markGone: z.boolean().optional(),
  }).optional(),
  /** unreachable: silent past the timeout; its tasks were reported TASK_UNREACHABLE/LOST. */
  unreachableTime: z.number().finite().optional(),
});
export type AgentRecord = z.infer<typeof AgentRecordSchema>;

export const FrameworkRecordSchema = z.object({
  id: z.string(),
  info: FrameworkInfoSchema,
  roles: z.array(z.string()),
  registeredTime: z.number().finite(),
  reregisteredTime: z.number().finite().optional(),
  /** Set while no scheduler is subscribed; the failover timeout runs from here. */
  disconnectedTime: z.number().finite().optional(),
  suppressedRoles: z.array(z.string()).default([]),
});
export type FrameworkRecord = z.infer<typeof FrameworkRecordSchema>;

export const TaskRecordSchema = z.object({
  frameworkId: z.string(),
  agentId: z.string(),
  role: z.string(),
  info: TaskInfoSchema,
  /**
   * The executor of the task group the task was launched in (LAUNCH_GROUP): a group member's
   * TaskInfo names none, yet SHUTDOWN of that executor must find it.
   */
  executorId: z.string().optional(),
  /** Resources charged to the task (task plus executor), as Mesos resources. */
  resources: z.array(ResourceSchema),
  state: TaskStateSchema,
  /** The latest few statuses, oldest first. */
  statuses: z.array(TaskStatusSchema),
  /** The uuid of the latest reliable status not yet acknowledged by the framework. */
  pendingUuid: z.string().optional(),
  /** A kill asked for while the agent could not be told; sent when it re-registers. */
  killRequested: z.boolean().default(false),
  /**
   * The task is being killed: routers drain it (no new requests) from the moment this is set
   * until the task ends. The kill goes to the agent at `at` (ms); `sent` once it has.
   */
  drainingKill: z.object({
    at: z.number().finite(),
    killPolicy: KillPolicySchema.optional(),
    sent: z.boolean().default(false),
  }).optional(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

/** How many statuses a task keeps. */
export const STATUS_HISTORY = 10;

/** The executor a task runs under: its group's, else the one its TaskInfo names. */
export function executorIdOf(task: TaskRecord): string | undefined {
  return task.executorId ?? task.info.executor?.executor_id.value;
}

/**
 * Appends a status to a task's bounded history: at most `STATUS_HISTORY`, and fewer when the
 * record would outgrow what the store takes (statuses carry free text), oldest dropped first.
 */
export function withStatus(
  task: TaskRecord,
  status: TaskRecord["statuses"][number],
): TaskRecord["statuses"] {
  const statuses = [...task.statuses, status].slice(-STATUS_HISTORY);
  while (statuses.length > 1 && !fitsStoredRecord({ ...task, statuses })) {
    statuses.shift();
  }
  return statuses;
}

/** The key under which a task lives in memory and in KV. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}
