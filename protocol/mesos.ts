/**
 * The Mesos v1 wire types, JSON flavour: field names and shapes exactly as Mesos' protobufs
 * serialise them (snake_case, enums by name, ids wrapped in `{value}`), so existing Mesos
 * HTTP clients work unchanged. Unknown keys are ignored, as Mesos ignores them.
 */
import { z } from "zod";
import { LIMITS } from "../base/mod.ts";

const IdSchema = z.object({ value: z.string().min(1).max(LIMITS.idLength) });
/** A name or label text: bounded, so no record outgrows what the store takes. */
const text = () => z.string().max(LIMITS.labelLength);
export const FrameworkIdSchema = IdSchema;
export const AgentIdSchema = IdSchema;
export const OfferIdSchema = IdSchema;
export const TaskIdSchema = IdSchema;
export const ExecutorIdSchema = IdSchema;
/** An id wrapped as Mesos wraps every id: `{"value": "..."}`. */
export type Id = z.infer<typeof IdSchema>;

export const RangeSchema = z.object({
  begin: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  end: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
}).refine((r) => r.begin <= r.end, { message: "range begin must not exceed end" });
export type Range = z.infer<typeof RangeSchema>;

export const LabelsSchema = z.object({
  labels: z.array(z.object({ key: text(), value: text().optional() })).default([]),
});
export type Labels = z.infer<typeof LabelsSchema>;

/**
 * Mesos' `Resource.ReservationInfo` in the refined format (`Resource.reservations`, a stack, the
 * last entry the role the resource is reserved for). `type` left out means DYNAMIC: STATIC ones
 * come only from an agent's `--resources`.
 */
export const ReservationInfoSchema = z.object({
  type: z.enum(["UNKNOWN", "STATIC", "DYNAMIC"]).optional(),
  role: z.string().min(1).max(LIMITS.idLength).optional(),
  principal: text().optional(),
  labels: LabelsSchema.optional(),
});
export type ReservationInfo = z.infer<typeof ReservationInfoSchema>;

/**
 * Mesos' `Resource.DiskInfo`: a disk resource that is a persistent volume (`persistence.id`,
 * unique per role on an agent) mounted at `volume.container_path`. `source` (MOUNT/PATH/RAW/BLOCK
 * disks of resource providers) is refused: Tender's agents have one root disk.
 */
export const DiskInfoSchema = z.object({
  persistence: z.object({
    id: z.string().min(1).max(LIMITS.idLength),
    principal: text().optional(),
  }).optional(),
  volume: z.object({
    container_path: z.string().min(1).max(LIMITS.labelLength),
    mode: z.enum(["RW", "RO"]).optional(),
    host_path: z.string().optional(),
    source: z.unknown().optional(),
  }).optional(),
  source: z.unknown().optional(),
});
export type DiskInfo = z.infer<typeof DiskInfoSchema>;

export const ResourceSchema = z.object({
  name: z.string().min(1).max(LIMITS.idLength),
  type: z.enum(["SCALAR", "RANGES", "SET"]),
  scalar: z.object({ value: z.number().finite().nonnegative().max(LIMITS.scalar) }).optional(),
  ranges: z.object({ range: z.array(RangeSchema) }).optional(),
  set: z.object({ item: z.array(z.string()) }).optional(),
  /** Pre-refinement format: the reserved-for role ("*" = unreserved). */
  role: z.string().max(LIMITS.idLength).optional(),
  /** Pre-refinement format: set for a dynamic reservation of `role`. */
  reservation: ReservationInfoSchema.optional(),
  /** Refined format: the reservation stack, outermost first. */
  reservations: z.array(ReservationInfoSchema).max(16).optional(),
  disk: DiskInfoSchema.optional(),
  allocation_info: z.object({ role: z.string().optional() }).optional(),
  provider_id: z.unknown().optional(),
  revocable: z.unknown().optional(),
  shared: z.unknown().optional(),
}).superRefine((r, ctx) => {
  const need = r.type === "SCALAR" ? "scalar" : r.type === "RANGES" ? "ranges" : "set";
  if (r[need] === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `resource "${r.name}" of type ${r.type} needs "${need}"`,
    });
  }
  for (const problem of resourceFormatProblems(r)) {
    ctx.addIssue({ code: "custom", message: `resource "${r.name}": ${problem}` });
  }
});
export type Resource = z.infer<typeof ResourceSchema>;

