/**
 * A small typed client of the Container Runtime Interface (`runtime.v1` RuntimeService and
 * ImageService) over gRPC on a Unix socket, as the kubelet drives containerd. The messages are
 * declared in `cri.proto`; every reply is parsed by a zod schema here, once.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { z } from "zod";

/** A failed CRI call: the gRPC status code (14 UNAVAILABLE when nothing answers) and details. */
export class CriError extends Error {
  constructor(readonly grpcCode: number, readonly details: string, method: string) {
    super(details || `${method} failed with gRPC status ${grpcCode}`);
    this.name = "CriError";
  }
  /** Whether the runtime could not be reached at all. */
  get unreachable(): boolean {
    return this.grpcCode === grpc.status.UNAVAILABLE;
  }
  get notFound(): boolean {
    return this.grpcCode === grpc.status.NOT_FOUND;
  }
}

const Labels = z.record(z.string()).default({});
const Int64 = z.union([z.string(), z.number()]).transform(Number);

const MetadataSchema = z.object({ name: z.string(), uid: z.string().default("") });
const ContainerStateSchema = z.enum([
  "CONTAINER_CREATED",
  "CONTAINER_RUNNING",
  "CONTAINER_EXITED",
  "CONTAINER_UNKNOWN",
]);
export type ContainerState = z.infer<typeof ContainerStateSchema>;

const VersionSchema = z.object({ runtime_name: z.string(), runtime_version: z.string() });
const StatusSchema = z.object({
  status: z.object({
    conditions: z.array(z.object({
      type: z.string(),
      status: z.boolean(),
      reason: z.string(),
      message: z.string(),
    })),
  }).nullable(),
  info: Labels,
});
/** The runtime's conditions (RuntimeReady, NetworkReady) and, verbose, its config as JSON. */
export type RuntimeStatus = z.infer<typeof StatusSchema>;
const PodSandboxSchema = z.object({
  id: z.string(),
  metadata: MetadataSchema.nullable(),
  state: z.enum(["SANDBOX_READY", "SANDBOX_NOTREADY"]),
  labels: Labels,
  annotations: Labels,
});
export type PodSandbox = z.infer<typeof PodSandboxSchema>;
const PodSandboxStatusSchema = z.object({
  status: z.object({
    id: z.string(),
    state: z.enum(["SANDBOX_READY", "SANDBOX_NOTREADY"]),
    network: z.object({ ip: z.string() }).nullable(),
  }).nullable(),
});
const ContainerSchema = z.object({
  id: z.string(),
  pod_sandbox_id: z.string(),
  state: ContainerStateSchema,
  labels: Labels,
  annotations: Labels,
});
export type CriContainer = z.infer<typeof ContainerSchema>;
const MountSchema = z.object({
  container_path: z.string(),
  host_path: z.string(),
  readonly: z.boolean(),
});
const ContainerStatusSchema = z.object({
  id: z.string(),
  state: ContainerStateSchema,
  created_at: Int64,
  started_at: Int64,
  finished_at: Int64,
  exit_code: z.number().int(),
  reason: z.string(),
  message: z.string(),
  labels: Labels,
  annotations: Labels,
  mounts: z.array(MountSchema).default([]),
  log_path: z.string(),
});
export type ContainerStatus = z.infer<typeof ContainerStatusSchema>;
const ExecSyncSchema = z.object({
  stdout: z.instanceof(Uint8Array),
  stderr: z.instanceof(Uint8Array),
  exit_code: z.number().int(),
});
const ImageStatusSchema = z.object({
  image: z.object({ id: z.string(), repo_tags: z.array(z.string()) }).nullable(),
});

/** CRI's port mapping (protocol TCP, UDP or SCTP). */
export interface CriPortMapping {
  protocol: "TCP" | "UDP" | "SCTP";
  container_port: number;
  host_port: number;
  host_ip: string;
}

/** A mount of a host path into a container. */
export interface CriMount {
  container_path: string;
  host_path: string;
  readonly: boolean;
}

