/**
 * A small typed client for the Docker Engine API (v1.41) over its Unix socket. Every reply is
 * parsed by its zod schema here, at the edge; failures throw `EngineError`.
 */
import { z } from "zod";
import { TenderError } from "../../base/mod.ts";

const API = "http://docker/v1.41";

/** A failed Engine API call. `engineStatus` is the HTTP status, 0 when the engine is unreachable. */
export class EngineError extends TenderError {
  readonly engineStatus: number;

  constructor(engineStatus: number, message: string) {
    super(
      engineStatus === 0
        ? "unavailable"
        : engineStatus === 404
        ? "not_found"
        : engineStatus === 409
        ? "conflict"
        : "internal",
      message,
      { engineStatus },
    );
    this.name = "EngineError";
    this.engineStatus = engineStatus;
  }
}

const ErrorBodySchema = z.object({ message: z.string() });

export const ContainerStateSchema = z.object({
  Status: z.string(),
  Running: z.boolean(),
  OOMKilled: z.boolean(),
  ExitCode: z.number().int(),
  Error: z.string().default(""),
  StartedAt: z.string(),
  FinishedAt: z.string(),
});
export type ContainerState = z.infer<typeof ContainerStateSchema>;

const PortBindingsSchema = z.record(
  z.array(z.object({ HostIp: z.string().default(""), HostPort: z.string().default("") }))
    .nullable(),
).nullable().default({});

export const ContainerInspectSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  State: ContainerStateSchema,
  Config: z.object({
    Image: z.string(),
    Labels: z.record(z.string()).nullable().default({}),
    Env: z.array(z.string()).nullable().default([]),
  }),
  HostConfig: z.object({
    NanoCpus: z.number().default(0),
    CpuShares: z.number().default(0),
    Memory: z.number().default(0),
    MemorySwap: z.number().default(0),
    NetworkMode: z.string().default(""),
    PortBindings: PortBindingsSchema,
    Binds: z.array(z.string()).nullable().default([]),
  }),
  NetworkSettings: z.object({
    Ports: PortBindingsSchema,
    IPAddress: z.string().default(""),
    /** The container's address on each network it joined (user-defined ones fill only these). */
    Networks: z.record(z.object({ IPAddress: z.string().default("") })).nullable().default({}),
  }).optional(),
});
export type ContainerInspect = z.infer<typeof ContainerInspectSchema>;

export const ContainerSummarySchema = z.object({
  Id: z.string(),
  Names: z.array(z.string()).default([]),
  Labels: z.record(z.string()).nullable().default({}),
  State: z.string(),
});
export type ContainerSummary = z.infer<typeof ContainerSummarySchema>;

const InfoSchema = z.object({ NCPU: z.number().int().positive(), MemTotal: z.number() });
export type EngineInfo = z.infer<typeof InfoSchema>;

const CreateReplySchema = z.object({ Id: z.string() });
const WaitReplySchema = z.object({
  StatusCode: z.number().int(),
  Error: z.object({ Message: z.string() }).nullable().optional(),
});
export const ExecInspectSchema = z.object({
  Running: z.boolean(),
  ExitCode: z.number().int().nullable(),
});
export type ExecInspect = z.infer<typeof ExecInspectSchema>;
const PullProgressSchema = z.object({ error: z.string().optional() }).passthrough();

/** The body of `POST /containers/create` (the subset Tender sets). */
export interface CreateContainerBody {
  Image: string;
  Labels: Record<string, string>;
  Env: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Hostname?: string;
  /** The user the process runs as, resolved in the image (absent: the image's USER). */
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  StopSignal?: string;
  HostConfig: {
    NanoCpus?: number;
    CpuShares?: number;
    Memory?: number;
    MemorySwap?: number;
    NetworkMode: string;
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    Binds?: string[];
    Privileged?: boolean;
    // From docker `parameters` (see docker_parameters.ts).
    MemoryReservation?: number;
    ShmSize?: number;
    PidsLimit?: number;
    Ulimits?: { Name: string; Soft: number; Hard: number }[];
    CapAdd?: string[];
    CapDrop?: string[];
    ExtraHosts?: string[];
    Dns?: string[];
    DnsSearch?: string[];
    DnsOptions?: string[];
    LogConfig?: { Type: string; Config: Record<string, string> };
    ReadonlyRootfs?: boolean;
    Tmpfs?: Record<string, string>;
    Init?: boolean;
    Sysctls?: Record<string, string>;
    SecurityOpt?: string[];
    Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
    PidMode?: string;
    IpcMode?: string;
    UsernsMode?: string;
  };
}

