/**
 * The Containerizer extension point: how an agent runs task containers. Implementations:
 * `process` (plain child processes), `docker` (Docker Engine API), `containerd` (CRI),
 * `simulated` (scale tests). Tasks of one task group share a pod (`ContainerSpec.pod`).
 */
import type { CommandInfo, ContainerInfo, HealthCheck } from "../../protocol/mod.ts";

/** The agent's name for a container; one per task. Stable across agent restarts. */
export type ContainerId = string;

/** Everything a containerizer needs to start one task. */
export interface ContainerSpec {
  agentId: string;
  frameworkId: string;
  taskId: string;
  /** The task's command (Mesos semantics: shell=true by default runs `/bin/sh -c value`). */
  command?: CommandInfo;
  /** The task's container (a DOCKER container names its image here). */
  container?: ContainerInfo;
  /** Limits from the task's resources. */
  limits: { cpus: number; memMb: number; diskMb: number };
  /** Host ports given to the task, from the offer, in the order the task lists them. */
  ports: number[];
  /** Environment, already merged (task env plus the agent's PORT0..n, MESOS_* and TENDER_*). */
  env: Record<string, string>;
  /** The address published ports bind to (127.0.0.1 in tests). */
  hostIp: string;
  /** A directory owned by this task for output files and scratch space. */
  sandbox: string;
  /**
   * Directories of the host to mount in the container, beyond `container.volumes`' host paths:
   * Mesos' SANDBOX_PATH and HOST_PATH volume sources, resolved by the agent (see `Mount`).
   */
  mounts?: Mount[];
  /** Set when the task is one of a task group's (LAUNCH_GROUP): the pod it shares. */
  pod?: PodSpec;
  /**
   * Who the task runs as (Mesos: CommandInfo.user, else FrameworkInfo.user); absent when the
   * agent runs every task as itself (`--no-switch-user`).
   */
  user?: TaskUser;
}

/** The Unix user a task runs as. */
export interface TaskUser {
  name: string;
  /**
   * The task named it (CommandInfo.user), not only its framework. Image containerizers set only
   * such a user: a framework's default does not override an image's own USER.
   */
  fromTask: boolean;
}

/** A host directory mounted in a container. */
export interface Mount {
  /** Absolute, on the host; it exists. */
  hostPath: string;
  /**
   * Where it appears: absolute inside the container's filesystem, or relative to the task's
   * sandbox (as Mesos reads a relative `container_path`).
   */
  containerPath: string;
  readOnly: boolean;
}

/**
 * The pod a task group's tasks share: one network namespace (they reach each other on
 * localhost) and the pod's directory, where SANDBOX_PATH PARENT volumes live. Every member's
 * spec carries the same pod; the first member launched makes it, the last one destroyed
 * removes it.
 */
export interface PodSpec {
  /** Unique on the agent (the framework and executor ids); the same for every member. */
  id: string;
  /**
   * The pod's network: HOST shares the host's; BRIDGE (or USER) a namespace of its own with the
   * members' port mappings published; NONE a namespace with loopback only.
   */
  network: "HOST" | "BRIDGE" | "USER" | "NONE";
  /** Every member's port mappings (host port resolved), published by the pod. */
  portMappings: { hostPort: number; containerPort: number; protocol: string }[];
  /** The pod's host name, for a pod with a network of its own. */
  hostname?: string;
  /** The pod's directory on the host (Mesos' executor sandbox), absolute. */
  dir: string;
  /** How many tasks the group has. */
  size: number;
}

/** How a container ended. */
export interface Termination {
  /** The exit status, or null when killed by a signal or never started. */
  exitCode: number | null;
  /** Why, in the terms of Mesos' TaskStatus.reason. */
  reason:
    | "exited"
    | "killed"
    | "oom"
    | "launch_failed";
  /** A human message: `exited with status 3`, `killed by SIGKILL`, `image "x" not found`. */
  message: string;
}

/** A container found on the engine at agent start-up. */
export interface RecoveredContainer {
  id: ContainerId;
  frameworkId: string;
  taskId: string;
  /** Undefined while it still runs. */
  termination?: Termination;
}

/** Options for reading a container's output. */
export interface LogOptions {
  stream: "stdout" | "stderr";
  /** Only the last N lines. */
  tail?: number;
  /** Keep the stream open and send new output as it comes. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** What a running container has used so far (Mesos' `ResourceStatistics`, in part). */
export interface ContainerStats {
  /** CPU time in user and kernel mode since it started, seconds. */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** Resident memory now, when known. */
  memRssBytes?: number;
}

/** Runs task containers on one agent. Every method is idempotent for a given id. */
export interface Containerizer {
  /** "docker" | "process" | "simulated". */
  readonly kind: string;
  /**
   * Starts the container and resolves once it runs. Rejects with a message fit for a
   * TASK_FAILED status when it cannot start (image not found, engine down, no room).
   */
  launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched">;
  /**
   * Why this containerizer would not run the spec as asked (a field it cannot honour, such as
   * a docker parameter it does not map), before anything is made: the agent answers TASK_ERROR
   * with it. Undefined when it can. Pure and synchronous; absent means it takes every spec.
   */
  refusal?(spec: ContainerSpec): string | undefined;
  /** Resolves when the container ends; undefined for an id this containerizer never knew. */
  wait(id: ContainerId): Promise<Termination | undefined>;
  /**
   * Stops the container: a graceful signal, then after `graceMs` a forced kill. Resolves with
   * its termination; undefined for an unknown id. Removes what the container left behind.
   */
  destroy(id: ContainerId, graceMs: number): Promise<Termination | undefined>;
  /**
   * Finds the containers this agent owns (alive, and ended while the agent was away), and
   * resumes watching the alive ones so `wait` works for them. `known` are the ids the agent's
   * own records name; others found are returned too, for the agent to kill.
   */
  recover(known: ReadonlySet<ContainerId>): Promise<RecoveredContainer[]>;
  /** The container's output. Empty for an unknown id. */
  logs(id: ContainerId, options: LogOptions): ReadableStream<Uint8Array>;
  /**
   * The address the container's own ports answer on (its bridge IP), for health checks that
   * must not stop at a published port. Undefined for host networking, or when not supported.
   */
  networkAddress?(id: ContainerId): Promise<string | undefined>;
  /**
   * What the running container has used so far (for `/monitor/statistics`); undefined for an
   * unknown or ended container, or when the containerizer cannot tell.
   */
  stats?(id: ContainerId): Promise<ContainerStats | undefined>;
  /** Runs a command inside the container (for COMMAND health checks); resolves with its exit code. */
  exec(id: ContainerId, command: CommandInfo, timeoutMs: number): Promise<number>;
}

/** The HealthCheck type re-exported for health checkers built on a containerizer. */
export type { HealthCheck };