/**
 * What Tender refuses in a resource's reservation and disk fields, as Mesos' validation words it:
 * resource providers, revocable and shared resources, disk sources, reservations without a role,
 * a pre-refinement `role`/`reservation` that disagrees with `reservations`.
 */
function resourceFormatProblems(r: {
  name: string;
  role?: string;
  reservation?: ReservationInfo;
  reservations?: ReservationInfo[];
  disk?: DiskInfo;
  provider_id?: unknown;
  revocable?: unknown;
  shared?: unknown;
}): string[] {
  const out: string[] = [];
  if (r.provider_id !== undefined) out.push("provider_id is not supported (no resource providers)");
  if (r.revocable !== undefined) out.push("revocable resources are not supported");
  if (r.shared !== undefined) out.push("shared resources are not supported");
  if (r.disk?.source !== undefined) out.push("disk.source is not supported (one root disk)");
  if (r.disk && r.name !== "disk") out.push(`disk info on a "${r.name}" resource`);
  if (r.disk?.volume && !r.disk.persistence) {
    out.push("disk.volume without disk.persistence (only persistent volumes are supported)");
  }
  const stack = r.reservations ?? [];
  stack.forEach((res, i) => {
    if (!res.role || res.role === "*") out.push(`reservations[${i}].role must be a role`);
    if (res.type === "UNKNOWN") out.push(`reservations[${i}].type must be STATIC or DYNAMIC`);
  });
  if (stack.length > 0) {
    const last = stack[stack.length - 1]!.role;
    if (r.role !== undefined && r.role !== "*" && r.role !== last) {
      out.push(`role "${r.role}" disagrees with reservations (reserved for "${last}")`);
    }
    if (r.reservation !== undefined && stack.length > 1) {
      out.push("reservation (pre-refinement) cannot describe a refined reservation stack");
    }
  } else if (r.reservation !== undefined && (r.role === undefined || r.role === "*")) {
    out.push('reservation set on an unreserved resource (role "*")');
  }
  return out;
}

export const AttributeSchema = z.object({
  name: z.string().min(1),
  type: z.enum(["SCALAR", "RANGES", "SET", "TEXT"]),
  scalar: z.object({ value: z.number().finite() }).optional(),
  ranges: z.object({ range: z.array(RangeSchema) }).optional(),
  set: z.object({ item: z.array(z.string()) }).optional(),
  text: z.object({ value: z.string() }).optional(),
});
export type Attribute = z.infer<typeof AttributeSchema>;

/**
 * Mesos' `Secret`: a VALUE carries its bytes (`value.data`, base64 in JSON), a REFERENCE names
 * one for a secret resolver (agents refuse it: they have none). See `protocol/secrets.ts`.
 */
export const SecretSchema = z.object({
  type: z.enum(["UNKNOWN", "REFERENCE", "VALUE"]).optional(),
  reference: z.object({ name: z.string(), key: z.string().optional() }).optional(),
  value: z.object({ data: z.string() }).optional(),
});
export type Secret = z.infer<typeof SecretSchema>;

export const EnvironmentSchema = z.object({
  variables: z.array(z.object({
    name: z.string().min(1),
    type: z.enum(["VALUE", "SECRET", "UNKNOWN"]).optional(),
    value: z.string().optional(),
    secret: SecretSchema.optional(),
  })).default([]),
});

export const CommandInfoSchema = z.object({
  uris: z.array(z.object({
    value: z.string(),
    executable: z.boolean().optional(),
    extract: z.boolean().optional(),
    cache: z.boolean().optional(),
    output_file: z.string().optional(),
  })).optional(),
  environment: EnvironmentSchema.optional(),
  /** Default true: `value` runs under `/bin/sh -c`. */
  shell: z.boolean().optional(),
  value: z.string().optional(),
  arguments: z.array(z.string()).optional(),
  user: z.string().optional(),
});
export type CommandInfo = z.infer<typeof CommandInfoSchema>;

export const PortMappingSchema = z.object({
  host_port: z.number().int().min(0).max(65535),
  container_port: z.number().int().min(0).max(65535),
  protocol: z.string().optional(),
});
export type PortMapping = z.infer<typeof PortMappingSchema>;