/** Options for `DockerEngine.logs`. */
export interface EngineLogOptions {
  stdout: boolean;
  stderr: boolean;
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

/** Splits an image reference into the `fromImage` and `tag` that `POST /images/create` wants. */
export function splitImage(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(":");
  if (colon > image.lastIndexOf("/")) {
    return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) };
  }
  return { fromImage: image, tag: "latest" };
}

/** The parts of `GET /containers/{id}/stats` the agent reads (cgroup v1 and v2 both fill them). */
const StatsSchema = z.object({
  cpu_stats: z.object({
    cpu_usage: z.object({
      total_usage: z.number(),
      usage_in_usermode: z.number().optional(),
      usage_in_kernelmode: z.number().optional(),
    }).optional(),
  }).optional(),
  memory_stats: z.object({ usage: z.number().optional() }).optional(),
});

/** The Docker Engine API over a Unix socket. `close()` aborts every call still in flight. */
export class DockerEngine {
  readonly socketPath: string;
  #client: Deno.HttpClient;
  #closing = new AbortController();

  constructor(socketPath: string) {
    this.socketPath = socketPath;
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  }

  /** Whether the engine answers `GET /_ping` within `timeoutMs`. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    try {
      const res = await this.#call("GET", "/_ping", { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return true;
    } catch {
      return false;
    }
  }

  /** The engine host's CPU count and memory. */
  async info(): Promise<EngineInfo> {
    return await this.#json("GET", "/info", InfoSchema);
  }

