/** From a task as the master sends it to what a containerizer needs to run it (pure). */
import { type FrameworkInfo, Resources, type TaskInfo } from "../protocol/mod.ts";
import type { ContainerSpec, TaskUser } from "./containerizer/containerizer.ts";

/** The task's host ports: its `ports` ranges expanded, in the order the task lists them. */
export function taskPorts(task: TaskInfo): number[] {
  const out: number[] = [];
  for (const r of task.resources) {
    if (r.name !== "ports" || r.type !== "RANGES") continue;
    for (const range of r.ranges?.range ?? []) {
      for (let p = range.begin; p <= range.end; p++) out.push(p);
    }
  }
  return out;
}

/** A name fit for an environment variable: `http-api` becomes `HTTP_API`. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/** Where a task's environment comes from. */
export interface TaskEnvInput {
  task: TaskInfo;
  frameworkId: string;
  agentId: string;
  /** The address the task is reached at (`--advertise-ip`). */
  host: string;
  sandbox: string;
  ports: readonly number[];
}

/**
 * The task's environment, as Marathon and Mesos set it: PORT0..n, PORT, PORTS, PORT_<NAME> for
 * named discovery ports, HOST, MESOS_TASK_ID, MESOS_FRAMEWORK_ID, MESOS_AGENT_ID, MESOS_SANDBOX;
 * then the command's own variables, which win.
 */
export function taskEnvironment(input: TaskEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  input.ports.forEach((port, i) => (env[`PORT${i}`] = String(port)));
  if (input.ports.length > 0) {
    env.PORT = String(input.ports[0]);
    env.PORTS = input.ports.join(",");
  }
  const named = input.task.discovery?.ports?.ports ?? [];
  named.forEach((p, i) => {
    const port = input.ports[i];
    if (p.name && port !== undefined) env[`PORT_${envName(p.name)}`] = String(port);
  });
  env.HOST = input.host;
  env.MESOS_TASK_ID = input.task.task_id.value;
  env.MESOS_FRAMEWORK_ID = input.frameworkId;
  env.MESOS_AGENT_ID = input.agentId;
  env.MESOS_SANDBOX = input.sandbox;
  for (const v of input.task.command?.environment?.variables ?? []) {
    if (v.value !== undefined && v.type !== "SECRET") env[v.name] = v.value;
  }
  return env;
}

/** A path segment safe for any id: anything but `[A-Za-z0-9._-]` becomes `_`. */
export function safeSegment(id: string): string {
  const s = id.replace(/[^A-Za-z0-9._-]/g, "_");
  return s === "." || s === ".." ? s.replace(/\./g, "_") : s;
}

/** The task's sandbox directory under the agent's work dir. */
export function sandboxPath(workDir: string, frameworkId: string, taskId: string): string {
  return `${workDir}/sandboxes/${safeSegment(frameworkId)}/${safeSegment(taskId)}`;
}

/** Options for `containerSpec`. */
export interface ContainerSpecInput {
  task: TaskInfo;
  frameworkId: string;
  agentId: string;
  /** The agent's advertised address: the task's `HOST`. */
  host: string;
  /** Where published ports bind (default `host`; 0.0.0.0 for every interface). */
  publishIp?: string;
  workDir: string;
  /** The framework's info: its `user` is the task's when the task names none. */
  frameworkInfo?: FrameworkInfo;
  /** Run the task as its user (Mesos' `--switch_user`, default true); false: as the agent. */
  switchUser?: boolean;
}

/** Who the task runs as, as Mesos decides: CommandInfo.user, else FrameworkInfo.user. */
export function taskUser(
  task: TaskInfo,
  frameworkInfo: FrameworkInfo | undefined,
): TaskUser | undefined {
  const named = task.command?.user;
  if (named) return { name: named, fromTask: true };
  return frameworkInfo?.user ? { name: frameworkInfo.user, fromTask: false } : undefined;
}

/** Everything the containerizer needs to run the task. */
export function containerSpec(input: ContainerSpecInput): ContainerSpec {
  const { task, frameworkId, agentId } = input;
  const sandbox = sandboxPath(input.workDir, frameworkId, task.task_id.value);
  const ports = taskPorts(task);
  const resources = Resources.fromMesos(task.resources);
  const user = taskUser(task, input.frameworkInfo);
  return {
    agentId,
    frameworkId,
    taskId: task.task_id.value,
    command: task.command,
    container: task.container,
    limits: {
      cpus: resources.scalar("cpus"),
      memMb: resources.scalar("mem"),
      diskMb: resources.scalar("disk"),
    },
    ports,
    env: taskEnvironment({ task, frameworkId, agentId, host: input.host, sandbox, ports }),
    hostIp: input.publishIp ?? input.host,
    sandbox,
    ...(user && input.switchUser !== false ? { user } : {}),
  };
}
