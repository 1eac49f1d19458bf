/**
 * Task groups as pods (pure): where a group's shared directory is, what network its members
 * share and which ports it publishes, and how a task's Mesos volumes become mounts.
 *
 * Mesos' layout is followed in meaning, not in paths: the group's directory plays the executor
 * sandbox, so a volume `{container_path: "data", source: {type: SANDBOX_PATH, sandbox_path:
 * {type: PARENT, path: "shared"}}}` mounts `<group dir>/shared` at `<sandbox>/data` (or at an
 * absolute `container_path` inside an image), the same directory for every member.
 */
import type { ContainerInfo, ExecutorInfo, TaskInfo } from "../protocol/mod.ts";
import type { Mount, PodSpec } from "./containerizer/containerizer.ts";
import { safeSegment, taskPorts } from "./task_spec.ts";

/**
 * The directory a task group shares (Mesos' executor sandbox): beside its tasks' sandboxes,
 * named with a `+` no task sandbox can contain, so it is swept as they are.
 */
export function podDir(workDir: string, frameworkId: string, executorId: string): string {
  return `${workDir}/sandboxes/${safeSegment(frameworkId)}/pod+${safeSegment(executorId)}`;
}

/** The network a container asks for: its Docker mode, USER for network infos, else none. */
function networkOf(container: ContainerInfo | undefined): PodSpec["network"] | undefined {
  if (container?.docker?.network) return container.docker.network;
  return (container?.network_infos?.length ?? 0) > 0 ? "USER" : undefined;
}

/** A container's port mappings, host port 0 meaning the task's n-th offered port. */
function mappingsOf(container: ContainerInfo | undefined, ports: readonly number[]) {
  const raw = container?.docker?.port_mappings ??
    (container?.network_infos ?? []).flatMap((n) => n.port_mappings ?? []);
  return raw.flatMap((m, i) => {
    const hostPort = m.host_port > 0 ? m.host_port : ports[i];
    return hostPort
      ? [{ hostPort, containerPort: m.container_port || hostPort, protocol: m.protocol ?? "tcp" }]
      : [];
  });
}

/** What `podSpecOf` needs: the LAUNCH_GROUP and where the agent keeps sandboxes. */
export interface PodInput {
  frameworkId: string;
  executor: ExecutorInfo;
  tasks: readonly TaskInfo[];
  /** The agent's work dir, absolute. */
  workDir: string;
}

/**
 * The pod of a task group. Its network is the executor's (Mesos puts a pod's network on the
 * executor's container), else the first member's that is not HOST, else HOST; every member's
 * port mappings are published by the pod.
 */
export function podSpecOf(input: PodInput): PodSpec {
  const { executor, tasks } = input;
  const executorId = executor.executor_id.value;
  const network = networkOf(executor.container) ??
    tasks.map((t) => networkOf(t.container)).find((m) => m !== undefined && m !== "HOST") ??
    "HOST";
  const portMappings = network === "HOST" ? [] : [
    ...mappingsOf(executor.container, []),
    ...tasks.flatMap((t) => mappingsOf(t.container, taskPorts(t))),
  ];
  const hostname = executor.container?.hostname ??
    tasks.map((t) => t.container?.hostname).find((h) => h !== undefined);
  return {
    id: `${input.frameworkId}/${executorId}`,
    network,
    portMappings,
    ...(hostname ? { hostname } : {}),
    dir: podDir(input.workDir, input.frameworkId, executorId),
    size: tasks.length,
  };
}

/** A path below a directory: relative, without `..` segments (else why not). */
function subPath(path: string, what: string): string | { error: string } {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (path.startsWith("/") || parts.includes("..")) {
    return { error: `${what} "${path}" must be a relative path without '..'` };
  }
  return parts.join("/");
}

/**
 * The mounts of a task's volumes that name a `source`: SANDBOX_PATH SELF below the task's
 * sandbox, PARENT below the group's directory (`pod`, absent for a task not in a group),
 * HOST_PATH as it is. Volumes without a source (a plain `host_path`) are left to the
 * containerizer, as before. Answers why not for a volume Tender cannot mount.
 */
export function volumeMounts(
  task: TaskInfo,
  sandbox: string,
  pod: string | undefined,
): { ok: true; mounts: Mount[] } | { ok: false; reason: string } {
  const mounts: Mount[] = [];
  const name = `task "${task.task_id.value}"`;
  for (const volume of task.container?.volumes ?? []) {
    const source = volume.source;
    // SECRET volumes are files the agent writes (task_secrets.ts), not mounts of a directory.
    if (!source || source.type === "SECRET") continue;
    const readOnly = volume.mode === "RO";
    const target = volume.container_path;
    if (target === "" || target.split("/").includes("..")) {
      return { ok: false, reason: `Cannot mount "${target}" in ${name}: not a usable path` };
    }
    if (source.type === "HOST_PATH" && source.host_path?.path.startsWith("/")) {
      mounts.push({ hostPath: source.host_path.path, containerPath: target, readOnly });
      continue;
    }
    if (source.type !== "SANDBOX_PATH" || !source.sandbox_path) {
      return {
        ok: false,
        reason: `Cannot mount "${target}" in ${name}: volume source ${source.type} ` +
          `is not supported (SANDBOX_PATH, HOST_PATH and SECRET are)`,
      };
    }
    const below = subPath(source.sandbox_path.path, "sandbox_path.path");
    if (typeof below !== "string") return { ok: false, reason: `${name}: ${below.error}` };
    if (source.sandbox_path.type === "PARENT") {
      if (!pod) {
        return {
          ok: false,
          reason: `Cannot mount "${target}" in ${name}: a PARENT sandbox path needs a task ` +
            `group (LAUNCH_GROUP)`,
        };
      }
      mounts.push({ hostPath: join(pod, below), containerPath: target, readOnly });
    } else {
      mounts.push({ hostPath: join(sandbox, below), containerPath: target, readOnly });
    }
  }
  return { ok: true, mounts };
}

/** The directories an executor's own SANDBOX_PATH volumes ask for, below the group's dir. */
export function executorDirs(executor: ExecutorInfo, pod: string): string[] {
  return (executor.container?.volumes ?? []).flatMap((v) => {
    const path = v.source?.type === "SANDBOX_PATH" ? v.source.sandbox_path?.path : undefined;
    const below = path === undefined ? undefined : subPath(path, "path");
    return typeof below === "string" ? [join(pod, below)] : [];
  });
}

function join(dir: string, below: string): string {
  return below === "" ? dir : `${dir}/${below}`;
}
