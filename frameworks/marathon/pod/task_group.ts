/**
 * A pod instance placed on an offer as the Mesos task group to LAUNCH_GROUP: one task per
 * container (`<instance id>.<container name>`) under the executor `instance-<instance id>`.
 * Each task carries its container's command, image, volumes (ephemeral ones as SANDBOX_PATH
 * PARENT volumes, the group's shared directory), environment, health check, kill grace, and
 * its endpoints as named discovery ports, labelled with the pod's id for the catalog.
 */
import type {
  CommandInfo,
  ContainerInfo,
  DiscoveryInfo,
  ExecutorInfo,
  HealthCheck,
  Secret,
  TaskInfo,
  Volume,
} from "../../../protocol/mod.ts";
import { valueSecret } from "../secrets/app_secrets.ts";
import { taskName } from "../app/path_id.ts";
import type { PodMatch } from "../placement/pod_matcher.ts";
import type { Pod, PodCommand, PodContainer } from "./schema.ts";

/** The Mesos task id of a pod container's task in an instance. */
export function podTaskId(instanceId: string, container: string): string {
  return `${instanceId}.${container}`;
}

/** The executor id of a pod instance (Marathon's). */
export function podExecutorId(instanceId: string): string {
  return `instance-${instanceId}`;
}

/** Whether the pod has a network of its own (`container/bridge`). */
export function isBridged(pod: Pod): boolean {
  return pod.networks.some((n) => n.mode === "container/bridge");
}

/** An endpoint where it was placed: its allocated host port, if it asked for one. */
interface PlacedEndpoint {
  name: string;
  containerPort?: number;
  hostPort?: number;
  protocol: string[];
  labels: Record<string, string>;
}

function placedEndpoints(c: PodContainer, hostPorts: readonly number[]): PlacedEndpoint[] {
  let next = 0;
  return c.endpoints.map((e) => ({
    name: e.name,
    ...(e.containerPort !== undefined ? { containerPort: e.containerPort } : {}),
    ...(e.hostPort !== undefined ? { hostPort: hostPorts[next++] } : {}),
    protocol: e.protocol,
    labels: e.labels,
  }));
}

/**
 * The executor and tasks that launch instance `instanceId` of `pod` on the matched offer.
 * `secrets` holds the values of the pod's secrets by path (Mesos VALUE secrets in SECRET
 * variables and volumes); throws naming a secret missing from it.
 */
export function toTaskGroup(
  pod: Pod,
  instanceId: string,
  match: PodMatch,
  secrets: ReadonlyMap<string, string> = new Map(),
): { executor: ExecutorInfo; tasks: TaskInfo[] } {
  const secretOf = (name: string) => valueSecret({ ...pod, kind: "Pod" }, name, secrets);
  const bridged = isBridged(pod);
  const executor: ExecutorInfo = {
    type: "DEFAULT",
    executor_id: { value: podExecutorId(instanceId) },
    resources: match.executor,
    // Mesos puts a pod's network on its executor's container.
    container: { type: "MESOS", ...(bridged ? { network_infos: [{ name: "bridge" }] } : {}) },
  };
  const placed = pod.containers.map((c, i) => placedEndpoints(c, match.hostPorts[i] ?? []));
  const tasks = pod.containers.map((c, i) =>
    containerTask(pod, c, {
      instanceId,
      agentId: match.agentId,
      resources: match.containers[i] ?? [],
      endpoints: placed[i] ?? [],
      podEndpoints: placed.flat(),
      bridged,
      secretOf,
    })
  );
  return { executor, tasks };
}

function containerTask(
  pod: Pod,
  c: PodContainer,
  at: {
    instanceId: string;
    agentId: string;
    resources: TaskInfo["resources"];
    endpoints: PlacedEndpoint[];
    /** Every container's: the members share a network, so each is told all of them. */
    podEndpoints: PlacedEndpoint[];
    bridged: boolean;
    secretOf: (name: string) => Secret;
  },
): TaskInfo {
  const taskId = podTaskId(at.instanceId, c.name);
  const grace = c.lifecycle?.killGracePeriodSeconds;
  const healthCheck = c.healthCheck ? mesosHealthCheck(c, at.endpoints, at.bridged) : undefined;
  return {
    name: c.name,
    task_id: { value: taskId },
    agent_id: { value: at.agentId },
    resources: at.resources,
    command: command(pod, c, at.podEndpoints, at.secretOf),
    container: container(pod, c, at),
    ...(healthCheck ? { health_check: healthCheck } : {}),
    ...(grace !== undefined
      ? { kill_policy: { grace_period: { nanoseconds: Math.round(grace * 1e9) } } }
      : {}),
    labels: {
      labels: Object.entries({ ...pod.labels, ...c.labels, MARATHON_APP_ID: pod.id }).map((
        [key, value],
      ) => ({ key, value })),
    },
    discovery: discovery(pod, at.endpoints),
  };
}

