/**
 * The zod schema of a Marathon app definition as submitted: the 1.10 canonical fields plus the
 * legacy forms real JSON still uses (`ports`, `uris`, `ipAddress`, `container.docker.network`,
 * `container.docker.portMappings`, `residency`). Types are checked here (a wrong type is
 * Marathon's "Invalid JSON"); value rules live in `validate.ts`, defaults that depend on other
 * fields in `normalize.ts`. Unknown keys are dropped silently, as Marathon ignores them.
 */
import { z } from "zod";

const Labels = z.record(z.string(), z.string());
const Protocol = z.string();

export const PortDefinitionSchema = z.object({
  port: z.number().int().default(0),
  protocol: Protocol.default("tcp"),
  name: z.string().optional(),
  labels: Labels.default({}),
});
export type PortDefinition = z.infer<typeof PortDefinitionSchema>;

export const PortMappingSchema = z.object({
  containerPort: z.number().int().default(0),
  hostPort: z.number().int().optional(),
  servicePort: z.number().int().default(0),
  protocol: Protocol.default("tcp"),
  name: z.string().optional(),
  labels: Labels.default({}),
  networkNames: z.array(z.string()).optional(),
});
export type PortMapping = z.infer<typeof PortMappingSchema>;

export const VolumeSchema = z.object({
  containerPath: z.string(),
  hostPath: z.string().optional(),
  mode: z.enum(["RO", "RW"]).default("RW"),
  persistent: z.object({
    type: z.enum(["root", "path", "mount"]).default("root"),
    size: z.number(),
    maxSize: z.number().optional(),
    profileName: z.string().optional(),
    constraints: z.array(z.array(z.string())).default([]),
  }).optional(),
  external: z.object({
    name: z.string(),
    provider: z.string(),
    options: z.record(z.string(), z.unknown()).default({}),
    size: z.number().optional(),
  }).optional(),
  secret: z.string().optional(),
});
export type Volume = z.infer<typeof VolumeSchema>;

export const DockerSchema = z.object({
  image: z.string(),
  forcePullImage: z.boolean().default(false),
  privileged: z.boolean().default(false),
  parameters: z.array(z.object({ key: z.string(), value: z.string() })).default([]),
  /** Deprecated: BRIDGE | HOST | NONE | USER, translated to `networks`. */
  network: z.enum(["BRIDGE", "HOST", "NONE", "USER"]).optional(),
  /** Deprecated location of `container.portMappings`. */
  portMappings: z.array(PortMappingSchema).optional(),
  pullConfig: z.object({ secret: z.string() }).optional(),
  credential: z.object({ principal: z.string(), secret: z.string().optional() }).optional(),
});
export type Docker = z.infer<typeof DockerSchema>;

export const ContainerSchema = z.object({
  type: z.enum(["DOCKER", "MESOS"]).default("DOCKER"),
  docker: DockerSchema.optional(),
  portMappings: z.array(PortMappingSchema).optional(),
  volumes: z.array(VolumeSchema).default([]),
});
export type Container = z.infer<typeof ContainerSchema>;

export const NetworkSchema = z.object({
  mode: z.enum(["host", "container", "container/bridge"]).default("container"),
  name: z.string().optional(),
  labels: Labels.default({}),
});
export type Network = z.infer<typeof NetworkSchema>;

export const HEALTH_PROTOCOLS = [
  "HTTP",
  "HTTPS",
  "TCP",
  "COMMAND",
  "MESOS_HTTP",
  "MESOS_HTTPS",
  "MESOS_TCP",
] as const;

export const HealthCheckSchema = z.object({
  protocol: z.enum(HEALTH_PROTOCOLS).default("HTTP"),
  path: z.string().optional(),
  portIndex: z.number().int().optional(),
  port: z.number().int().optional(),
  command: z.object({ value: z.string() }).optional(),
  gracePeriodSeconds: z.number().int().default(300),
  intervalSeconds: z.number().int().default(60),
  timeoutSeconds: z.number().int().default(20),
  maxConsecutiveFailures: z.number().int().default(3),
  delaySeconds: z.number().int().default(15),
  ignoreHttp1xx: z.boolean().default(false),
  ipProtocol: z.enum(["IPv4", "IPv6"]).default("IPv4"),
});
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

