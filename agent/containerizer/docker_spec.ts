/**
 * The pure mapping between Tender and the Engine: a ContainerSpec becomes a
 * `POST /containers/create` body, an ended container's state becomes a Termination.
 */
import type { CommandInfo, ContainerInfo } from "../../protocol/mod.ts";
import type { ContainerId, ContainerSpec, Termination } from "./containerizer.ts";
import type { ContainerInspect, CreateContainerBody } from "./docker_engine.ts";
import { parseDockerParameters, refusalMessage } from "../../protocol/mod.ts";
import { applyDockerParameters } from "./docker_parameters.ts";

/** Label keys set on every container. */
export const LABELS = {
  owner: "tender.owner",
  agentId: "tender.agent_id",
  frameworkId: "tender.framework_id",
  taskId: "tender.task_id",
  containerId: "tender.container_id",
  /** The pod (task group) a container belongs to: `<framework id>/<executor id>`. */
  pod: "tender.pod",
} as const;

/** Where a task's sandbox appears inside its container (Mesos' `--sandbox_directory`). */
export const SANDBOX_IN_CONTAINER = "/mnt/mesos/sandbox";

const MIN_MEMORY = 4 * 1024 * 1024;
const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM" };

/** The Docker container name for a container id (Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]*`). */
export function containerName(id: ContainerId): string {
  return `tender-${id.replace(/[^a-zA-Z0-9_.-]/g, "_")}`;
}

/** The image a task runs: `docker.image`, or a MESOS container's `mesos.image.docker.name`. */
export function imageOf(container: ContainerInfo | undefined): string | undefined {
  return container?.docker?.image || container?.mesos?.image?.docker?.name || undefined;
}

/** Who a container belongs to, and what the engine's host can give. */
export interface CreateBodyOptions {
  id: ContainerId;
  owner: string;
  /** The host's CPU count: Docker refuses a NanoCpus quota above it. */
  maxCpus?: number;
  /** Also cap the CPU with a CFS quota (`NanoCpus`), not only weigh it by shares (default true). */
  cpuQuota?: boolean;
  /** The container whose network namespace this one joins (a later member of a pod). */
  joinNetworkOf?: string;
}

/** A Docker network mode for a Mesos one. */
function networkMode(network: string): string {
  return network === "BRIDGE" || network === "USER"
    ? "bridge"
    : network === "NONE"
    ? "none"
    : "host";
}

/**
 * The Docker user-defined network a task joins: the name of its first `network_infos` entry,
 * for a task of its own (not a pod member) whose Docker network is USER or unset.
 */
export function userNetworkName(spec: ContainerSpec): string | undefined {
  if (spec.pod) return undefined;
  const mode = spec.container?.docker?.network;
  if (mode !== undefined && mode !== "USER") return undefined;
  return spec.container?.network_infos?.[0]?.name || undefined;
}

