/**
 * The pure mapping between Tender and CRI: a ContainerSpec becomes a `PodSandboxConfig` and a
 * `ContainerConfig`; an ended container's `ContainerStatus` becomes a Termination.
 */
import { basename, dirname } from "node:path";
import type { ContainerInfo } from "../../protocol/mod.ts";
import type { ContainerId, ContainerSpec, Termination } from "./containerizer.ts";
import type {
  ContainerConfig,
  ContainerStatus,
  CriMount,
  CriPortMapping,
  NamespaceMode,
  PodSandboxConfig,
} from "./cri_client.ts";
import { argv, LABELS, SANDBOX_IN_CONTAINER } from "./docker_spec.ts";

export { LABELS } from "./docker_spec.ts";

/** The CRI namespace (in pod metadata) of every Tender pod. */
export const POD_NAMESPACE = "tender";
/** The file, in the task's sandbox, that CRI writes the container's output to. */
export const CRI_LOG = "container.log";
/** Annotation naming the task's sandbox on the host. */
export const SANDBOX_ANNOTATION = "tender.sandbox";
/** Annotation giving the container's memory limit in MiB (for the OOM message). */
export const MEMORY_ANNOTATION = "tender.mem_mb";

const MIN_MEMORY = 4 * 1024 * 1024;
const CFS_PERIOD = 100_000;
const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM" };

export { imageOf } from "./docker_spec.ts";

/**
 * The task's network: `node` shares the host's (Mesos' HOST, the default without network
 * infos); `pod` is a network namespace of its own, set up by CNI (BRIDGE, USER, NONE, or any
 * network_infos), with `port_mappings` published on the host by CNI's portmap.
 */
export function networkOf(container: ContainerInfo | undefined): "node" | "pod" {
  const mode = container?.docker?.network ??
    ((container?.network_infos?.length ?? 0) > 0 ? "USER" : "HOST");
  return mode === "HOST" ? "node" : "pod";
}

/** Who the pod belongs to, and how its CPU is capped. */
export interface PodOptions {
  id: ContainerId;
  owner: string;
  /** The task's sandbox on the host, absolute. */
  sandbox: string;
  /** Also cap the CPU with a CFS quota, not only weigh it by shares (default true). */
  cpuQuota?: boolean;
}

/**
 * Labels on a container (and on the pod sandbox of a task of its own): they name the agent,
 * framework and task, and the task group's pod for its members.
 */
export function labelsOf(spec: ContainerSpec, options: PodOptions): Record<string, string> {
  return {
    [LABELS.owner]: options.owner,
    [LABELS.agentId]: spec.agentId,
    [LABELS.frameworkId]: spec.frameworkId,
    [LABELS.taskId]: spec.taskId,
    [LABELS.containerId]: options.id,
    ...(spec.pod ? { [LABELS.pod]: spec.pod.id } : {}),
  };
}

/** Labels on a task group's shared pod sandbox: no task's, the group's. */
function groupLabelsOf(spec: ContainerSpec, podId: string, options: PodOptions) {
  return {
    [LABELS.owner]: options.owner,
    [LABELS.agentId]: spec.agentId,
    [LABELS.frameworkId]: spec.frameworkId,
    [LABELS.pod]: podId,
  };
}

/** A CRI pod name (and uid) for a task group's pod id (`<framework>/<executor>`). */
export function groupPodName(podId: string): string {
  return podId.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** A host name (RFC 1123 label) for a pod: the container's `hostname`, else one from the id. */
export function podHostname(spec: ContainerSpec, id: ContainerId): string {
  const wanted = spec.pod
    ? spec.pod.hostname ?? spec.pod.id.split("/").at(-1) ?? id
    : spec.container?.hostname ?? id;
  const clean = wanted.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+/, "").slice(0, 63)
    .replace(/-+$/, "");
  return clean || "tender";
}

