/**
 * The Docker containerizer: runs each task as a container through the Engine API. Containers
 * are named `tender-<containerId>`, labelled with the owning agent instance, and found again by
 * that label on `recover()`. See README.md for limits, networking and daemon restarts.
 */
import { type Clock, systemClock } from "../../base/mod.ts";
import type { CommandInfo } from "../../protocol/mod.ts";
import type {
  ContainerId,
  Containerizer,
  ContainerSpec,
  ContainerStats,
  LogOptions,
  RecoveredContainer,
  Termination,
} from "./containerizer.ts";
import { ContainerEntry } from "./container_entry.ts";
import { demultiplex, DockerEngine, EngineError } from "./docker_engine.ts";
import {
  argv,
  containerName,
  createBody,
  imageOf,
  LABELS,
  SANDBOX_IN_CONTAINER,
  terminationOf,
  userNetworkName,
} from "./docker_spec.ts";
import { dockerParameterRefusal } from "./docker_parameters.ts";
import { pullAuth, type RegistryAuth, registryAuthHeader } from "./registry_auth.ts";
import { countChunks, dropFirst, emptyStream, lastLines } from "./log_streams.ts";

export { containerName, LABELS } from "./docker_spec.ts";

/** Options of a `DockerContainerizer`. */
export interface DockerOptions {
  /** The Engine's Unix socket, e.g. /var/run/docker.sock. */
  socketPath: string;
  /** Stable id of this agent instance (from its work dir); every container carries it. */
  owner: string;
  clock?: Clock;
  /**
   * Cap each task's CPU with a CFS quota (`NanoCpus`) besides its shares (default true). The
   * agent leaves it off unless `--cgroups-enable-cfs`, as Mesos does: a quota of a small `cpus`
   * throttles the container's own start (runc init runs inside the cgroup) by seconds.
   */
  cpuQuota?: boolean;
}

/** Whether a Docker Engine answers on this socket (GET /_ping), within a short timeout. */
export async function probeDocker(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    await Deno.stat(socketPath);
  } catch {
    return false;
  }
  const engine = new DockerEngine(socketPath);
  try {
    return await engine.ping(timeoutMs);
  } finally {
    engine.close();
  }
}

/** What the containerizer knows of one container: its name and sandbox besides the books. */
class Entry extends ContainerEntry {
  readonly name: string;
  /** The task's sandbox on the host, where its output is kept once the container goes. */
  sandbox?: string;
  /** The pod (task group) it is a member of. */
  podId?: string;

  constructor(id: ContainerId, frameworkId: string, taskId: string) {
    super(frameworkId, taskId);
    this.name = containerName(id);
  }
}

/** A pod member's part in its pod's network: the first's, or joining the first's. */
type PodNetwork = { owner: (started: boolean) => void } | { join: Promise<string> };

/** Runs task containers with the Docker Engine. `close()` releases the socket. */
export class DockerContainerizer implements Containerizer {
  readonly kind = "docker";
  readonly engine: DockerEngine;
  #owner: string;
  #clock: Clock;
  #cpuQuota: boolean;
  #entries = new Map<ContainerId, Entry>();
  /** Pods with a network of their own: the name of the container holding it, once started. */
  #pods = new Map<string, Promise<string>>();
  #closing = new AbortController();
  #hostCpus?: Promise<number | undefined>;

  constructor(options: DockerOptions) {
    this.engine = new DockerEngine(options.socketPath);
    this.#owner = options.owner;
    this.#clock = options.clock ?? systemClock;
    this.#cpuQuota = options.cpuQuota ?? true;
  }

  launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched"> {
    if (this.#entries.has(id)) return Promise.resolve("already_launched");
    const entry = this.#newEntry(id, spec.frameworkId, spec.taskId);
    return entry.track(this.#launch(id, entry, spec, this.#podNetwork(entry, spec)));
  }

  /**
   * How a pod member gets its network: the first member launched creates it (`owner`, which
   * settles once its container started or failed to); later ones join the first's namespace.
   * Decided before anything is awaited, so members launched together agree on the first.
   */
  #podNetwork(
    entry: Entry,
    spec: ContainerSpec,
  ): PodNetwork | undefined {
    const pod = spec.pod;
    if (!pod || pod.network === "HOST") return undefined;
    entry.podId = pod.id;
    const held = this.#pods.get(pod.id);
    if (held) return { join: held };
    let settle: (name: string | undefined) => void = () => {};
    const started = new Promise<string>((resolve, reject) => {
      settle = (name) =>
        name === undefined
          ? reject(new Error(`the container holding pod "${pod.id}"'s network did not start`))
          : resolve(name);
    });
    started.catch(() => undefined);
    this.#pods.set(pod.id, started);
    return {
      owner: (ok) => {
        if (!ok) this.#pods.delete(pod.id);
        settle(ok ? entry.name : undefined);
      },
    };
  }

