/**
 * Translation of an app instance placed on an offer into the Mesos `TaskInfo` to launch:
 * command or image entrypoint, container, port mappings, Marathon's environment variables,
 * the health check, labels, discovery info with named ports and the kill policy.
 */
import type {
  CommandInfo,
  ContainerInfo,
  DiscoveryInfo,
  HealthCheck as MesosHealthCheck,
  Resource,
  Secret,
  TaskInfo,
  Volume,
} from "../../../protocol/mod.ts";
import { valueSecret } from "../secrets/app_secrets.ts";
import { type App, isHostNetworking } from "./normalize.ts";
import { taskName } from "./path_id.ts";
import { type DeclaredPort, declaredPorts } from "./ports.ts";
import type { HealthCheck } from "./schema.ts";

/** Where an instance was placed: the agent and what was taken from its offer. */
export interface OfferMatch {
  agentId: string;
  hostname: string;
  /** The resources to launch with (cpus, mem, disk, gpus, ports), as Mesos messages. */
  resources: Resource[];
  /** One host port per declared port that asks for one, in declaration order. */
  hostPorts: number[];
  /** The task id (a resident instance's next incarnation); default `taskIdFor(instanceId)`. */
  taskId?: string;
}

/**
 * The Mesos task id of an instance's task: `<instanceId>._app.<incarnation>`, the first being 1
 * (a resident instance's relaunches count up).
 */
export function taskIdFor(instanceId: string, incarnation = 1): string {
  return `${instanceId}._app.${incarnation}`;
}

/**
 * The `TaskInfo` that launches `instanceId` of `app` on the matched offer. `secrets` holds the
 * values of the app's secrets by canonical path (`/prod/db`); they go to the agent as Mesos
 * VALUE secrets in `SECRET` variables and volumes. Throws naming a secret missing from it.
 */
export function toTaskInfo(
  app: App,
  instanceId: string,
  match: OfferMatch,
  secrets: ReadonlyMap<string, string> = new Map(),
): TaskInfo {
  const taskId = match.taskId ?? taskIdFor(instanceId);
  const ports = withHostPorts(declaredPorts(app), match.hostPorts);
  const env = environment(app, taskId, match.hostname, ports);
  const secretOf = (name: string): Secret => valueSecret({ ...app, kind: "App" }, name, secrets);
  const command: CommandInfo = {
    environment: {
      variables: [
        ...Object.entries(env).map(([name, value]) => ({ name, type: "VALUE" as const, value })),
        ...Object.entries(app.env).flatMap(([name, value]) =>
          typeof value === "string"
            ? []
            : [{ name, type: "SECRET" as const, secret: secretOf(value.secret) }]
        ),
      ],
    },
    ...(app.cmd !== undefined
      ? { shell: true, value: app.cmd }
      : app.args && app.args.length > 0
      ? { shell: false, arguments: app.args }
      : { shell: false }),
    ...(app.user !== undefined ? { user: app.user } : {}),
    ...(app.fetch.length > 0
      ? {
        uris: app.fetch.map((f) => ({
          value: f.uri,
          extract: f.extract,
          executable: f.executable,
          cache: f.cache,
          ...(f.destPath !== undefined ? { output_file: f.destPath } : {}),
        })),
      }
      : {}),
  };
  const container = containerInfo(app, ports, secretOf);
  const healthCheck = app.healthChecks[0]
    ? mesosHealthCheck(app.healthChecks[0], ports)
    : undefined;
  return {
    name: taskName(app.id),
    task_id: { value: taskId },
    agent_id: { value: match.agentId },
    resources: match.resources,
    command,
    ...(container ? { container } : {}),
    ...(healthCheck ? { health_check: healthCheck } : {}),
    ...(app.taskKillGracePeriodSeconds !== undefined
      ? {
        kill_policy: {
          grace_period: { nanoseconds: app.taskKillGracePeriodSeconds * 1_000_000_000 },
        },
      }
      : {}),
    labels: {
      labels: Object.entries(taskLabels(app, ports)).map(([key, value]) => ({ key, value })),
    },
    discovery: discoveryInfo(app, ports),
  };
}