  /** Whether the image is present locally. */
  async hasImage(image: string): Promise<boolean> {
    try {
      await this.#json("GET", `/images/${encodeURIComponent(image)}/json`, z.unknown());
      return true;
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 404) return false;
      throw e;
    }
  }

  /**
   * Pulls an image, reading the progress stream to its end; throws with the engine's message.
   * `registryAuth` is the `X-Registry-Auth` header (see `registry_auth.ts`), for a private registry.
   */
  async pull(image: string, signal?: AbortSignal, registryAuth?: string): Promise<void> {
    const { fromImage, tag } = splitImage(image);
    const query = new URLSearchParams({ fromImage, tag });
    const res = await this.#call("POST", `/images/create?${query}`, {
      signal,
      ...(registryAuth ? { headers: { "x-registry-auth": registryAuth } } : {}),
    });
    const text = await res.text();
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const progress = PullProgressSchema.safeParse(safeJson(line));
      if (progress.success && progress.data.error) throw new EngineError(500, progress.data.error);
    }
  }

  /** Removes a local image (absent is fine). */
  async removeImage(image: string): Promise<void> {
    try {
      await this.#empty("DELETE", `/images/${encodeURIComponent(image)}?force=true`);
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 404) return;
      throw e;
    }
  }

  /** Whether a network of that name (or id) exists (`GET /networks/{name}`). */
  async hasNetwork(name: string): Promise<boolean> {
    try {
      await this.#json("GET", `/networks/${encodeURIComponent(name)}`, z.unknown());
      return true;
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 404) return false;
      throw e;
    }
  }

  /** Creates a container; resolves with its engine id. */
  async create(name: string, body: CreateContainerBody): Promise<string> {
    const query = new URLSearchParams({ name });
    const reply = await this.#json("POST", `/containers/create?${query}`, CreateReplySchema, body);
    return reply.Id;
  }

  /** Starts a container (a no-op when it already runs). */
  async start(id: string): Promise<void> {
    await this.#empty("POST", `/containers/${id}/start`);
  }

  /** The container's state and configuration; undefined when it does not exist. */
  async inspect(id: string): Promise<ContainerInspect | undefined> {
    try {
      return await this.#json("GET", `/containers/${id}/json`, ContainerInspectSchema);
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 404) return undefined;
      throw e;
    }
  }

  /** Long-polls until the container is not running; resolves with its exit status. */
  async wait(id: string, signal?: AbortSignal): Promise<number> {
    const reply = await this.#json(
      "POST",
      `/containers/${id}/wait?condition=not-running`,
      WaitReplySchema,
      undefined,
      signal,
    );
    return reply.StatusCode;
  }

  /** Sends SIGTERM, then SIGKILL after `seconds`; resolves once the container stopped. */
  async stop(id: string, seconds: number): Promise<void> {
    await this.#empty("POST", `/containers/${id}/stop?t=${Math.max(0, Math.ceil(seconds))}`);
  }

  /** Sends a signal (SIGKILL by default). */
  async kill(id: string, signal = "SIGKILL"): Promise<void> {
    await this.#empty("POST", `/containers/${id}/kill?signal=${signal}`);
  }

  /** Removes a container and its anonymous volumes, running or not; absent is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.#empty("DELETE", `/containers/${id}?force=true&v=true`);
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 404) return;
      throw e;
    }
  }

  /** Every container (running or not) carrying all the given `key=value` labels. */
  async list(labels: string[]): Promise<ContainerSummary[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: labels }));
    return await this.#json(
      "GET",
      `/containers/json?all=true&filters=${filters}`,
      z.array(ContainerSummarySchema),
    );
  }

  /** The raw (multiplexed) log stream of a container. */
  async logs(id: string, options: EngineLogOptions): Promise<ReadableStream<Uint8Array>> {
    const query = new URLSearchParams({
      stdout: String(options.stdout),
      stderr: String(options.stderr),
      follow: String(options.follow ?? false),
      tail: options.tail === undefined ? "all" : String(options.tail),
    });
    const res = await this.#call("GET", `/containers/${id}/logs?${query}`, {
      signal: options.signal,
    });
    return res.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  /** Creates and starts a detached exec; resolves with the exec id. */
  async execStart(id: string, cmd: string[]): Promise<string> {
    const created = await this.#json(
      "POST",
      `/containers/${id}/exec`,
      CreateReplySchema,
      { Cmd: cmd, AttachStdout: false, AttachStderr: false, AttachStdin: false, Tty: false },
    );
    await this.#empty("POST", `/exec/${created.Id}/start`, { Detach: true, Tty: false });
    return created.Id;
  }

  /** Whether an exec still runs, and its exit code once it ended. */
  async execInspect(execId: string): Promise<ExecInspect> {
    return await this.#json("GET", `/exec/${execId}/json`, ExecInspectSchema);
  }

  /**
   * A running container's CPU time (user and kernel, seconds) and memory in use, from one
   * `GET /containers/{id}/stats?stream=false`; undefined when it does not run.
   */
  async stats(
    id: string,
  ): Promise<
    { cpuUserSeconds: number; cpuSystemSeconds: number; memRssBytes?: number } | undefined
  > {
    const reply = await this.#json(
      "GET",
      `/containers/${id}/stats?stream=false&one-shot=true`,
      StatsSchema,
    );
    const cpu = reply.cpu_stats?.cpu_usage;
    if (!cpu) return undefined;
    const user = cpu.usage_in_usermode ?? cpu.total_usage;
    const system = cpu.usage_in_kernelmode ?? 0;
    return {
      cpuUserSeconds: user / 1e9,
      cpuSystemSeconds: system / 1e9,
      ...(reply.memory_stats?.usage !== undefined ? { memRssBytes: reply.memory_stats.usage } : {}),
    };
  }

  /** Aborts every call in flight and releases the socket's connections. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new EngineError(0, "Docker client closed"));
    this.#client.close();
  }

  async #call(
    method: string,
    path: string,
    init: { body?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const signals = [this.#closing.signal, ...(init.signal ? [init.signal] : [])];
    let res: Response;
    try {
      res = await fetch(`${API}${path}`, {
        method,
        client: this.#client,
        signal: AbortSignal.any(signals),
        headers: {
          ...init.headers,
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    } catch (e) {
      if (init.signal?.aborted || this.#closing.signal.aborted) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new EngineError(0, `Docker Engine unreachable at ${this.socketPath}: ${why}`);
    }
    if (res.status >= 400) {
      const text = await res.text();
      const body = ErrorBodySchema.safeParse(safeJson(text));
      throw new EngineError(res.status, body.success ? body.data.message : text.trim());
    }
    return res;
  }

  async #json<T>(
    method: string,
    path: string,
    schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const res = await this.#call(method, path, { body, signal });
    const text = await res.text();
    const parsed = schema.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new EngineError(500, `Unexpected reply to ${method} ${path}: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  async #empty(method: string, path: string, body?: unknown): Promise<void> {
    const res = await this.#call(method, path, { body });
    await res.body?.cancel();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Splits Docker's multiplexed log stream (8-byte headers: stream, 0, 0, 0, size as big-endian
 * uint32) and keeps the payload of the wanted stream (1 stdout, 2 stderr).
 */
export function demultiplex(wanted: 1 | 2): TransformStream<Uint8Array, Uint8Array> {
  let buffer = new Uint8Array(0);
  return new TransformStream({
    transform(chunk, controller) {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      let offset = 0;
      while (joined.length - offset >= 8) {
        const view = new DataView(joined.buffer, joined.byteOffset + offset, 8);
        const kind = view.getUint8(0);
        const size = view.getUint32(4);
        if (joined.length - offset - 8 < size) break;
        if (kind === wanted) controller.enqueue(joined.slice(offset + 8, offset + 8 + size));
        offset += 8 + size;
      }
      buffer = joined.slice(offset);
    },
  });
}