/** Port mappings: each `port_mappings` entry, host port 0 meaning the task's n-th port. */
export function portMappingsOf(spec: ContainerSpec): CriPortMapping[] {
  if (spec.pod) {
    return spec.pod.portMappings.map((m) => ({
      protocol: m.protocol.toUpperCase() === "UDP" ? "UDP" : "TCP",
      container_port: m.containerPort,
      host_port: m.hostPort,
      host_ip: spec.hostIp,
    }));
  }
  const mappings = spec.container?.docker?.port_mappings ??
    (spec.container?.network_infos ?? []).flatMap((n) => n.port_mappings ?? []);
  return mappings.flatMap((m, i) => {
    const hostPort = m.host_port > 0 ? m.host_port : spec.ports[i];
    if (!hostPort) return [];
    const protocol = (m.protocol ?? "tcp").toUpperCase();
    return [{
      protocol: protocol === "UDP" ? "UDP" : protocol === "SCTP" ? "SCTP" : "TCP",
      container_port: m.container_port,
      host_port: hostPort,
      host_ip: spec.hostIp,
    }];
  });
}

function namespaces(spec: ContainerSpec): {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
} {
  // Each container has its own PID namespace (its command is PID 1, as in Docker), so the
  // sandbox's process never has to reap anyone else's children.
  return {
    network: specNetwork(spec) === "node" ? "NODE" : "POD",
    pid: "CONTAINER",
    ipc: "POD",
  };
}

/** The network of a task's pod: its task group's, else its own container's. */
export function specNetwork(spec: ContainerSpec): "node" | "pod" {
  if (spec.pod) return spec.pod.network === "HOST" ? "node" : "pod";
  return networkOf(spec.container);
}

/**
 * The `PodSandboxConfig` of the task's pod. A task of its own has a pod of its own, whose log
 * directory is its sandbox. A task group's members share one pod: named after the group, its
 * log directory is the framework's sandboxes (each member logs below its own sandbox there).
 */
export function sandboxConfig(spec: ContainerSpec, options: PodOptions): PodSandboxConfig {
  const node = specNetwork(spec) === "node";
  const group = spec.pod ? groupPodName(spec.pod.id) : undefined;
  return {
    metadata: {
      name: group ?? options.id,
      uid: group ?? options.id,
      namespace: POD_NAMESPACE,
      attempt: 0,
    },
    hostname: node ? "" : podHostname(spec, options.id),
    log_directory: spec.pod ? dirname(options.sandbox) : options.sandbox,
    port_mappings: node ? [] : portMappingsOf(spec),
    labels: spec.pod ? groupLabelsOf(spec, spec.pod.id, options) : labelsOf(spec, options),
    annotations: spec.pod ? {} : { [SANDBOX_ANNOTATION]: options.sandbox },
    linux: {
      security_context: {
        namespace_options: namespaces(spec),
        privileged: spec.container?.docker?.privileged ?? false,
      },
    },
  };
}

/** The `ContainerConfig` of the task's container. */
export function containerConfig(
  spec: ContainerSpec,
  image: string,
  options: PodOptions,
): ContainerConfig {
  const env = { ...spec.env, MESOS_SANDBOX: SANDBOX_IN_CONTAINER };
  const config: ContainerConfig = {
    // Names are unique within a pod: a group's members are told apart by their ids.
    metadata: { name: spec.pod ? options.id : "task", attempt: 0 },
    image: { image },
    command: [],
    args: [],
    envs: Object.entries(env).map(([key, value]) => ({ key, value })),
    mounts: mountsOf(spec, options.sandbox),
    labels: labelsOf(spec, options),
    annotations: {
      [SANDBOX_ANNOTATION]: options.sandbox,
      [MEMORY_ANNOTATION]: String(spec.limits.memMb),
    },
    log_path: spec.pod ? `${basename(options.sandbox)}/${CRI_LOG}` : CRI_LOG,
    linux: {
      resources: resourcesOf(spec, options.cpuQuota ?? true),
      security_context: {
        privileged: spec.container?.docker?.privileged ?? false,
        namespace_options: namespaces(spec),
        // Only a user the task names: the framework's default does not override the image's.
        ...(spec.user?.fromTask ? { run_as_username: spec.user.name } : {}),
      },
    },
  };
  const cmd = spec.command;
  if (cmd && (cmd.value !== undefined || (cmd.arguments?.length ?? 0) > 0)) {
    // CRI's command replaces the image's ENTRYPOINT and args its CMD, as in Docker.
    if (cmd.shell ?? true) {
      config.command = ["/bin/sh", "-c"];
      config.args = [cmd.value ?? ""];
    } else {
      config.args = argv(cmd, false);
    }
  }
  return config;
}