/** The command: a shell one, argv (the image's entrypoint kept), or the image's own. */
function command(
  pod: Pod,
  c: PodContainer,
  endpoints: PlacedEndpoint[],
  secretOf: (name: string) => Secret,
): CommandInfo {
  const env = environment(pod, c, endpoints);
  // Secret variables: the pod's, then the container's (a plain one of the same name wins over
  // the pod's secret, as the container's environment wins over the pod's).
  const secretVars = new Map<string, string>();
  for (const [k, v] of [...Object.entries(pod.environment), ...Object.entries(c.environment)]) {
    if (typeof v === "string") secretVars.delete(k);
    else secretVars.set(k, v.secret);
  }
  const variables = [
    ...Object.entries(env).filter(([name]) => !secretVars.has(name)).map(([name, value]) => ({
      name,
      type: "VALUE" as const,
      value,
    })),
    ...[...secretVars].map(([name, secret]) => ({
      name,
      type: "SECRET" as const,
      secret: secretOf(secret),
    })),
  ];
  const cmd = c.exec?.command;
  // Marathon: the container's user, else the pod's; the agent runs the task as that user.
  const user = c.user ?? pod.user;
  // Marathon's artifacts are the task's CommandInfo.uris, as an app's fetch.
  const uris = c.artifacts.map((a) => ({
    value: a.uri,
    extract: a.extract,
    executable: a.executable,
    cache: a.cache,
    ...(a.destPath !== undefined ? { output_file: a.destPath } : {}),
  }));
  return {
    environment: { variables },
    ...(uris.length > 0 ? { uris } : {}),
    ...commandOf(cmd, c.image !== undefined),
    ...(user !== undefined ? { user } : {}),
  };
}

function commandOf(cmd: PodCommand | undefined, image: boolean): Partial<CommandInfo> {
  if (!cmd) return { shell: false };
  if ("shell" in cmd) return { shell: true, value: cmd.shell };
  // In an image the argv follows its entrypoint (Docker's Cmd); a process runs argv[0].
  return image ? { shell: false, arguments: cmd.argv } : {
    shell: false,
    value: cmd.argv[0] ?? "",
    arguments: cmd.argv,
  };
}

/**
 * Marathon's pod environment: the pod's, then the container's, then for every endpoint of the
 * pod `ENDPOINT_<NAME>` (the port it listens on), `EP_HOST_<NAME>` / `EP_CONTAINER_<NAME>`,
 * and `MARATHON_*`.
 */
function environment(
  pod: Pod,
  c: PodContainer,
  endpoints: PlacedEndpoint[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of [...Object.entries(pod.environment), ...Object.entries(c.environment)]) {
    if (typeof v === "string") env[k] = v;
  }
  for (const e of endpoints) {
    const name = e.name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    const listens = e.containerPort ?? e.hostPort;
    if (listens !== undefined) env[`ENDPOINT_${name}`] = String(listens);
    if (e.hostPort !== undefined) env[`EP_HOST_${name}`] = String(e.hostPort);
    if (e.containerPort !== undefined) env[`EP_CONTAINER_${name}`] = String(e.containerPort);
  }
  env["MARATHON_APP_ID"] = pod.id;
  env["MARATHON_APP_VERSION"] = pod.version ?? "";
  env["MARATHON_CONTAINER_ID"] = c.name;
  for (const k of ["cpus", "mem", "disk", "gpus"] as const) {
    env[`MARATHON_CONTAINER_RESOURCE_${k.toUpperCase()}`] = String(c.resources[k]);
  }
  const labels = Object.entries(pod.labels).filter(([k, v]) => k.length <= 512 && v.length <= 512);
  env["MARATHON_APP_LABELS"] = labels.map(([k]) => k).join(" ");
  for (const [k, v] of labels) env[`MARATHON_APP_LABEL_${k.replace(/[^A-Za-z0-9_]/g, "_")}`] = v;
  return env;
}

/**
 * The container: an image runs as a DOCKER container (Docker and containerd agents run it); one
 * with a pull config as a MESOS container whose `Image.Docker.config` holds it, the only place
 * Mesos has for registry credentials.
 */