/**
 * Mesos' `Volume.Source`. Tender mounts `SANDBOX_PATH` (SELF: below the task's sandbox; PARENT:
 * below its task group's shared directory, Mesos' executor sandbox), `HOST_PATH` and `SECRET`
 * (a VALUE secret written as a file); agents refuse the other types at launch, naming them.
 */
export const VolumeSourceSchema = z.object({
  type: z.enum(["UNKNOWN", "DOCKER_VOLUME", "HOST_PATH", "SANDBOX_PATH", "SECRET", "CSI_VOLUME"]),
  host_path: z.object({ path: z.string() }).optional(),
  sandbox_path: z.object({
    type: z.enum(["UNKNOWN", "SELF", "PARENT"]).optional(),
    path: z.string(),
  }).optional(),
  secret: SecretSchema.optional(),
});
export type VolumeSource = z.infer<typeof VolumeSourceSchema>;

/** Mesos' `Volume`: `container_path` relative to the sandbox, or absolute in the container. */
export const VolumeSchema = z.object({
  container_path: z.string(),
  host_path: z.string().optional(),
  mode: z.enum(["RW", "RO"]).optional(),
  source: VolumeSourceSchema.optional(),
});
export type Volume = z.infer<typeof VolumeSchema>;

/**
 * Mesos' `Image` (of a MESOS container): a Docker image by name, and the Docker config JSON to
 * pull it with (`docker.config`, a Secret: `{"auths": {"registry:port": {"auth": …}}}`). Tender's
 * agents run it in Docker or containerd; APPC images are refused by them at launch.
 */
export const ImageSchema = z.object({
  type: z.enum(["APPC", "DOCKER"]),
  docker: z.object({
    name: z.string().min(1),
    credential: z.object({ principal: z.string(), secret: z.string().optional() }).optional(),
    config: SecretSchema.optional(),
  }).optional(),
  appc: z.object({ name: z.string() }).passthrough().optional(),
  /** false: pull even when the image is already on the agent. */
  cached: z.boolean().optional(),
});
export type Image = z.infer<typeof ImageSchema>;

export const ContainerInfoSchema = z.object({
  type: z.enum(["DOCKER", "MESOS"]),
  volumes: z.array(VolumeSchema).optional(),
  hostname: z.string().optional(),
  docker: z.object({
    image: z.string().min(1),
    network: z.enum(["HOST", "BRIDGE", "NONE", "USER"]).optional(),
    port_mappings: z.array(PortMappingSchema).optional(),
    privileged: z.boolean().optional(),
    parameters: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
    force_pull_image: z.boolean().optional(),
  }).optional(),
  mesos: z.object({ image: ImageSchema.optional() }).optional(),
  network_infos: z.array(z.object({
    name: z.string().optional(),
    port_mappings: z.array(PortMappingSchema).optional(),
  })).optional(),
});
export type ContainerInfo = z.infer<typeof ContainerInfoSchema>;

export const HealthCheckSchema = z.object({
  type: z.enum(["UNKNOWN", "COMMAND", "HTTP", "TCP"]).optional(),
  delay_seconds: z.number().finite().nonnegative().optional(),
  interval_seconds: z.number().finite().positive().optional(),
  timeout_seconds: z.number().finite().positive().optional(),
  consecutive_failures: z.number().int().nonnegative().optional(),
  grace_period_seconds: z.number().finite().nonnegative().optional(),
  http: z.object({
    scheme: z.string().optional(),
    port: z.number().int().min(0).max(65535),
    path: z.string().optional(),
    statuses: z.array(z.number().int()).optional(),
  }).optional(),
  tcp: z.object({ port: z.number().int().min(0).max(65535) }).optional(),
  command: CommandInfoSchema.optional(),
});
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

export const DurationInfoSchema = z.object({ nanoseconds: z.number().int() });

export const KillPolicySchema = z.object({ grace_period: DurationInfoSchema.optional() });
export type KillPolicy = z.infer<typeof KillPolicySchema>;