  refusal(spec: ContainerSpec): string | undefined {
    return dockerParameterRefusal(spec);
  }

  wait(id: ContainerId): Promise<Termination | undefined> {
    return this.#entries.get(id)?.ended ?? Promise.resolve(undefined);
  }

  async destroy(id: ContainerId, graceMs: number): Promise<Termination | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    await entry.launching;
    if (!entry.termination) {
      entry.destroyed = true;
      await this.#stop(entry, graceMs);
    }
    const termination = await entry.ended;
    if (!entry.removed) {
      await this.#keepOutput(id, entry);
      await this.engine.remove(entry.name);
      entry.removed = true;
    }
    // The last member of a pod gone: forget the pod (its id is never launched again).
    const podId = entry.podId;
    if (podId && ![...this.#entries.values()].some((e) => e.podId === podId && !e.removed)) {
      this.#pods.delete(podId);
    }
    return termination;
  }

  async recover(_known: ReadonlySet<ContainerId>): Promise<RecoveredContainer[]> {
    const found = await this.engine.list([`${LABELS.owner}=${this.#owner}`]);
    const recovered: RecoveredContainer[] = [];
    for (const summary of found) {
      const labels = summary.Labels ?? {};
      const id = labels[LABELS.containerId];
      if (!id) continue;
      let entry = this.#entries.get(id);
      if (!entry) {
        entry = this.#newEntry(id, labels[LABELS.frameworkId] ?? "", labels[LABELS.taskId] ?? "");
        const info = await this.engine.inspect(summary.Id);
        const sandbox = (info?.HostConfig.Binds ?? [])
          .map((b) => b.split(":"))
          .find((parts) => parts[1] === SANDBOX_IN_CONTAINER)?.[0];
        if (sandbox) entry.sandbox = sandbox;
        if (!info) {
          entry.end({ exitCode: null, reason: "exited", message: "container vanished" });
        } else if (info.State.Running) {
          void this.#watch(entry);
        } else {
          entry.end(terminationOf(info, false));
        }
      }
      recovered.push({
        id,
        frameworkId: entry.frameworkId,
        taskId: entry.taskId,
        termination: entry.termination,
      });
    }
    return recovered;
  }

