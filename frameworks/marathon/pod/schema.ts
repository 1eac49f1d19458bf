/**
 * The zod schema of a Marathon pod definition (`/v2/pods`, Marathon 1.10's RAML `PodDefinition`)
 * with Marathon's defaults. Types are checked here (a wrong type is Marathon's "Invalid JSON");
 * value rules, and the fields Tender cannot honour, live in `validate.ts`. Unknown keys are
 * dropped, as Marathon ignores them.
 */
import { z } from "zod";
import { EnvValueSchema, FetchSchema, UnreachableStrategySchema } from "../app/schema.ts";

const Labels = z.record(z.string(), z.string());

/** `{"shell": "…"}` or `{"argv": [...]}`. */
export const PodCommandSchema = z.union([
  z.object({ shell: z.string() }),
  z.object({ argv: z.array(z.string()) }),
]);
export type PodCommand = z.infer<typeof PodCommandSchema>;

export const PodResourcesSchema = z.object({
  cpus: z.number().default(1),
  mem: z.number().default(128),
  disk: z.number().default(0),
  gpus: z.number().int().default(0),
});
export type PodResources = z.infer<typeof PodResourcesSchema>;

export const EndpointSchema = z.object({
  name: z.string(),
  containerPort: z.number().int().optional(),
  hostPort: z.number().int().optional(),
  protocol: z.array(z.string()).default(["tcp"]),
  labels: Labels.default({}),
  networkNames: z.array(z.string()).optional(),
});
/** A named port of a pod container. */
export type Endpoint = z.infer<typeof EndpointSchema>;

export const PodHealthCheckSchema = z.object({
  http: z.object({
    endpoint: z.string(),
    path: z.string().optional(),
    scheme: z.enum(["HTTP", "HTTPS"]).default("HTTP"),
  }).optional(),
  tcp: z.object({ endpoint: z.string() }).optional(),
  exec: z.object({ command: PodCommandSchema }).optional(),
  gracePeriodSeconds: z.number().int().default(300),
  intervalSeconds: z.number().int().default(60),
  maxConsecutiveFailures: z.number().int().default(3),
  timeoutSeconds: z.number().int().default(20),
  delaySeconds: z.number().int().default(15),
});
/** A pod container's (Mesos-level) health check. */
export type PodHealthCheck = z.infer<typeof PodHealthCheckSchema>;

export const PodContainerSchema = z.object({
  name: z.string(),
  exec: z.object({
    command: PodCommandSchema,
    overrideEntrypoint: z.boolean().optional(),
  }).optional(),
  resources: PodResourcesSchema,
  endpoints: z.array(EndpointSchema).default([]),
  image: z.object({
    kind: z.string().default("DOCKER"),
    id: z.string(),
    forcePull: z.boolean().default(false),
    pullConfig: z.object({ secret: z.string() }).optional(),
  }).optional(),
  environment: z.record(z.string(), EnvValueSchema).default({}),
  user: z.string().optional(),
  healthCheck: PodHealthCheckSchema.optional(),
  readinessCheck: z.unknown().optional(),
  volumeMounts: z.array(z.object({
    name: z.string(),
    mountPath: z.string(),
    readOnly: z.boolean().default(false),
  })).default([]),
  /** Fetched into the container's sandbox before it starts (the agent's fetcher). */
  artifacts: z.array(FetchSchema).default([]),
  labels: Labels.default({}),
  lifecycle: z.object({ killGracePeriodSeconds: z.number().optional() }).optional(),
  tty: z.boolean().optional(),
  linuxInfo: z.unknown().optional(),
});
/** One container of a pod. */
export type PodContainer = z.infer<typeof PodContainerSchema>;

export const PodVolumeSchema = z.object({
  name: z.string(),
  host: z.string().optional(),
  persistent: z.unknown().optional(),
  secret: z.string().optional(),
});
/** A pod volume: ephemeral (a name only) or a host path. */
export type PodVolume = z.infer<typeof PodVolumeSchema>;

export const PodNetworkSchema = z.object({
  name: z.string().optional(),
  mode: z.enum(["container", "container/bridge", "host"]).default("container"),
  labels: Labels.default({}),
});
export type PodNetwork = z.infer<typeof PodNetworkSchema>;

export const PodConstraintSchema = z.object({
  fieldName: z.string(),
  operator: z.string(),
  value: z.string().optional(),
});

export const PodSchedulingSchema = z.object({
  backoff: z.object({
    backoff: z.number().default(1),
    backoffFactor: z.number().default(1.15),
    maxLaunchDelay: z.number().default(300),
  }).default({}),
  upgrade: z.object({
    minimumHealthCapacity: z.number().default(1),
    maximumOverCapacity: z.number().default(1),
  }).default({}),
  placement: z.object({
    constraints: z.array(PodConstraintSchema).default([]),
    acceptedResourceRoles: z.array(z.string()).default([]),
  }).default({}),
  killSelection: z.enum(["YOUNGEST_FIRST", "OLDEST_FIRST"]).default("YOUNGEST_FIRST"),
  unreachableStrategy: UnreachableStrategySchema.default({
    inactiveAfterSeconds: 0,
    expungeAfterSeconds: 0,
  }),
});

/** A pod definition as submitted and, with the defaults filled in, as stored and shown. */
export const PodSchema = z.object({
  id: z.string(),
  labels: Labels.default({}),
  version: z.string().optional(),
  user: z.string().optional(),
  environment: z.record(z.string(), EnvValueSchema).default({}),
  containers: z.array(PodContainerSchema),
  secrets: z.record(z.string(), z.object({ source: z.string() })).default({}),
  volumes: z.array(PodVolumeSchema).default([]),
  networks: z.array(PodNetworkSchema).default([{ mode: "host", labels: {} }]),
  scaling: z.object({
    kind: z.string().default("fixed"),
    instances: z.number().int().default(1),
    maxInstances: z.number().int().optional(),
  }).default({}),
  scheduling: PodSchedulingSchema.default({}),
  executorResources: z.object({
    cpus: z.number().default(0.1),
    mem: z.number().default(32),
    disk: z.number().default(10),
  }).default({}),
  role: z.string().optional(),
  legacySharedCgroups: z.boolean().optional(),
  /** Tender's own, not shown: when the pod's configuration (not its scale) last changed. */
  versionInfo: z.object({ lastScalingAt: z.string(), lastConfigChangeAt: z.string() })
    .optional(),
});
/** A canonical pod definition. */
export type Pod = z.infer<typeof PodSchema>;