/** Namespace modes: POD (shared by the pod's containers), CONTAINER, NODE (the host's). */
export type NamespaceMode = "POD" | "CONTAINER" | "NODE";

/** `PodSandboxConfig`, as far as Tender fills it in. */
export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  hostname: string;
  log_directory: string;
  port_mappings: CriPortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux: {
    cgroup_parent?: string;
    security_context: {
      namespace_options: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
      privileged: boolean;
    };
  };
}

/** `ContainerConfig`, as far as Tender fills it in. */
export interface ContainerConfig {
  metadata: { name: string; attempt: number };
  image: { image: string };
  command: string[];
  args: string[];
  envs: { key: string; value: string }[];
  mounts: CriMount[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  log_path: string;
  linux: {
    resources: {
      cpu_period?: number;
      cpu_quota?: number;
      cpu_shares?: number;
      memory_limit_in_bytes?: number;
      memory_swap_limit_in_bytes?: number;
    };
    security_context: {
      privileged: boolean;
      namespace_options: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
      /** The user the container's process runs as, resolved in the image (empty: its USER). */
      run_as_username?: string;
    };
  };
}

/** Per call: how long it may take (default 30 s) and what aborts it. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

type Callback = (error: grpc.ServiceError | null, reply: unknown) => void;
type Method = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback,
) => grpc.ClientUnaryCall;

const PROTO = new URL("./cri.proto", import.meta.url).pathname;
let definition: grpc.GrpcObject | undefined;

function services(): {
  runtime: grpc.ServiceClientConstructor;
  image: grpc.ServiceClientConstructor;
} {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      arrays: true,
    }),
  );
  const Service = z.custom<grpc.ServiceClientConstructor>((v) => typeof v === "function");
  const v1 = z.object({
    runtime: z.object({ v1: z.object({ RuntimeService: Service, ImageService: Service }) }),
  }).parse(definition).runtime.v1;
  return { runtime: v1.RuntimeService, image: v1.ImageService };
}

/** A CRI client on one Unix socket. `close()` releases the channel. */
export class CriClient {
  readonly socket: string;
  #runtime: grpc.Client;
  #image: grpc.Client;