  logs(id: ContainerId, options: LogOptions): ReadableStream<Uint8Array> {
    const entry = this.#entries.get(id);
    if (!entry) return emptyStream();
    const want = options.stream === "stdout" ? 1 : 2;
    const engine = this.engine;
    const open = (follow: boolean) =>
      engine.logs(entry.name, {
        stdout: want === 1,
        stderr: want === 2,
        follow,
        signal: options.signal,
      });
    // Docker counts `tail` across both streams, so we cut per stream ourselves: without follow
    // the last lines of the whole output; with follow, by skipping all but the last `tail`
    // messages (Docker frames one message per line) of what was written before we asked.
    let skip = 0;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const source = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (!reader) {
            if (options.follow && options.tail !== undefined) {
              const before = await countChunks((await open(false)).pipeThrough(demultiplex(want)));
              skip = Math.max(0, before - options.tail);
            }
            reader = (await open(options.follow ?? false)).getReader();
          }
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch {
          // Aborted, gone or unreachable: the output ends here.
          controller.close();
        }
      },
      async cancel() {
        await reader?.cancel().catch(() => undefined);
      },
    });
    const demuxed = source.pipeThrough(demultiplex(want));
    if (options.tail === undefined) return demuxed;
    return options.follow
      ? demuxed.pipeThrough(dropFirst(() => skip))
      : demuxed.pipeThrough(lastLines(options.tail));
  }

  /** The container's CPU time and memory, from the Engine's one-shot stats. */
  async stats(id: ContainerId): Promise<ContainerStats | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    return await this.engine.stats(entry.name).catch(() => undefined);
  }

  async exec(id: ContainerId, command: CommandInfo, timeoutMs: number): Promise<number> {
    const entry = this.#entries.get(id);
    if (!entry) throw new Error(`Cannot exec in container "${id}": it is unknown`);
    const deadline = this.#clock.now() + timeoutMs;
    const execId = await this.engine.execStart(entry.name, argv(command, true));
    let pause = 20;
    while (true) {
      const state = await this.engine.execInspect(execId);
      if (!state.Running && state.ExitCode !== null) return state.ExitCode;
      if (this.#clock.now() >= deadline) {
        throw new Error(`Command in container "${id}" timed out after ${timeoutMs} ms`);
      }
      await this.#clock.sleep(Math.min(pause, Math.max(1, deadline - this.#clock.now())));
      pause = Math.min(pause * 2, 200);
    }
  }

  /**
   * The container's own address on the bridge network, for health checks (a TCP connect to a
   * published port reaches docker-proxy, which accepts even when the task does not listen).
   * Undefined for host networking or an unknown id: check `hostIp` and the host port instead.
   */
  async networkAddress(id: ContainerId): Promise<string | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    // A pod member that joined the first one's namespace has the first one's address.
    const holder = entry.podId
      ? await this.#pods.get(entry.podId)?.catch(() => undefined)
      : undefined;
    const info = await this.engine.inspect(holder ?? entry.name);
    const settings = info?.NetworkSettings;
    // The default bridge fills IPAddress; a user-defined network only its entry in Networks.
    const joined = Object.values(settings?.Networks ?? {}).find((n) => n.IPAddress !== "");
    return settings?.IPAddress || joined?.IPAddress || undefined;
  }

  /** Stops watching and releases the Engine connection; containers keep running. */
  close(): void {
    this.#closing.abort();
    this.engine.close();
  }

  #newEntry(id: ContainerId, frameworkId: string, taskId: string): Entry {
    const entry = new Entry(id, frameworkId, taskId);
    this.#entries.set(id, entry);
    return entry;
  }

  async #launch(
    id: ContainerId,
    entry: Entry,
    spec: ContainerSpec,
    pod: PodNetwork | undefined,
  ): Promise<"launched"> {
    const owner = pod && "owner" in pod ? pod.owner : undefined;
    try {
      const join = pod && "join" in pod
        ? await pod.join.catch((e: Error) => {
          throw new Error(`Cannot launch task "${spec.taskId}": ${e.message}`);
        })
        : undefined;
      await this.#start(id, entry, spec, join);
      owner?.(true);
      return "launched";
    } catch (e) {
      owner?.(false);
      throw e;
    }
  }

  async #start(
    id: ContainerId,
    entry: Entry,
    spec: ContainerSpec,
    joinNetworkOf: string | undefined,
  ): Promise<void> {
    const image = imageOf(spec.container);
    if (!image) {
      throw new Error(
        `Cannot launch task "${spec.taskId}": it names no container.docker.image ` +
          `(or container.mesos.image.docker.name)`,
      );
    }
    const auth = pullAuth(spec.container, image);
    if (!auth.ok) throw new Error(auth.reason);
    const network = userNetworkName(spec);
    if (network !== undefined && !(await this.engine.hasNetwork(network))) {
      // As DC/OS expected its overlay to exist: the operator makes the network, tasks join it.
      throw new Error(
        `Cannot launch task "${spec.taskId}": Docker network "${network}" does not exist ` +
          `(create it on the agent's host: docker network create ${network})`,
      );
    }
    const force = spec.container?.docker?.force_pull_image ??
      spec.container?.mesos?.image?.cached === false;
    await this.#ensureImage(image, force, auth.auth);
    if (this.#cpuQuota) this.#hostCpus ??= this.engine.info().then((i) => i.NCPU, () => undefined);
    // The sandbox is bind-mounted: Docker needs an absolute path, and one that exists (else it
    // creates it, owned by root).
    const sandbox = spec.sandbox.startsWith("/") ? spec.sandbox : `${Deno.cwd()}/${spec.sandbox}`;
    await Deno.mkdir(sandbox, { recursive: true });
    entry.sandbox = sandbox;
    const body = createBody({ ...spec, sandbox }, {
      id,
      owner: this.#owner,
      maxCpus: await this.#hostCpus,
      cpuQuota: this.#cpuQuota,
      ...(joinNetworkOf ? { joinNetworkOf } : {}),
    });
    try {
      await this.engine.create(entry.name, body);
    } catch (e) {
      if (!(e instanceof EngineError && e.engineStatus === 409)) {
        throw new Error(`Cannot create container for image "${image}": ${messageOf(e)}`);
      }
      // A container of that name is left from an earlier life of this id: replace it, but
      // only when it is ours (agents sharing an engine must not remove each other's).
      const stale = await this.engine.inspect(entry.name);
      if (stale && stale.Config.Labels?.[LABELS.owner] !== this.#owner) {
        throw new Error(`Cannot create container "${entry.name}": another agent owns that name`);
      }
      await this.engine.remove(entry.name);
      await this.engine.create(entry.name, body);
    }
    try {
      await this.engine.start(entry.name);
    } catch (e) {
      await this.engine.remove(entry.name).catch(() => undefined);
      entry.removed = true;
      throw new Error(`Cannot start container for image "${image}": ${messageOf(e)}`);
    }
    void this.#watch(entry);
  }

  async #ensureImage(image: string, force: boolean, auth?: RegistryAuth): Promise<void> {
    try {
      if (!force && await this.engine.hasImage(image)) return;
      const header = auth ? registryAuthHeader(auth) : undefined;
      await this.engine.pull(image, this.#closing.signal, header);
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 0) throw e;
      const message = messageOf(e);
      if (/not found|manifest unknown|does not exist/i.test(message)) {
        throw new Error(`Image "${image}" not found: ${message}`);
      }
      throw new Error(`Cannot pull image "${image}": ${message}`);
    }
    if (!await this.engine.hasImage(image)) {
      throw new Error(`Cannot pull image "${image}": not found after pulling`);
    }
  }

  /**
   * Copies the container's output into `stdout` and `stderr` in its sandbox before the container
   * is removed, so a finished task's output stays readable (as Mesos' Docker executor keeps it
   * there). Best effort: a container whose output cannot be read is removed all the same.
   */
  async #keepOutput(id: ContainerId, entry: Entry): Promise<void> {
    const sandbox = entry.sandbox;
    if (!sandbox) return;
    await Promise.all((["stdout", "stderr"] as const).map(async (stream) => {
      try {
        const file = await Deno.open(`${sandbox}/${stream}`, {
          write: true,
          create: true,
          truncate: true,
        });
        await this.logs(id, { stream }).pipeTo(file.writable);
      } catch {
        // The sandbox is gone or the Engine cannot say: nothing to keep.
      }
    }));
  }

  /** Follows one container until it ends, riding out Engine restarts. */
  async #watch(entry: Entry): Promise<void> {
    let pause = 100;
    while (!this.#closing.signal.aborted && !entry.termination) {
      try {
        await this.engine.wait(entry.name, this.#closing.signal);
        const info = await this.engine.inspect(entry.name);
        if (!info) {
          entry.removed = true;
          entry.end({ exitCode: null, reason: "exited", message: "container was removed" });
        } else if (!info.State.Running) {
          entry.end(terminationOf(info, entry.destroyed));
        }
        pause = 100;
      } catch (e) {
        if (this.#closing.signal.aborted) return;
        if (e instanceof EngineError && e.engineStatus === 404) {
          entry.removed = true;
          entry.end({ exitCode: null, reason: "exited", message: "container was removed" });
          return;
        }
        // The Engine went away (restart, socket gone): wait for it to answer again.
        await this.#clock.sleep(pause, this.#closing.signal).catch(() => undefined);
        pause = Math.min(pause * 2, 2_000);
      }
    }
  }

  /** Stop with grace, else kill; throws (and forgets the intent) when the engine is away. */
  async #stop(entry: Entry, graceMs: number): Promise<void> {
    try {
      await this.engine.stop(entry.name, graceMs / 1000);
    } catch (e) {
      if (e instanceof EngineError && e.engineStatus === 404) return;
      try {
        await this.engine.kill(entry.name);
      } catch (e) {
        if (!(e instanceof EngineError && e.engineStatus === 0)) return; // e.g. 409: not running
        entry.destroyed = false;
        throw new Error(`Cannot stop container "${entry.name}": ${e.message}`);
      }
    }
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