type PlacedPort = DeclaredPort & { assigned?: number };

function withHostPorts(ports: DeclaredPort[], hostPorts: readonly number[]): PlacedPort[] {
  let next = 0;
  return ports.map((p) => (p.hostPort !== undefined ? { ...p, assigned: hostPorts[next++] } : p));
}

/** Marathon's task environment: app env, then ports, then app metadata. */
function environment(
  app: App,
  taskId: string,
  host: string,
  ports: PlacedPort[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(app.env)) if (typeof v === "string") env[k] = v;
  env["HOST"] = host;
  const effective = ports.map((p) => p.assigned ?? p.containerPort ?? 0);
  effective.forEach((port, i) => {
    env[`PORT${i}`] = String(port);
    const p = ports[i]!;
    if (p.name) env[`PORT_${p.name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`] = String(port);
    if (p.containerPort && p.assigned !== undefined) {
      env[`PORT_${p.containerPort}`] = String(p.assigned);
    }
  });
  if (effective.length > 0) {
    env["PORT"] = String(effective[0]);
    env["PORTS"] = effective.join(",");
  }
  env["MARATHON_APP_ID"] = app.id;
  env["MARATHON_APP_VERSION"] = app.version ?? "";
  if (app.container?.docker) env["MARATHON_APP_DOCKER_IMAGE"] = app.container.docker.image;
  env["MARATHON_APP_RESOURCE_CPUS"] = String(app.cpus);
  env["MARATHON_APP_RESOURCE_MEM"] = String(app.mem);
  env["MARATHON_APP_RESOURCE_DISK"] = String(app.disk);
  env["MARATHON_APP_RESOURCE_GPUS"] = String(app.gpus);
  const labels = Object.entries(app.labels).filter(([k, v]) => k.length <= 512 && v.length <= 512);
  env["MARATHON_APP_LABELS"] = labels.map(([k]) => k).join(" ");
  for (const [k, v] of labels) env[`MARATHON_APP_LABEL_${k.replace(/[^A-Za-z0-9_]/g, "_")}`] = v;
  env["MESOS_TASK_ID"] = taskId;
  return env;
}

function containerInfo(
  app: App,
  ports: PlacedPort[],
  secretOf: (name: string) => Secret,
): ContainerInfo | undefined {
  const c = app.container;
  if (!c) return undefined;
  const volumes: Volume[] = c.volumes.flatMap((v): Volume[] =>
    v.hostPath !== undefined
      ? [{ container_path: v.containerPath, host_path: v.hostPath, mode: v.mode }]
      : v.secret !== undefined
      // A file secret: the agent writes the value at containerPath, read-only.
      ? [{
        container_path: v.containerPath,
        mode: "RO",
        source: { type: "SECRET", secret: secretOf(v.secret) },
      }]
      : []
  );
  const mappings = ports.flatMap((p) =>
    p.assigned !== undefined
      ? [{
        host_port: p.assigned,
        container_port: p.containerPort || p.assigned,
        protocol: p.protocol,
      }]
      : []
  );
  const bridge = app.networks.some((n) => n.mode === "container/bridge");
  const network = isHostNetworking(app) ? "HOST" : bridge ? "BRIDGE" : "USER";
  const networkNames = app.networks.filter((n) => n.mode === "container" && n.name);
  const networkInfos = networkNames.length > 0
    ? { network_infos: networkNames.map((n) => ({ name: n.name!, port_mappings: mappings })) }
    : {};
  if (c.type === "DOCKER" && c.docker) {
    return {
      type: "DOCKER",
      volumes,
      docker: {
        image: c.docker.image,
        network,
        port_mappings: network === "HOST" ? [] : mappings,
        privileged: c.docker.privileged,
        parameters: c.docker.parameters,
        force_pull_image: c.docker.forcePullImage,
      },
      ...networkInfos,
    };
  }
  return {
    type: "MESOS",
    volumes,
    ...(c.docker
      ? {
        mesos: {
          image: {
            type: "DOCKER",
            docker: {
              name: c.docker.image,
              // The registry credentials: a Docker config JSON, given as the other secrets.
              ...(c.docker.pullConfig ? { config: secretOf(c.docker.pullConfig.secret) } : {}),
            },
            ...(c.docker.forcePullImage ? { cached: false } : {}),
          },
        },
      }
      : {}),
    ...(network !== "HOST"
      ? {
        network_infos: [{
          ...(networkNames[0]?.name ? { name: networkNames[0].name } : {}),
          port_mappings: mappings,
        }],
      }
      : networkInfos),
  };
}