export const DiscoveryInfoSchema = z.object({
  visibility: z.enum(["FRAMEWORK", "CLUSTER", "EXTERNAL"]),
  name: z.string().optional(),
  environment: z.string().optional(),
  location: z.string().optional(),
  version: z.string().optional(),
  ports: z.object({
    ports: z.array(z.object({
      number: z.number().int().min(0).max(65535),
      name: z.string().optional(),
      protocol: z.string().optional(),
      labels: LabelsSchema.optional(),
    })).default([]),
  }).optional(),
  labels: LabelsSchema.optional(),
});
export type DiscoveryInfo = z.infer<typeof DiscoveryInfoSchema>;

export const ExecutorInfoSchema = z.object({
  type: z.enum(["UNKNOWN", "DEFAULT", "CUSTOM"]).optional(),
  executor_id: ExecutorIdSchema,
  framework_id: FrameworkIdSchema.optional(),
  command: CommandInfoSchema.optional(),
  container: ContainerInfoSchema.optional(),
  resources: z.array(ResourceSchema).optional(),
  name: z.string().optional(),
});
export type ExecutorInfo = z.infer<typeof ExecutorInfoSchema>;

export const TaskInfoSchema = z.object({
  name: z.string(),
  task_id: TaskIdSchema,
  agent_id: AgentIdSchema,
  resources: z.array(ResourceSchema).default([]),
  executor: ExecutorInfoSchema.optional(),
  command: CommandInfoSchema.optional(),
  container: ContainerInfoSchema.optional(),
  health_check: HealthCheckSchema.optional(),
  kill_policy: KillPolicySchema.optional(),
  data: z.string().optional(),
  labels: LabelsSchema.optional(),
  discovery: DiscoveryInfoSchema.optional(),
});
export type TaskInfo = z.infer<typeof TaskInfoSchema>;

export const TASK_STATES = [
  "TASK_STAGING",
  "TASK_STARTING",
  "TASK_RUNNING",
  "TASK_KILLING",
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_ERROR",
  "TASK_LOST",
  "TASK_DROPPED",
  "TASK_UNREACHABLE",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
  "TASK_UNKNOWN",
] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;

const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_ERROR",
  "TASK_LOST",
  "TASK_DROPPED",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
]);

/** Whether a task in this state will never run again (Mesos' isTerminalState). */
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

export const TaskStatusSchema = z.object({
  task_id: TaskIdSchema,
  state: TaskStateSchema,
  message: z.string().optional(),
  source: z.enum(["SOURCE_MASTER", "SOURCE_AGENT", "SOURCE_EXECUTOR"]).optional(),
  reason: z.string().optional(),
  data: z.string().optional(),
  agent_id: AgentIdSchema.optional(),
  executor_id: ExecutorIdSchema.optional(),
  timestamp: z.number().finite().optional(),
  /** Base64. Present means the update is reliable and must be acknowledged. */
  uuid: z.string().optional(),
  healthy: z.boolean().optional(),
  labels: LabelsSchema.optional(),
  container_status: z.object({
    container_id: z.object({ value: z.string() }).optional(),
    network_infos: z.array(z.object({
      /** The named network (CNI, or a Docker user-defined network) the addresses are on. */
      name: z.string().optional(),
      ip_addresses: z.array(z.object({ ip_address: z.string().optional() })).optional(),
    })).optional(),
    executor_pid: z.number().int().optional(),
  }).optional(),
  unreachable_time: z.object({ nanoseconds: z.number().finite() }).optional(),
});
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const FrameworkInfoSchema = z.object({
  user: text(),
  name: text(),
  id: FrameworkIdSchema.optional(),
  failover_timeout: z.number().finite().nonnegative().optional(),
  checkpoint: z.boolean().optional(),
  role: z.string().max(LIMITS.idLength).optional(),
  roles: z.array(z.string().min(1).max(LIMITS.idLength)).optional(),
  hostname: text().optional(),
  principal: text().optional(),
  webui_url: z.string().optional(),
  capabilities: z.array(z.object({ type: z.string() })).optional(),
  labels: LabelsSchema.optional(),
});
export type FrameworkInfo = z.infer<typeof FrameworkInfoSchema>;

export const FiltersSchema = z.object({ refuse_seconds: z.number().finite().optional() });
export type Filters = z.infer<typeof FiltersSchema>;

/** Mesos' `Unavailability`: when (ns since the epoch) and for how long a machine is away. */
export const UnavailabilitySchema = z.object({
  start: z.object({ nanoseconds: z.number().finite() }),
  duration: z.object({ nanoseconds: z.number().finite().nonnegative() }).optional(),
});
export type Unavailability = z.infer<typeof UnavailabilitySchema>;

