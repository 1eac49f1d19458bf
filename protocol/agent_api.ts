/**
 * The agent protocol, between an agent and the master (`POST /api/v1/agent`).
 *
 * The agent opens one connection: SUBSCRIBE answers 200 with a RecordIO stream of
 * `AgentEvent`s (commands from the master) and a `Mesos-Stream-Id` header. On other
 * connections the agent posts UPDATE (a task status, retried until acknowledged) and
 * HEARTBEAT, each answered 202. Works behind NAT: the master never dials the agent.
 */
import { z } from "zod";
import {
  AgentIdSchema,
  AttributeSchema,
  ExecutorInfoSchema,
  FrameworkIdSchema,
  FrameworkInfoSchema,
  KillPolicySchema,
  ResourceSchema,
  TaskIdSchema,
  TaskInfoSchema,
  TaskStatusSchema,
} from "./mesos.ts";

/** What an agent says of itself when it (re)subscribes. */
export const AgentInfoSchema = z.object({
  /** Set when re-registering with the id the master gave before. */
  id: AgentIdSchema.optional(),
  hostname: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  resources: z.array(ResourceSchema),
  attributes: z.array(AttributeSchema).default([]),
});
export type AgentInfo = z.infer<typeof AgentInfoSchema>;

/** A task the agent runs (or ran), reported on re-registration so the master can reconcile. */
export const AgentTaskSchema = z.object({
  framework_id: FrameworkIdSchema,
  framework_info: FrameworkInfoSchema.optional(),
  task: TaskInfoSchema,
  /** The latest status the agent knows. */
  status: TaskStatusSchema,
});
export type AgentTask = z.infer<typeof AgentTaskSchema>;

/** A call from an agent to the master. */
export const AgentCallSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("SUBSCRIBE"),
    subscribe: z.object({
      agent_info: AgentInfoSchema,
      tasks: z.array(AgentTaskSchema).default([]),
    }),
  }),
  z.object({
    type: z.literal("UPDATE"),
    agent_id: AgentIdSchema,
    update: z.object({ framework_id: FrameworkIdSchema, status: TaskStatusSchema }),
  }),
  z.object({ type: z.literal("HEARTBEAT"), agent_id: AgentIdSchema }),
]);
export type AgentCall = z.infer<typeof AgentCallSchema>;

/** A command from the master to an agent, on the agent's SUBSCRIBE stream. */
export const AgentEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("SUBSCRIBED"),
    subscribed: z.object({
      agent_id: AgentIdSchema,
      master_id: z.string(),
      heartbeat_interval_seconds: z.number().positive(),
    }),
  }),
  z.object({
    type: z.literal("LAUNCH"),
    launch: z.object({
      framework_id: FrameworkIdSchema,
      framework_info: FrameworkInfoSchema,
      task: TaskInfoSchema,
    }),
  }),
  z.object({
    type: z.literal("LAUNCH_GROUP"),
    launch_group: z.object({
      framework_id: FrameworkIdSchema,
      framework_info: FrameworkInfoSchema,
      executor: ExecutorInfoSchema,
      tasks: z.array(TaskInfoSchema),
    }),
  }),
  z.object({
    type: z.literal("KILL"),
    kill: z.object({
      framework_id: FrameworkIdSchema,
      task_id: TaskIdSchema,
      kill_policy: KillPolicySchema.optional(),
    }),
  }),
  z.object({
    type: z.literal("ACKNOWLEDGE"),
    acknowledge: z.object({
      framework_id: FrameworkIdSchema,
      task_id: TaskIdSchema,
      uuid: z.string(),
    }),
  }),
  z.object({
    /** Resend the latest status of these tasks (as unreliable updates, no uuid). */
    type: z.literal("RECONCILE"),
    reconcile: z.object({
      tasks: z.array(z.object({ framework_id: FrameworkIdSchema, task_id: TaskIdSchema })),
    }),
  }),
  z.object({
    /** Kill every task of this framework: it was torn down. */
    type: z.literal("SHUTDOWN_FRAMEWORK"),
    shutdown_framework: z.object({ framework_id: FrameworkIdSchema }),
  }),
  z.object({ type: z.literal("HEARTBEAT") }),
  z.object({ type: z.literal("ERROR"), error: z.object({ message: z.string() }) }),
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
