/**
 * An instance of an app or a pod: one placement of it, Marathon's "instance" with its one task
 * (an app's) or its tasks (a pod's, one per container). The condition follows Mesos task
 * states; the goal says what Marathon wants of it.
 */
import { z } from "zod";
import { AttributeSchema, type TaskState } from "../../../protocol/mod.ts";

export const CONDITIONS = [
  "Scheduled",
  "Provisioned",
  "Staging",
  "Starting",
  "Running",
  "Killing",
  "Unreachable",
  "UnreachableInactive",
  "Finished",
  "Failed",
  "Killed",
  "Error",
  "Gone",
  "Dropped",
  "Unknown",
  /** A resident instance whose task ended: its reservation and volumes wait on its agent. */
  "Reserved",
] as const;
export const ConditionSchema = z.enum(CONDITIONS);
/** Marathon's instance condition. */
export type Condition = z.infer<typeof ConditionSchema>;

/** One container's task of a pod instance. */
export const PodTaskSchema = z.object({
  /** The pod container's name. */
  name: z.string(),
  taskId: z.string(),
  condition: ConditionSchema,
  since: z.number(),
  healthy: z.boolean().optional(),
  startedAt: z.number().optional(),
  message: z.string().optional(),
});
/** A pod container's task as an instance records it. */
export type PodTask = z.infer<typeof PodTaskSchema>;

/** A persistent volume of a resident instance (Marathon's `LocalVolumeId`). */
export const LocalVolumeSchema = z.object({
  containerPath: z.string(),
  /** `<app safe path>#<containerPath>#<uuid>`, the volume's Mesos `persistence.id`. */
  persistenceId: z.string(),
});
/** A persistent volume of a resident instance. */
export type LocalVolume = z.infer<typeof LocalVolumeSchema>;

/**
 * A resident instance's reservation on its agent (Marathon's `Reservation`): the resources are
 * reserved for the framework's role and labelled with the framework and instance ids; the
 * volumes are created on them. `New` until the first launch was sent, then `Launched`, and
 * `Suspended` while no task runs on it.
 */
export const ReservationSchema = z.object({
  volumes: z.array(LocalVolumeSchema),
  state: z.enum(["New", "Launched", "Suspended"]),
  /** The role the resources are reserved for (Marathon's `--mesos-role` at the first launch). */
  role: z.string(),
});
/** A resident instance's reservation. */
export type Reservation = z.infer<typeof ReservationSchema>;

export const InstanceSchema = z.object({
  instanceId: z.string(),
  taskId: z.string(),
  appId: z.string(),
  /** The app's config version this instance was launched with. */
  version: z.string(),
  condition: ConditionSchema,
  goal: z.enum(["Running", "Stopped", "Decommissioned"]),
  agentId: z.string().optional(),
  hostname: z.string().optional(),
  attributes: z.array(AttributeSchema).default([]),
  hostPorts: z.array(z.number().int()).default([]),
  /** Last health report; undefined while none arrived (or the app has no checks). */
  healthy: z.boolean().optional(),
  /** Readiness (readiness checks); undefined while unknown. */
  ready: z.boolean().optional(),
  stagedAt: z.number(),
  startedAt: z.number().optional(),
  /** When the condition last changed (ms since epoch). */
  since: z.number(),
  message: z.string().optional(),
  /** The address the agent reported for the task (its advertised IP). */
  ipAddress: z.string().optional(),
  /** When readiness was last probed (ms since epoch). */
  readinessProbedAt: z.number().optional(),
  /**
   * A pod instance's tasks, one per container (its `appId` is then the pod's id, its `taskId`
   * the first container's, its condition and health those of the tasks together).
   */
  tasks: z.array(PodTaskSchema).optional(),
  /** A resident instance's reservation and volumes (apps with persistent volumes). */
  reservation: ReservationSchema.optional(),
  /** Launches of a resident instance so far: its task ids end in `._app.<incarnation>`. */
  incarnation: z.number().int().positive().optional(),
});
/** An app instance as the framework tracks and stores it. */
export type Instance = z.infer<typeof InstanceSchema>;

const TERMINAL: ReadonlySet<Condition> = new Set([
  "Finished",
  "Failed",
  "Killed",
  "Error",
  "Gone",
  "Dropped",
  "Unknown",
]);

/** Whether the condition is final (the instance will never run again). */
export function isTerminal(c: Condition): boolean {
  return TERMINAL.has(c);
}

/**
 * Whether the instance counts towards the app's instances: wanted running and not dead (a
 * resident instance waiting on its reservation for a relaunch counts).
 */
export function isActive(i: Instance): boolean {
  return i.goal === "Running" && !isTerminal(i.condition) && i.condition !== "UnreachableInactive";
}

/** The condition a Mesos task state maps to. */
export function conditionOf(state: TaskState): Condition {
  switch (state) {
    case "TASK_STAGING":
      return "Staging";
    case "TASK_STARTING":
      return "Starting";
    case "TASK_RUNNING":
      return "Running";
    case "TASK_KILLING":
      return "Killing";
    case "TASK_FINISHED":
      return "Finished";
    case "TASK_FAILED":
      return "Failed";
    case "TASK_KILLED":
      return "Killed";
    case "TASK_ERROR":
      return "Error";
    case "TASK_LOST":
    case "TASK_GONE":
    case "TASK_GONE_BY_OPERATOR":
      return "Gone";
    case "TASK_DROPPED":
      return "Dropped";
    case "TASK_UNREACHABLE":
      return "Unreachable";
    case "TASK_UNKNOWN":
      return "Unknown";
  }
}

/** Whether a condition change grows the launch backoff (Marathon's "limit-worthy" set). */
export function isBackoffWorthy(c: Condition): boolean {
  return c === "Failed" || c === "Finished" || c === "Error" || c === "Gone" || c === "Dropped";
}