/** Mesos' `MachineID`: a machine by hostname, IP, or both. */
export const MachineIdSchema = z.object({
  hostname: z.string().min(1).max(LIMITS.idLength).optional(),
  ip: z.string().min(1).max(64).optional(),
});
export type MachineId = z.infer<typeof MachineIdSchema>;

/** An agent's address in an offer or inverse offer (Mesos' `URL`). */
const AgentUrlSchema = z.object({
  scheme: z.string(),
  address: z.object({
    hostname: z.string().optional(),
    ip: z.string().optional(),
    port: z.number().finite(),
  }),
  path: z.string().optional(),
});

/** Mesos' `InverseOffer`: the master asks a framework to give an agent back by a time. */
export const InverseOfferSchema = z.object({
  id: OfferIdSchema,
  url: AgentUrlSchema.optional(),
  framework_id: FrameworkIdSchema,
  agent_id: AgentIdSchema.optional(),
  unavailability: UnavailabilitySchema,
  resources: z.array(ResourceSchema).default([]),
});
export type InverseOffer = z.infer<typeof InverseOfferSchema>;

export const OfferSchema = z.object({
  id: OfferIdSchema,
  framework_id: FrameworkIdSchema,
  agent_id: AgentIdSchema,
  hostname: z.string(),
  url: AgentUrlSchema.optional(),
  resources: z.array(ResourceSchema),
  attributes: z.array(AttributeSchema).default([]),
  executor_ids: z.array(ExecutorIdSchema).default([]),
  allocation_info: z.object({ role: z.string() }).optional(),
  /** Set while the agent's machine is scheduled for maintenance. */
  unavailability: UnavailabilitySchema.optional(),
});
export type Offer = z.infer<typeof OfferSchema>;

export const OperationSchema = z.object({
  type: z.enum([
    "UNKNOWN",
    "LAUNCH",
    "LAUNCH_GROUP",
    "RESERVE",
    "UNRESERVE",
    "CREATE",
    "DESTROY",
    "GROW_VOLUME",
    "SHRINK_VOLUME",
    "CREATE_DISK",
    "DESTROY_DISK",
  ]),
  id: z.object({ value: z.string() }).optional(),
  launch: z.object({ task_infos: z.array(TaskInfoSchema) }).optional(),
  launch_group: z.object({
    executor: ExecutorInfoSchema,
    task_group: z.object({ tasks: z.array(TaskInfoSchema) }),
  }).optional(),
  /** `resources` carry the new reservation on top; `source` (the same without it) is optional. */
  reserve: z.object({
    resources: z.array(ResourceSchema).default([]),
    source: z.array(ResourceSchema).optional(),
  }).optional(),
  unreserve: z.object({ resources: z.array(ResourceSchema).default([]) }).optional(),
  create: z.object({ volumes: z.array(ResourceSchema).default([]) }).optional(),
  destroy: z.object({ volumes: z.array(ResourceSchema).default([]) }).optional(),
});
export type Operation = z.infer<typeof OperationSchema>;

const RolesPayload = z.object({ roles: z.array(z.string()).optional() }).default({});