/** The `POST /containers/create` body for a task. */
export function createBody(spec: ContainerSpec, options: CreateBodyOptions): CreateContainerBody {
  const { id, owner } = options;
  const docker = spec.container?.docker;
  // A MESOS container (an image given as mesos.image) says its network in network_infos: one
  // without a name is a bridge, as Marathon's container/bridge on the Mesos containerizer.
  const infos = spec.container?.type === "MESOS" ? spec.container.network_infos ?? [] : [];
  const mesosNetwork = infos.length > 0 ? "BRIDGE" : "HOST";
  // A pod's members share its network: the first has it, the others join its namespace.
  const network = spec.pod?.network ?? docker?.network ?? mesosNetwork;
  const joins = network !== "HOST" && options.joinNetworkOf !== undefined;
  const named = userNetworkName(spec);
  const portMappings = docker?.port_mappings ?? infos[0]?.port_mappings ?? [];
  const body: CreateContainerBody = {
    Image: imageOf(spec.container) ?? "",
    Labels: {
      [LABELS.owner]: owner,
      [LABELS.agentId]: spec.agentId,
      [LABELS.frameworkId]: spec.frameworkId,
      [LABELS.taskId]: spec.taskId,
      [LABELS.containerId]: id,
      ...(spec.pod ? { [LABELS.pod]: spec.pod.id } : {}),
    },
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    HostConfig: {
      NetworkMode: joins ? `container:${options.joinNetworkOf}` : named ?? networkMode(network),
      Privileged: docker?.privileged ?? false,
    },
  };
  // Only a user the task names: the framework's default does not override the image's USER.
  if (spec.user?.fromTask) body.User = spec.user.name;
  const hostname = spec.pod ? spec.pod.hostname : spec.container?.hostname;
  if (hostname && network !== "HOST" && !joins) body.Hostname = hostname;
  const cmd = spec.command;
  if (cmd && (cmd.value !== undefined || (cmd.arguments?.length ?? 0) > 0)) {
    if (cmd.shell ?? true) {
      body.Entrypoint = ["/bin/sh", "-c"];
      body.Cmd = [cmd.value ?? ""];
    } else {
      body.Cmd = argv(cmd, false);
    }
  }
  if (spec.limits.cpus > 0) {
    body.HostConfig.CpuShares = Math.max(2, Math.round(spec.limits.cpus * 1024));
    if (options.cpuQuota ?? true) {
      // Docker accepts quotas from 0.01 CPU up to the host's CPU count.
      const cpus = Math.min(Math.max(spec.limits.cpus, 0.01), options.maxCpus ?? Infinity);
      body.HostConfig.NanoCpus = Math.round(cpus * 1e9);
    }
  }
  if (spec.limits.memMb > 0) {
    const bytes = Math.max(MIN_MEMORY, Math.round(spec.limits.memMb * 1024 * 1024));
    body.HostConfig.Memory = bytes;
    body.HostConfig.MemorySwap = bytes;
  }
  if (spec.pod && network !== "HOST" && !joins) {
    // The pod publishes every member's ports (a container joining a namespace cannot).
    const exposed: Record<string, Record<string, never>> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const m of spec.pod.portMappings) {
      const key = `${m.containerPort}/${m.protocol.toLowerCase()}`;
      exposed[key] = {};
      bindings[key] = [
        ...(bindings[key] ?? []),
        { HostIp: spec.hostIp, HostPort: String(m.hostPort) },
      ];
    }
    body.ExposedPorts = exposed;
    body.HostConfig.PortBindings = bindings;
  } else if ((network === "BRIDGE" || named !== undefined) && !spec.pod) {
    // Docker publishes ports of a user-defined bridge network as of its default bridge.
    const exposed: Record<string, Record<string, never>> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    portMappings.forEach((m, i) => {
      const key = `${m.container_port}/${(m.protocol ?? "tcp").toLowerCase()}`;
      const hostPort = m.host_port > 0 ? m.host_port : spec.ports[i];
      exposed[key] = {};
      bindings[key] = [
        ...(bindings[key] ?? []),
        { HostIp: spec.hostIp, HostPort: hostPort ? String(hostPort) : "" },
      ];
    });
    body.ExposedPorts = exposed;
    body.HostConfig.PortBindings = bindings;
  }
  const binds = (spec.container?.volumes ?? [])
    .filter((v) => v.host_path && !v.source)
    .map((v) => `${v.host_path}:${v.container_path}:${v.mode === "RO" ? "ro" : "rw"}`);
  for (const m of spec.mounts ?? []) {
    // Mesos reads a relative container path as one below the sandbox.
    const target = m.containerPath.startsWith("/")
      ? m.containerPath
      : `${SANDBOX_IN_CONTAINER}/${m.containerPath}`;
    binds.push(`${m.hostPath}:${target}:${m.readOnly ? "ro" : "rw"}`);
  }
  if (spec.sandbox.startsWith("/")) {
    // As Mesos does: the sandbox is mounted in the container, and MESOS_SANDBOX names it there.
    binds.push(`${spec.sandbox}:${SANDBOX_IN_CONTAINER}:rw`);
    body.Env = [
      ...body.Env.filter((e) => !e.startsWith("MESOS_SANDBOX=")),
      `MESOS_SANDBOX=${SANDBOX_IN_CONTAINER}`,
    ];
  }
  if (binds.length > 0) body.HostConfig.Binds = binds;
  // Docker `parameters` last, as Mesos passes them after its own flags (the agent refused
  // unknown ones with TASK_ERROR before launching).
  const parameters = parseDockerParameters(docker?.parameters ?? []);
  if (!parameters.ok) throw new Error(refusalMessage(parameters.refusal));
  applyDockerParameters(body, parameters.options);
  return body;
}

/** The argv of a command: `/bin/sh -c value` for shell commands, else `[value?, ...arguments]`. */
export function argv(command: CommandInfo, forExec: boolean): string[] {
  if ((command.shell ?? true) && command.value !== undefined) {
    return forExec ? ["/bin/sh", "-c", command.value] : [command.value];
  }
  return [...(command.value !== undefined ? [command.value] : []), ...(command.arguments ?? [])];
}

/** How an ended container reads as a Termination. */
export function terminationOf(info: ContainerInspect, destroyed: boolean): Termination {
  const state = info.State;
  if (state.OOMKilled) {
    const mib = Math.round(info.HostConfig.Memory / (1024 * 1024));
    return {
      exitCode: null,
      reason: "oom",
      message: `killed by the OOM killer: memory limit of ${mib} MiB reached`,
    };
  }
  if (state.Error && !destroyed) {
    return { exitCode: null, reason: "exited", message: `container failed: ${state.Error}` };
  }
  const code = state.ExitCode;
  if (destroyed) {
    if (code > 128 && code < 160) {
      const signal = SIGNALS[code - 128] ?? `signal ${code - 128}`;
      return { exitCode: null, reason: "killed", message: `killed by ${signal}` };
    }
    return { exitCode: code, reason: "killed", message: `stopped; exited with status ${code}` };
  }
  return { exitCode: code, reason: "exited", message: `exited with status ${code}` };
}
