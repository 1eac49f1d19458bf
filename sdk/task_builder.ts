/** Builds a Mesos `TaskInfo` from a few plain fields. */
import {
  type DiscoveryInfo,
  type HealthCheck,
  normRanges,
  type Range,
  Resources,
  type TaskInfo,
  TaskInfoSchema,
} from "../protocol/mod.ts";

/** A command: a shell line (`sh -c`), or a program with arguments when `shell` is false. */
export type CommandSpec = string | {
  value: string;
  /** Default true: `value` runs under `/bin/sh -c`; false: `value` is the program, `arguments` its argv. */
  shell?: boolean;
  arguments?: string[];
  env?: Record<string, string>;
};

/** A Docker container; a port mapping without `hostPort` takes the next of the task's `ports`. */
export interface DockerSpec {
  image: string;
  network?: "HOST" | "BRIDGE" | "NONE" | "USER";
  portMappings?: { containerPort: number; hostPort?: number; protocol?: string }[];
  forcePullImage?: boolean;
}

/** What `taskInfo()` needs. Scalars in Mesos units (cpus, MiB). */
export interface TaskSpec {
  name: string;
  taskId: string;
  agentId: string;
  cpus: number;
  mem: number;
  disk?: number;
  /** Host ports chosen for the task (e.g. by `pickResources`). */
  ports?: number[];
  /** Without a command, a Docker task runs its image's entrypoint. */
  command?: CommandSpec;
  docker?: DockerSpec;
  healthCheck?: HealthCheck;
  labels?: Record<string, string>;
  killGracePeriodMs?: number;
  discovery?: DiscoveryInfo;
  /** The role of the offer the task is launched on, for MULTI_ROLE frameworks. */
  allocationRole?: string;
}

/**
 * A `TaskInfo` with unreserved resources (ports as ranges). Throws when the spec is invalid
 * (a programming error, e.g. a negative port or no command and no image).
 */
export function taskInfo(spec: TaskSpec): TaskInfo {
  const ports = spec.ports ?? [];
  const resources = Resources.scalars({ cpus: spec.cpus, mem: spec.mem, disk: spec.disk ?? 0 })
    .add(Resources.ranges("ports", portRanges(ports)))
    .toMesos(spec.allocationRole);
  if (spec.command === undefined && spec.docker === undefined) {
    throw new Error(`Cannot build task "${spec.taskId}": it needs a command or a docker image`);
  }
  return TaskInfoSchema.parse({
    name: spec.name,
    task_id: { value: spec.taskId },
    agent_id: { value: spec.agentId },
    resources,
    command: spec.command === undefined ? { shell: false } : commandInfo(spec.command),
    ...(spec.docker ? { container: containerInfo(spec.docker, ports, spec.taskId) } : {}),
    ...(spec.healthCheck ? { health_check: spec.healthCheck } : {}),
    ...(spec.labels
      ? { labels: { labels: Object.entries(spec.labels).map(([key, value]) => ({ key, value })) } }
      : {}),
    ...(spec.killGracePeriodMs !== undefined
      ? { kill_policy: { grace_period: { nanoseconds: Math.round(spec.killGracePeriodMs * 1e6) } } }
      : {}),
    ...(spec.discovery ? { discovery: spec.discovery } : {}),
  });
}

/** Individual port numbers as merged inclusive ranges: [31000, 31001, 31005] → 31000-31001, 31005-31005. */
export function portRanges(ports: readonly number[]): Range[] {
  return normRanges(ports.map((p) => ({ begin: p, end: p })));
}

function commandInfo(command: CommandSpec): TaskInfo["command"] {
  if (typeof command === "string") return { shell: true, value: command };
  return {
    shell: command.shell ?? true,
    value: command.value,
    ...(command.arguments ? { arguments: command.arguments } : {}),
    ...(command.env
      ? {
        environment: {
          variables: Object.entries(command.env).map(([name, value]) => ({
            name,
            type: "VALUE" as const,
            value,
          })),
        },
      }
      : {}),
  };
}

function containerInfo(docker: DockerSpec, ports: readonly number[], taskId: string) {
  const explicit = new Set((docker.portMappings ?? []).map((m) => m.hostPort));
  const free = ports.filter((p) => !explicit.has(p));
  const mappings = (docker.portMappings ?? []).map((m) => {
    const hostPort = m.hostPort ?? free.shift();
    if (hostPort === undefined) {
      throw new Error(
        `Cannot build task "${taskId}": container port ${m.containerPort} has no host port left`,
      );
    }
    return {
      host_port: hostPort,
      container_port: m.containerPort,
      ...(m.protocol ? { protocol: m.protocol } : {}),
    };
  });
  return {
    type: "DOCKER" as const,
    docker: {
      image: docker.image,
      ...(docker.network ? { network: docker.network } : {}),
      ...(mappings.length > 0 ? { port_mappings: mappings } : {}),
      ...(docker.forcePullImage ? { force_pull_image: true } : {}),
    },
  };
}
