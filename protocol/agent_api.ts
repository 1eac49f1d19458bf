/**
 * The agent protocol, between an agent and the master (`POST /api/v1/agent`).
 *
 * The agent opens one connection: SUBSCRIBE answers 200 with a RecordIO stream of
 * `AgentEvent`s (commands from the master) and a `Mesos-Stream-Id` header. On other
 * connections the agent posts UPDATE (a task status, retried until acknowledged) and
 * HEARTBEAT, each answered 202. Works behind NAT: the master never dials the agent.
 */
import { z } from "zod";
import { LIMITS } from "../base/mod.ts";
import {
  AgentIdSchema,
  type Attribute,
  AttributeSchema,
  ExecutorIdSchema,
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

/**
 * The agent attribute naming the containerizers an agent has, as Mesos' `--containerizers`
 * flag does (TEXT, e.g. `docker,process`): frameworks see it in offers and place tasks with an
 * image only where one of them runs images. An operator's own `--attributes` value wins.
 */
export const CONTAINERIZERS_ATTRIBUTE = "containerizers";

/** Containerizers that run a task's image (`simulated` runs anything, for capacity planning). */
export const IMAGE_CONTAINERIZERS: readonly string[] = ["docker", "containerd", "simulated"];

/** The `containerizers` attribute for these containerizer kinds (sorted, comma-separated). */
export function containerizersAttribute(kinds: readonly string[]): Attribute {
  const value = [...new Set(kinds)].sort().join(",");
  return { name: CONTAINERIZERS_ATTRIBUTE, type: "TEXT", text: { value } };
}

/**
 * Whether an agent, by its attributes (e.g. an offer's), runs tasks with an image. An agent
 * that does not say (older agents, hand-made offers) is assumed to, as before the attribute.
 */
export function runsImages(attributes: readonly Attribute[]): boolean {
  const attribute = attributes.find((a) => a.name === CONTAINERIZERS_ATTRIBUTE);
  if (attribute?.type !== "TEXT" || attribute.text === undefined) return true;
  return attribute.text.value.split(",").some((k) => IMAGE_CONTAINERIZERS.includes(k.trim()));
}

/** A task the agent runs (or ran), reported on re-registration so the master can reconcile. */
export const AgentTaskSchema = z.object({
  framework_id: FrameworkIdSchema,
  framework_info: FrameworkInfoSchema.optional(),
  task: TaskInfoSchema,
  /** The executor of the task group it was launched in (a group member's TaskInfo has none). */
  executor_id: ExecutorIdSchema.optional(),
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
      /**
       * The cluster this agent registered with before (the master's SUBSCRIBED told it): a master
       * whose store belongs to another cluster refuses the agent instead of adopting it.
       */
      cluster_id: z.string().min(1).max(LIMITS.idLength).optional(),
      /**
       * The address the agent advertises (`--advertise-ip`): where its API and its tasks' host
       * ports are reached; Mesos names an agent by it (`slave(1)@IP:PORT`). Without it, the
       * master takes the address the agent connected from.
       */
      advertise_ip: z.string().min(1).optional(),
      /** How the agent's API is reached: `https` when it serves TLS (default `http`). */
      scheme: z.enum(["http", "https"]).optional(),
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
      /** The cluster the master's store belongs to; the agent keeps it for its next SUBSCRIBE. */
      cluster_id: z.string().optional(),
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
  z.object({
    /**
     * The agent's checkpointed resources after an operation (RESERVE, UNRESERVE, CREATE,
     * DESTROY): every dynamic reservation and persistent volume, as Mesos'
     * CheckpointResourcesMessage. The agent persists them, creates and deletes volume
     * directories to match, and reports its total with them applied from then on.
     */
    type: z.literal("CHECKPOINT_RESOURCES"),
    checkpoint_resources: z.object({ resources: z.array(ResourceSchema) }),
  }),
  z.object({ type: z.literal("HEARTBEAT") }),
  z.object({ type: z.literal("ERROR"), error: z.object({ message: z.string() }) }),
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