/** cgroup limits as the Docker containerizer sets them: shares, optional CFS quota, memory. */
export function resourcesOf(
  spec: ContainerSpec,
  cpuQuota: boolean,
): ContainerConfig["linux"]["resources"] {
  const resources: ContainerConfig["linux"]["resources"] = {};
  if (spec.limits.cpus > 0) {
    resources.cpu_shares = Math.max(2, Math.round(spec.limits.cpus * 1024));
    if (cpuQuota) {
      resources.cpu_period = CFS_PERIOD;
      resources.cpu_quota = Math.max(1000, Math.round(spec.limits.cpus * CFS_PERIOD));
    }
  }
  if (spec.limits.memMb > 0) {
    const bytes = Math.max(MIN_MEMORY, Math.round(spec.limits.memMb * 1024 * 1024));
    resources.memory_limit_in_bytes = bytes;
    resources.memory_swap_limit_in_bytes = bytes;
  }
  return resources;
}

function mountsOf(spec: ContainerSpec, sandbox: string): CriMount[] {
  const volumes = (spec.container?.volumes ?? []).flatMap((v) =>
    v.host_path && !v.source
      ? [{ container_path: v.container_path, host_path: v.host_path, readonly: v.mode === "RO" }]
      : []
  );
  // Mesos reads a relative container path as one below the sandbox.
  const mounts = (spec.mounts ?? []).map((m) => ({
    container_path: m.containerPath.startsWith("/")
      ? m.containerPath
      : `${SANDBOX_IN_CONTAINER}/${m.containerPath}`,
    host_path: m.hostPath,
    readonly: m.readOnly,
  }));
  return [...volumes, ...mounts, {
    container_path: SANDBOX_IN_CONTAINER,
    host_path: sandbox,
    readonly: false,
  }];
}

/** The host sandbox of a found container (its annotation, else its sandbox mount). */
export function sandboxOf(status: ContainerStatus): string | undefined {
  return status.annotations[SANDBOX_ANNOTATION] ??
    status.mounts.find((m) => m.container_path === SANDBOX_IN_CONTAINER)?.host_path;
}

/** How an ended container reads as a Termination. */
export function terminationOf(status: ContainerStatus, destroyed: boolean): Termination {
  const code = status.exit_code;
  if (status.reason === "OOMKilled") {
    const memMb = status.annotations[MEMORY_ANNOTATION];
    const limit = memMb ? `memory limit of ${memMb} MiB` : "its memory limit";
    return { exitCode: null, reason: "oom", message: `killed by the OOM killer: ${limit} reached` };
  }
  if (destroyed) {
    if (code > 128 && code < 160) {
      const signal = SIGNALS[code - 128] ?? `signal ${code - 128}`;
      return { exitCode: null, reason: "killed", message: `killed by ${signal}` };
    }
    return { exitCode: code, reason: "killed", message: `stopped; exited with status ${code}` };
  }
  if (status.state === "CONTAINER_CREATED") {
    return { exitCode: null, reason: "launch_failed", message: "the container was never started" };
  }
  return { exitCode: code, reason: "exited", message: `exited with status ${code}` };
}