  constructor(socket: string) {
    this.socket = socket;
    const { runtime, image } = services();
    const options = {
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
      // containerd answers on a Unix socket; the authority is ours to choose.
      "grpc.default_authority": "localhost",
    };
    this.#runtime = new runtime(`unix://${socket}`, grpc.credentials.createInsecure(), options);
    this.#image = new image(`unix://${socket}`, grpc.credentials.createInsecure(), {
      ...options,
      channelOverride: this.#runtime.getChannel(),
    });
  }

  async version(options?: CallOptions): Promise<z.infer<typeof VersionSchema>> {
    return VersionSchema.parse(await this.#call(this.#runtime, "Version", {}, options));
  }

  async status(options?: CallOptions): Promise<z.infer<typeof StatusSchema>> {
    return StatusSchema.parse(
      await this.#call(this.#runtime, "Status", { verbose: true }, options),
    );
  }

  async runPodSandbox(config: PodSandboxConfig, options?: CallOptions): Promise<string> {
    const reply = await this.#call(this.#runtime, "RunPodSandbox", { config }, options);
    return z.object({ pod_sandbox_id: z.string() }).parse(reply).pod_sandbox_id;
  }

  async stopPodSandbox(id: string, options?: CallOptions): Promise<void> {
    await this.#call(this.#runtime, "StopPodSandbox", { pod_sandbox_id: id }, options);
  }

  async removePodSandbox(id: string, options?: CallOptions): Promise<void> {
    await this.#call(this.#runtime, "RemovePodSandbox", { pod_sandbox_id: id }, options);
  }

  async podSandboxIp(id: string, options?: CallOptions): Promise<string | undefined> {
    const reply = await this.#call(
      this.#runtime,
      "PodSandboxStatus",
      { pod_sandbox_id: id },
      options,
    );
    return PodSandboxStatusSchema.parse(reply).status?.network?.ip || undefined;
  }

  async listPodSandboxes(labels: Record<string, string>, options?: CallOptions) {
    const reply = await this.#call(
      this.#runtime,
      "ListPodSandbox",
      { filter: { label_selector: labels } },
      options,
    );
    return z.object({ items: z.array(PodSandboxSchema) }).parse(reply).items;
  }

  async createContainer(
    sandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string> {
    const reply = await this.#call(this.#runtime, "CreateContainer", {
      pod_sandbox_id: sandboxId,
      config,
      sandbox_config: sandboxConfig,
    }, options);
    return z.object({ container_id: z.string() }).parse(reply).container_id;
  }

  async startContainer(id: string, options?: CallOptions): Promise<void> {
    await this.#call(this.#runtime, "StartContainer", { container_id: id }, options);
  }

  /** SIGTERM (or the image's stop signal), then SIGKILL after `timeoutS`; resolves once it ended. */
  async stopContainer(id: string, timeoutS: number, options?: CallOptions): Promise<void> {
    await this.#call(
      this.#runtime,
      "StopContainer",
      { container_id: id, timeout: timeoutS },
      options,
    );
  }

  async removeContainer(id: string, options?: CallOptions): Promise<void> {
    await this.#call(this.#runtime, "RemoveContainer", { container_id: id }, options);
  }

  async listContainers(labels: Record<string, string>, options?: CallOptions) {
    const reply = await this.#call(
      this.#runtime,
      "ListContainers",
      { filter: { label_selector: labels } },
      options,
    );
    return z.object({ containers: z.array(ContainerSchema) }).parse(reply).containers;
  }

  async containerStatus(id: string, options?: CallOptions): Promise<ContainerStatus> {
    const reply = await this.#call(this.#runtime, "ContainerStatus", { container_id: id }, options);
    const status = z.object({ status: ContainerStatusSchema.nullable() }).parse(reply).status;
    if (!status) throw new CriError(grpc.status.NOT_FOUND, `container "${id}" has no status`, "");
    return status;
  }

  async execSync(id: string, cmd: string[], timeoutS: number, options?: CallOptions) {
    const reply = await this.#call(
      this.#runtime,
      "ExecSync",
      { container_id: id, cmd, timeout: timeoutS },
      options,
    );
    return ExecSyncSchema.parse(reply);
  }

  /** The image's id when containerd has it, else undefined. */
  async imageId(image: string, options?: CallOptions): Promise<string | undefined> {
    const reply = await this.#call(this.#image, "ImageStatus", { image: { image } }, options);
    return ImageStatusSchema.parse(reply).image?.id;
  }

  /** Pulls an image; `auth` logs in to its registry (CRI's `AuthConfig`). */
  async pullImage(
    image: string,
    options?: CallOptions & {
      auth?: { username: string; password: string; serveraddress: string };
    },
  ): Promise<string> {
    const auth = options?.auth;
    const request = {
      image: { image },
      ...(auth
        ? {
          auth: {
            username: auth.username,
            password: auth.password,
            // containerd reads it as a URL and sends the login only to that URL's host.
            server_address: `https://${auth.serveraddress}`,
          },
        }
        : {}),
    };
    const reply = await this.#call(this.#image, "PullImage", request, options);
    return z.object({ image_ref: z.string() }).parse(reply).image_ref;
  }

  close(): void {
    this.#image.close();
    this.#runtime.close();
  }

  #call(
    client: grpc.Client,
    name: string,
    request: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    const method = Reflect.get(client, name) as Method;
    const deadline = new Date(Date.now() + (options.timeoutMs ?? 30_000));
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        return reject(new CriError(grpc.status.CANCELLED, `${name} was cancelled`, name));
      }
      const call = method.call(client, request, new grpc.Metadata(), { deadline }, (e, reply) => {
        options.signal?.removeEventListener("abort", cancel);
        if (e) reject(new CriError(e.code, e.details, name));
        else resolve(reply);
      });
      const cancel = () => call.cancel();
      options.signal?.addEventListener("abort", cancel, { once: true });
    });
  }
}
