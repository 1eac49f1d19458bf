/**
 * Docker `parameters` (Mesos' `DockerInfo.parameters`) onto the Engine's create body. Which
 * keys exist and what their values mean is `protocol/docker_parameters.ts`; this only places
 * them. Parameters come after what Tender sets, as Mesos passes them after its own flags, so
 * a parameter's `env`, `user` or `hostname` wins.
 */
import {
  type DockerParameter,
  type DockerRunOptions,
  parseDockerParameters,
  refusalMessage,
} from "../../protocol/mod.ts";
import type { ContainerSpec } from "./containerizer.ts";
import type { CreateContainerBody } from "./docker_engine.ts";

/** The task's docker parameters. */
export function dockerParameters(spec: ContainerSpec): DockerParameter[] {
  return spec.container?.docker?.parameters ?? [];
}

/**
 * Why Docker cannot run the task's parameters as asked (an unknown key, a bad value), for a
 * TASK_ERROR; undefined when every one maps.
 */
export function dockerParameterRefusal(spec: ContainerSpec): string | undefined {
  const parsed = parseDockerParameters(dockerParameters(spec));
  return parsed.ok
    ? undefined
    : `Cannot run task "${spec.taskId}": ${refusalMessage(parsed.refusal)}`;
}

/** Puts the parsed parameters into the create body. */
export function applyDockerParameters(body: CreateContainerBody, o: DockerRunOptions): void {
  const host = body.HostConfig;
  body.Labels = { ...body.Labels, ...o.labels };
  body.Env = [...body.Env, ...o.env];
  if (o.hostname !== undefined) body.Hostname = o.hostname;
  if (o.user !== undefined) body.User = o.user;
  if (o.workdir !== undefined) body.WorkingDir = o.workdir;
  if (o.stopSignal !== undefined) body.StopSignal = o.stopSignal;
  if (o.memorySwap !== undefined) host.MemorySwap = o.memorySwap;
  if (o.memoryReservation !== undefined) host.MemoryReservation = o.memoryReservation;
  if (o.shmSize !== undefined) host.ShmSize = o.shmSize;
  if (o.pidsLimit !== undefined) host.PidsLimit = o.pidsLimit;
  if (o.ulimits.length > 0) host.Ulimits = o.ulimits;
  if (o.capAdd.length > 0) host.CapAdd = o.capAdd;
  if (o.capDrop.length > 0) host.CapDrop = o.capDrop;
  if (o.extraHosts.length > 0) host.ExtraHosts = o.extraHosts;
  if (o.dns.length > 0) host.Dns = o.dns;
  if (o.dnsSearch.length > 0) host.DnsSearch = o.dnsSearch;
  if (o.dnsOptions.length > 0) host.DnsOptions = o.dnsOptions;
  if (o.logDriver !== undefined || Object.keys(o.logOptions).length > 0) {
    host.LogConfig = { Type: o.logDriver ?? "json-file", Config: o.logOptions };
  }
  if (o.readOnly !== undefined) host.ReadonlyRootfs = o.readOnly;
  if (Object.keys(o.tmpfs).length > 0) host.Tmpfs = o.tmpfs;
  if (o.init !== undefined) host.Init = o.init;
  if (Object.keys(o.sysctls).length > 0) host.Sysctls = o.sysctls;
  if (o.securityOpt.length > 0) host.SecurityOpt = o.securityOpt;
  if (o.devices.length > 0) host.Devices = o.devices;
  if (o.privileged !== undefined) host.Privileged = host.Privileged || o.privileged;
  if (o.pidMode !== undefined) host.PidMode = o.pidMode;
  if (o.ipcMode !== undefined) host.IpcMode = o.ipcMode;
  if (o.usernsMode !== undefined) host.UsernsMode = o.usernsMode;
  if (o.binds.length > 0) host.Binds = [...(host.Binds ?? []), ...o.binds];
}

/**
 * The refusal of a containerizer that runs no Docker (containerd, process) for a task that
 * carries docker parameters: they cannot apply there, and are never ignored.
 */
export function parametersNotApplicable(spec: ContainerSpec, engine: string): string | undefined {
  const keys = dockerParameters(spec).map((p) => p.key);
  if (keys.length === 0) return undefined;
  return `Cannot run task "${spec.taskId}" in ${engine}: container.docker.parameters ` +
    `(${keys.join(", ")}) are docker run options, which only the Docker containerizer applies`;
}