function container(
  pod: Pod,
  c: PodContainer,
  at: { endpoints: PlacedEndpoint[]; bridged: boolean; secretOf: (name: string) => Secret },
): ContainerInfo {
  const volumes = c.volumeMounts.flatMap((m): Volume[] => {
    const volume = pod.volumes.find((v) => v.name === m.name);
    if (!volume) return [];
    if (volume.secret !== undefined) {
      // A file secret: the agent writes the value at mountPath, read-only.
      return [{
        container_path: m.mountPath,
        mode: "RO",
        source: { type: "SECRET", secret: at.secretOf(volume.secret) },
      }];
    }
    const mode = m.readOnly ? "RO" : "RW";
    // An ephemeral volume lives in the group's directory (Mesos' executor sandbox).
    return [{
      container_path: m.mountPath,
      mode,
      source: volume.host !== undefined
        ? { type: "HOST_PATH", host_path: { path: volume.host } }
        : { type: "SANDBOX_PATH", sandbox_path: { type: "PARENT", path: volume.name } },
    }];
  });
  if (!c.image) return { type: "MESOS", volumes };
  const mappings = at.endpoints.flatMap((e) => {
    const hostPort = e.hostPort;
    if (hostPort === undefined) return [];
    const container_port = e.containerPort ?? hostPort;
    return e.protocol.map((protocol) => ({ host_port: hostPort, container_port, protocol }));
  });
  if (c.image.pullConfig) {
    return {
      type: "MESOS",
      volumes,
      mesos: {
        image: {
          type: "DOCKER",
          docker: { name: c.image.id, config: at.secretOf(c.image.pullConfig.secret) },
          ...(c.image.forcePull ? { cached: false } : {}),
        },
      },
      ...(at.bridged && mappings.length > 0
        ? { network_infos: [{ port_mappings: mappings }] }
        : {}),
    };
  }
  return {
    type: "DOCKER",
    volumes,
    docker: {
      image: c.image.id,
      network: at.bridged ? "BRIDGE" : "HOST",
      port_mappings: at.bridged ? mappings : [],
      force_pull_image: c.image.forcePull,
    },
  };
}

/**
 * The container's health check, run by the agent: an HTTP or TCP check at its endpoint (the
 * allocated host port on the host's network, the container port in a pod network), or a
 * command. Pod checks are Mesos-level: kill after `maxConsecutiveFailures` (at least one).
 */
function mesosHealthCheck(
  c: PodContainer,
  endpoints: PlacedEndpoint[],
  bridged: boolean,
): HealthCheck | undefined {
  const hc = c.healthCheck!;
  const common = {
    delay_seconds: hc.delaySeconds,
    interval_seconds: hc.intervalSeconds,
    timeout_seconds: hc.timeoutSeconds,
    consecutive_failures: Math.max(hc.maxConsecutiveFailures, 1),
    grace_period_seconds: hc.gracePeriodSeconds,
  };
  if (hc.exec) {
    const cmd = hc.exec.command;
    return {
      ...common,
      type: "COMMAND",
      command: "shell" in cmd
        ? { shell: true, value: cmd.shell }
        : { shell: false, value: cmd.argv[0] ?? "", arguments: cmd.argv },
    };
  }
  const name = hc.http?.endpoint ?? hc.tcp?.endpoint;
  const e = endpoints.find((x) => x.name === name);
  const port = bridged ? e?.containerPort ?? e?.hostPort : e?.hostPort ?? e?.containerPort;
  if (port === undefined) return undefined;
  if (hc.tcp) return { ...common, type: "TCP", tcp: { port } };
  return {
    ...common,
    type: "HTTP",
    http: { scheme: hc.http?.scheme.toLowerCase() ?? "http", port, path: hc.http?.path ?? "/" },
  };
}

/**
 * Discovery: the pod's name, and each endpoint reachable from outside (a host port) as a
 * named port with the endpoint's labels (`service_port`, `TENDER_VHOST`, … for the router).
 */
function discovery(pod: Pod, endpoints: PlacedEndpoint[]): DiscoveryInfo {
  return {
    visibility: "FRAMEWORK",
    name: taskName(pod.id),
    ports: {
      ports: endpoints.flatMap((e) =>
        e.hostPort !== undefined && e.hostPort > 0
          ? [{
            number: e.hostPort,
            name: e.name,
            protocol: e.protocol.join(","),
            labels: { labels: Object.entries(e.labels).map(([key, value]) => ({ key, value })) },
          }]
          : []
      ),
    },
  };
}