/**
 * The Mesos health check for an app check. Marathon-level HTTP/HTTPS/TCP checks are run by
 * the agent too (Tender has no leader-side prober), so they translate like their MESOS_ twins.
 * The port is the assigned host port (reachable from the agent), else the container port.
 */
function mesosHealthCheck(hc: HealthCheck, ports: PlacedPort[]): MesosHealthCheck | undefined {
  const common = {
    delay_seconds: hc.delaySeconds,
    interval_seconds: Math.max(hc.intervalSeconds, 1),
    timeout_seconds: Math.max(hc.timeoutSeconds, 1),
    consecutive_failures: consecutiveFailures(hc),
    grace_period_seconds: hc.gracePeriodSeconds,
  };
  if (hc.protocol === "COMMAND") {
    return {
      ...common,
      type: "COMMAND",
      command: { shell: true, value: hc.command?.value ?? "true" },
    };
  }
  const placed = hc.portIndex !== undefined ? ports[hc.portIndex] : undefined;
  const port = hc.port ?? placed?.assigned ?? placed?.containerPort;
  if (port === undefined) return undefined;
  if (hc.protocol === "TCP" || hc.protocol === "MESOS_TCP") {
    return { ...common, type: "TCP", tcp: { port } };
  }
  const scheme = hc.protocol === "HTTPS" || hc.protocol === "MESOS_HTTPS" ? "https" : "http";
  return { ...common, type: "HTTP", http: { scheme, port, path: hc.path ?? "/" } };
}

/**
 * The app's labels plus what discovery reads: `MARATHON_APP_ID` (the service name) and
 * `TENDER_SERVICE_PORTS` (Marathon's servicePorts by port index) when any is assigned.
 */
function taskLabels(app: App, ports: PlacedPort[]): Record<string, string> {
  const labels: Record<string, string> = { ...app.labels, MARATHON_APP_ID: app.id };
  const servicePorts = ports.map((p) => p.servicePort);
  if (servicePorts.some((p) => p > 0)) labels["TENDER_SERVICE_PORTS"] = servicePorts.join(",");
  return labels;
}

/**
 * Marathon-level checks (HTTP, HTTPS, TCP) kill on the failure after `maxConsecutiveFailures`
 * and never with 0; Mesos-level ones (MESOS_*, COMMAND) after that many, and at the first with 0.
 * The agent kills once `consecutive_failures` are reached and never with 0.
 */
function consecutiveFailures(hc: HealthCheck): number {
  const max = hc.maxConsecutiveFailures;
  const marathonLevel = hc.protocol === "HTTP" || hc.protocol === "HTTPS" || hc.protocol === "TCP";
  if (marathonLevel) return max === 0 ? 0 : max + 1;
  return Math.max(max, 1);
}

function discoveryInfo(app: App, ports: PlacedPort[]): DiscoveryInfo {
  return {
    visibility: "FRAMEWORK",
    name: taskName(app.id),
    ports: {
      ports: ports.flatMap((p) => {
        const number = p.assigned ?? p.containerPort;
        if (number === undefined) return [];
        return [{
          number,
          ...(p.name ? { name: p.name } : {}),
          protocol: p.protocol,
          labels: {
            labels: Object.entries({
              ...p.labels,
              ...(p.servicePort > 0 ? { service_port: String(p.servicePort) } : {}),
            }).map(([key, value]) => ({ key, value })),
          },
        }];
      }),
    },
  };
}