export const ReadinessCheckSchema = z.object({
  name: z.string().default("readinessCheck"),
  protocol: z.enum(["HTTP", "HTTPS"]).default("HTTP"),
  path: z.string().default("/"),
  portName: z.string().default("http-api"),
  intervalSeconds: z.number().int().default(30),
  timeoutSeconds: z.number().int().default(10),
  httpStatusCodesForReady: z.array(z.number().int()).default([200]),
  preserveLastResponse: z.boolean().default(false),
});
export type ReadinessCheck = z.infer<typeof ReadinessCheckSchema>;

export const FetchSchema = z.object({
  uri: z.string(),
  extract: z.boolean().default(true),
  executable: z.boolean().default(false),
  cache: z.boolean().default(false),
  destPath: z.string().optional(),
});
export type Fetch = z.infer<typeof FetchSchema>;

export const UpgradeStrategySchema = z.object({
  minimumHealthCapacity: z.number().default(1),
  maximumOverCapacity: z.number().default(1),
});
export type UpgradeStrategy = z.infer<typeof UpgradeStrategySchema>;

export const UnreachableStrategySchema = z.union([
  z.literal("disabled"),
  z.object({
    inactiveAfterSeconds: z.number().int().default(0),
    expungeAfterSeconds: z.number().int().default(0),
  }),
]);
export type UnreachableStrategy = z.infer<typeof UnreachableStrategySchema>;

export const EnvValueSchema = z.union([z.string(), z.object({ secret: z.string() })]);
export type EnvValue = z.infer<typeof EnvValueSchema>;

/** An app definition as submitted (canonical and legacy fields, before normalisation). */
export const AppInputSchema = z.object({
  id: z.string(),
  cmd: z.string().optional(),
  args: z.array(z.string()).optional(),
  user: z.string().optional(),
  env: z.record(z.string(), EnvValueSchema).default({}),
  secrets: z.record(z.string(), z.object({ source: z.string() })).default({}),
  instances: z.number().int().default(1),
  cpus: z.number().default(1),
  mem: z.number().default(128),
  disk: z.number().default(0),
  gpus: z.number().int().default(0),
  resourceLimits: z.object({
    cpus: z.union([z.number(), z.literal("unlimited")]).optional(),
    mem: z.union([z.number(), z.literal("unlimited")]).optional(),
  }).optional(),
  executor: z.string().default(""),
  constraints: z.array(z.array(z.string())).default([]),
  acceptedResourceRoles: z.array(z.string()).optional(),
  role: z.string().optional(),
  container: ContainerSchema.optional(),
  networks: z.array(NetworkSchema).optional(),
  portDefinitions: z.array(PortDefinitionSchema).optional(),
  /** Deprecated: host ports / service ports, translated to `portDefinitions`. */
  ports: z.array(z.number().int()).optional(),
  requirePorts: z.boolean().default(false),
  healthChecks: z.array(HealthCheckSchema).default([]),
  check: z.record(z.string(), z.unknown()).optional(),
  readinessChecks: z.array(ReadinessCheckSchema).default([]),
  dependencies: z.array(z.string()).default([]),
  upgradeStrategy: UpgradeStrategySchema.optional(),
  backoffSeconds: z.number().int().default(1),
  backoffFactor: z.number().default(1.15),
  maxLaunchDelaySeconds: z.number().int().default(300),
  killSelection: z.enum(["YOUNGEST_FIRST", "OLDEST_FIRST"]).default("YOUNGEST_FIRST"),
  unreachableStrategy: UnreachableStrategySchema.optional(),
  taskKillGracePeriodSeconds: z.number().int().optional(),
  fetch: z.array(FetchSchema).default([]),
  /** Deprecated: translated to `fetch`. */
  uris: z.array(z.string()).optional(),
  labels: Labels.default({}),
  /** Deprecated: translated to `networks`. */
  ipAddress: z.object({
    networkName: z.string().optional(),
    discovery: z.object({
      ports: z.array(z.object({
        number: z.number().int(),
        name: z.string(),
        protocol: Protocol.default("tcp"),
        labels: Labels.default({}),
      })).default([]),
    }).optional(),
    groups: z.array(z.string()).optional(),
    labels: Labels.optional(),
  }).optional(),
  /** Deprecated, no effect; added when persistent volumes are present. */
  residency: z.object({
    relaunchEscalationTimeoutSeconds: z.number().int().default(3600),
    taskLostBehavior: z.string().default("WAIT_FOREVER"),
  }).optional(),
  tty: z.boolean().optional(),
  version: z.string().optional(),
  versionInfo: z.object({
    lastScalingAt: z.string(),
    lastConfigChangeAt: z.string(),
  }).optional(),
});
export type AppInput = z.infer<typeof AppInputSchema>;