/** A scheduler call (`POST /api/v1/scheduler`), one variant per `type`. */
export const CallSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("SUBSCRIBE"),
    framework_id: FrameworkIdSchema.optional(),
    subscribe: z.object({
      framework_info: FrameworkInfoSchema,
      suppressed_roles: z.array(z.string()).optional(),
    }),
  }),
  z.object({ type: z.literal("TEARDOWN"), framework_id: FrameworkIdSchema }),
  z.object({
    type: z.literal("ACCEPT"),
    framework_id: FrameworkIdSchema,
    accept: z.object({
      offer_ids: z.array(OfferIdSchema).min(1),
      operations: z.array(OperationSchema).default([]),
      filters: FiltersSchema.optional(),
    }),
  }),
  z.object({
    type: z.literal("DECLINE"),
    framework_id: FrameworkIdSchema,
    decline: z.object({
      offer_ids: z.array(OfferIdSchema).min(1),
      filters: FiltersSchema.optional(),
    }),
  }),
  z.object({
    type: z.literal("ACCEPT_INVERSE_OFFERS"),
    framework_id: FrameworkIdSchema,
    accept_inverse_offers: z.object({
      inverse_offer_ids: z.array(OfferIdSchema).min(1),
      filters: FiltersSchema.optional(),
    }),
  }),
  z.object({
    type: z.literal("DECLINE_INVERSE_OFFERS"),
    framework_id: FrameworkIdSchema,
    decline_inverse_offers: z.object({
      inverse_offer_ids: z.array(OfferIdSchema).min(1),
      filters: FiltersSchema.optional(),
    }),
  }),
  z.object({ type: z.literal("REVIVE"), framework_id: FrameworkIdSchema, revive: RolesPayload }),
  z.object({
    type: z.literal("SUPPRESS"),
    framework_id: FrameworkIdSchema,
    suppress: RolesPayload,
  }),
  z.object({
    type: z.literal("KILL"),
    framework_id: FrameworkIdSchema,
    kill: z.object({
      task_id: TaskIdSchema,
      agent_id: AgentIdSchema.optional(),
      kill_policy: KillPolicySchema.optional(),
    }),
  }),
  z.object({
    type: z.literal("SHUTDOWN"),
    framework_id: FrameworkIdSchema,
    shutdown: z.object({ executor_id: ExecutorIdSchema, agent_id: AgentIdSchema }),
  }),
  z.object({
    type: z.literal("ACKNOWLEDGE"),
    framework_id: FrameworkIdSchema,
    acknowledge: z.object({
      agent_id: AgentIdSchema,
      task_id: TaskIdSchema,
      uuid: z.string().min(1),
    }),
  }),
  z.object({
    type: z.literal("RECONCILE"),
    framework_id: FrameworkIdSchema,
    reconcile: z.object({
      tasks: z.array(z.object({ task_id: TaskIdSchema, agent_id: AgentIdSchema.optional() }))
        .default([]),
    }).default({}),
  }),
  z.object({
    type: z.literal("MESSAGE"),
    framework_id: FrameworkIdSchema,
    message: z.object({
      agent_id: AgentIdSchema,
      executor_id: ExecutorIdSchema,
      data: z.string(),
    }),
  }),
  z.object({
    type: z.literal("REQUEST"),
    framework_id: FrameworkIdSchema,
    request: z.object({ requests: z.array(z.unknown()).default([]) }).default({}),
  }),
]);
export type Call = z.infer<typeof CallSchema>;
export type CallType = Call["type"];

/** A scheduler event, as it travels on the SUBSCRIBE stream. */
export const EventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("SUBSCRIBED"),
    subscribed: z.object({
      framework_id: FrameworkIdSchema,
      heartbeat_interval_seconds: z.number().finite().optional(),
      master_info: z.object({
        id: z.string(),
        hostname: z.string().optional(),
        port: z.number().finite().optional(),
      }).passthrough().optional(),
    }),
  }),
  z.object({ type: z.literal("OFFERS"), offers: z.object({ offers: z.array(OfferSchema) }) }),
  z.object({ type: z.literal("RESCIND"), rescind: z.object({ offer_id: OfferIdSchema }) }),
  z.object({
    type: z.literal("INVERSE_OFFERS"),
    inverse_offers: z.object({ inverse_offers: z.array(InverseOfferSchema) }),
  }),
  z.object({
    type: z.literal("RESCIND_INVERSE_OFFER"),
    rescind_inverse_offer: z.object({ inverse_offer_id: OfferIdSchema }),
  }),
  z.object({ type: z.literal("UPDATE"), update: z.object({ status: TaskStatusSchema }) }),
  z.object({
    type: z.literal("MESSAGE"),
    message: z.object({ agent_id: AgentIdSchema, executor_id: ExecutorIdSchema, data: z.string() }),
  }),
  z.object({
    type: z.literal("FAILURE"),
    failure: z.object({
      agent_id: AgentIdSchema.optional(),
      executor_id: ExecutorIdSchema.optional(),
      status: z.number().finite().optional(),
    }),
  }),
  z.object({ type: z.literal("ERROR"), error: z.object({ message: z.string() }) }),
  z.object({ type: z.literal("HEARTBEAT") }),
]);
export type Event = z.infer<typeof EventSchema>;
