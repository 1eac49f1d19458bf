/**
 * The containerd containerizer: runs each task in a pod sandbox of its own through CRI
 * (`runtime.v1`, gRPC on containerd's socket), as a Kubernetes node does, and a task group's
 * tasks in one pod sandbox they share (made by the first member, removed after the last).
 * Pods and containers carry labels naming the owning agent instance, framework and task (and
 * group), and are found again by them on `recover()`. See README.md for networking, limits,
 * logs and recovery.
 */
import { type Clock, systemClock } from "../../base/mod.ts";
import type { CommandInfo } from "../../protocol/mod.ts";
import type {
  ContainerId,
  Containerizer,
  ContainerSpec,
  LogOptions,
  RecoveredContainer,
  Termination,
} from "./containerizer.ts";
import { ContainerEntry } from "./container_entry.ts";
import {
  containerConfig,
  CRI_LOG,
  groupPodName,
  imageOf,
  LABELS,
  sandboxConfig,
  sandboxOf,
  terminationOf,
} from "./containerd_spec.ts";
import {
  cniNetworkRefusal,
  type NodeOptions,
  prepareNode,
  unreachableMessage,
} from "./containerd_setup.ts";
import { CriClient, CriError } from "./cri_client.ts";
import { pullAuth, type RegistryAuth } from "./registry_auth.ts";
import { streamCriLog } from "./cri_log.ts";
import { argv } from "./docker_spec.ts";
import { emptyStream } from "./log_streams.ts";
import { parametersNotApplicable } from "./docker_parameters.ts";

/** containerd's default CRI socket. */
export const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

/** Options of a `ContainerdContainerizer`. */
export interface ContainerdOptions {
  /** containerd's gRPC socket, e.g. /run/containerd/containerd.sock. */
  socketPath: string;
  /** Stable id of this agent instance (from its work dir); every pod and container carries it. */
  owner: string;
  clock?: Clock;
  /** Cap each task's CPU with a CFS quota besides its shares (default true; the agent: off). */
  cpuQuota?: boolean;
  /** How often running containers are checked for an exit (default 200 ms). */
  pollMs?: number;
  /** How long an image pull may take (default 10 minutes). */
  pullTimeoutMs?: number;
  /** What the node needs before its first pod: CNI network, sandbox image (see setup). */
  node?: NodeOptions;
}

/** Whether containerd's CRI answers on this socket; otherwise why not, naming the socket. */
export async function probeContainerd(
  socketPath: string,
  timeoutMs = 2_000,
): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  try {
    await Deno.stat(socketPath);
  } catch {
    return { ok: false, reason: `No containerd answers CRI at ${socketPath}: no such socket` };
  }
  const cri = new CriClient(socketPath);
  try {
    const v = await cri.version({ timeoutMs });
    return { ok: true, version: `${v.runtime_name} ${v.runtime_version}` };
  } catch (e) {
    return { ok: false, reason: unreachableMessage(socketPath, e) };
  } finally {
    cri.close();
  }
}

/** What the containerizer knows of one task's pod besides the books. */
class Entry extends ContainerEntry {
  /** The task's sandbox on the host; CRI writes the output to `container.log` there. */
  sandbox?: string;
  logPath?: string;
  podId?: string;
  criId?: string;
  /** Whether it has its own network namespace (then networkAddress() has an answer). */
  podNetwork = false;
  /** The task group whose pod it shares (its pod id), if any. */
  group?: string;
}

/** A task group's shared pod sandbox: made by its first member, removed after its last. */
interface GroupPod {
  /** The CRI pod sandbox id, once its first member made it. */
  sandbox: Promise<string>;
  /** The members launched (or recovered) and not yet removed. */
  members: Set<ContainerId>;
}

/** A member's part in its group's pod: making it (then `made`), or waiting for it. */
interface GroupJoin {
  group: GroupPod;
  made?: (sandbox: string | Error) => void;
}

/** Runs task containers in containerd through CRI. `close()` releases the socket. */
export class ContainerdContainerizer implements Containerizer {
  readonly kind = "containerd";
  readonly cri: CriClient;
  #owner: string;
  #clock: Clock;
  #options: ContainerdOptions;
  #entries = new Map<ContainerId, Entry>();
  /** Task groups' pods, by pod id. */
  #groups = new Map<string, GroupPod>();
  #closing = new AbortController();
  #polling = false;
  #ready?: Promise<void>;
  #pulls = new Map<string, Promise<void>>();

  constructor(options: ContainerdOptions) {
    this.cri = new CriClient(options.socketPath);
    this.#owner = options.owner;
    this.#clock = options.clock ?? systemClock;
    this.#options = options;
  }

  /**
   * Checks containerd and provides what pods need (CNI network, sandbox image) once; launch()
   * does it too, the agent calls it at start so that a missing containerd fails early.
   */
  prepare(): Promise<void> {
    this.#ready ??= prepareNode(this.cri, this.#options.node).catch((e) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched"> {
    if (this.#entries.has(id)) return Promise.resolve("already_launched");
    const entry = this.#newEntry(id, spec.frameworkId, spec.taskId);
    const join = spec.pod ? this.#joinGroup(id, entry, spec.pod.id) : undefined;
    return entry.track(this.#launch(id, entry, spec, join));
  }

  refusal(spec: ContainerSpec): string | undefined {
    return parametersNotApplicable(spec, "containerd");
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
      await this.#keepOutput(entry);
      if (entry.group) await this.#leaveGroup(id, entry);
      else await this.#removePod(entry);
      entry.removed = true;
    }
    return termination;
  }

  /**
   * Joins a task group's pod, or makes it for the first member. Decided before anything is
   * awaited, so members launched together agree on who makes it.
   */
  #joinGroup(id: ContainerId, entry: Entry, podId: string): GroupJoin {
    entry.group = podId;
    const held = this.#groups.get(podId);
    if (held) {
      held.members.add(id);
      return { group: held };
    }
    let made: (sandbox: string | Error) => void = () => {};
    const sandbox = new Promise<string>((resolve, reject) => {
      made = (v) => (typeof v === "string" ? resolve(v) : reject(v));
    });
    sandbox.catch(() => undefined);
    const group: GroupPod = { sandbox, members: new Set([id]) };
    this.#groups.set(podId, group);
    return {
      group,
      made: (v) => {
        if (typeof v !== "string" && this.#groups.get(podId) === group) this.#groups.delete(podId);
        made(v);
      },
    };
  }

  /** A member goes: its container, then, after the last member, the group's pod. */
  async #leaveGroup(id: ContainerId, entry: Entry): Promise<void> {
    const podId = entry.group ?? "";
    const group = this.#groups.get(podId);
    if (entry.criId) {
      await this.cri.removeContainer(entry.criId, { timeoutMs: 60_000 }).catch((e) => {
        if (!(e instanceof CriError && e.notFound)) {
          throw new Error(`Cannot remove container "${entry.criId}": ${this.#reason(e)}`);
        }
      });
    }
    group?.members.delete(id);
    if (group && group.members.size > 0) return;
    if (this.#groups.get(podId) === group) this.#groups.delete(podId);
    if (!entry.podId) entry.podId = await group?.sandbox.catch(() => undefined);
    await this.#removePod(entry);
  }

  async recover(_known: ReadonlySet<ContainerId>): Promise<RecoveredContainer[]> {
    const owned = { [LABELS.owner]: this.#owner };
    const [pods, containers] = await Promise.all([
      this.cri.listPodSandboxes(owned),
      this.cri.listContainers(owned),
    ]);
    const recovered = new Map<ContainerId, RecoveredContainer>();
    for (const c of containers) {
      const id = c.labels[LABELS.containerId];
      if (!id || recovered.has(id)) continue;
      let entry = this.#entries.get(id);
      if (!entry) {
        entry = this.#newEntry(
          id,
          c.labels[LABELS.frameworkId] ?? "",
          c.labels[LABELS.taskId] ?? "",
        );
        entry.criId = c.id;
        entry.podId = c.pod_sandbox_id;
        entry.podNetwork = true;
        const podId = c.labels[LABELS.pod];
        if (podId) {
          entry.group = podId;
          let group = this.#groups.get(podId);
          if (!group) {
            group = { sandbox: Promise.resolve(c.pod_sandbox_id), members: new Set() };
            this.#groups.set(podId, group);
          }
          group.members.add(id);
        }
        const status = await this.cri.containerStatus(c.id).catch(() => undefined);
        entry.sandbox = status ? sandboxOf(status) : undefined;
        entry.logPath = status?.log_path || (entry.sandbox && `${entry.sandbox}/${CRI_LOG}`);
        if (status?.state === "CONTAINER_RUNNING") void this.#poll();
        else if (status) entry.end(terminationOf(status, false));
        else entry.end({ exitCode: null, reason: "exited", message: "container vanished" });
      }
      recovered.set(id, this.#recovered(id, entry));
    }
    // A pod left without a container: the agent stopped between the two. A task group's pod
    // without members has no task to report: it goes now.
    for (const pod of pods) {
      const group = pod.labels[LABELS.pod];
      if (group && !pod.labels[LABELS.containerId] && !this.#groups.has(group)) {
        await this.cri.stopPodSandbox(pod.id).catch(() => undefined);
        await this.cri.removePodSandbox(pod.id).catch(() => undefined);
        continue;
      }
      const id = pod.labels[LABELS.containerId];
      if (!id || recovered.has(id)) continue;
      let entry = this.#entries.get(id);
      if (!entry) {
        entry = this.#newEntry(
          id,
          pod.labels[LABELS.frameworkId] ?? "",
          pod.labels[LABELS.taskId] ?? "",
        );
        entry.podId = pod.id;
        entry.end({
          exitCode: null,
          reason: "launch_failed",
          message: "the agent stopped before the task's container started",
        });
      }
      recovered.set(id, this.#recovered(id, entry));
    }
    return [...recovered.values()];
  }

  logs(id: ContainerId, options: LogOptions): ReadableStream<Uint8Array> {
    const entry = this.#entries.get(id);
    if (!entry?.logPath) return emptyStream();
    return streamCriLog(entry.logPath, {
      stream: options.stream,
      tail: options.tail,
      follow: options.follow,
      signal: options.signal,
      ended: () => entry.termination !== undefined,
    });
  }

  async exec(id: ContainerId, command: CommandInfo, timeoutMs: number): Promise<number> {
    const entry = this.#entries.get(id);
    if (!entry?.criId) throw new Error(`Cannot exec in container "${id}": it is unknown`);
    const abort = new AbortController();
    const timer = this.#clock.sleep(timeoutMs, abort.signal).then(() => true, () => false);
    try {
      const done = this.cri.execSync(
        entry.criId,
        argv(command, true),
        Math.max(1, Math.ceil(timeoutMs / 1000)),
        { timeoutMs: timeoutMs + 5_000, signal: abort.signal },
      );
      const outcome = await Promise.race([done, timer]);
      if (outcome === true) {
        throw new Error(`Command in container "${id}" timed out after ${timeoutMs} ms`);
      }
      if (outcome === false) throw new Error(`Command in container "${id}" was cancelled`);
      return outcome.exit_code;
    } catch (e) {
      if (e instanceof CriError) throw new Error(`Cannot exec in container "${id}": ${e.message}`);
      throw e;
    } finally {
      abort.abort();
    }
  }

  /** The pod's own IP (CNI), for health checks; undefined for host networking or unknown ids. */
  async networkAddress(id: ContainerId): Promise<string | undefined> {
    const entry = this.#entries.get(id);
    if (!entry?.podId || !entry.podNetwork) return undefined;
    return await this.cri.podSandboxIp(entry.podId).catch(() => undefined);
  }

  /** Stops watching and releases the socket; containers keep running. */
  close(): void {
    this.#closing.abort();
    this.cri.close();
  }

  #recovered(id: ContainerId, entry: Entry): RecoveredContainer {
    return {
      id,
      frameworkId: entry.frameworkId,
      taskId: entry.taskId,
      termination: entry.termination,
    };
  }

  #newEntry(id: ContainerId, frameworkId: string, taskId: string): Entry {
    const entry = new Entry(frameworkId, taskId);
    this.#entries.set(id, entry);
    return entry;
  }

  async #launch(
    id: ContainerId,
    entry: Entry,
    spec: ContainerSpec,
    join: GroupJoin | undefined,
  ): Promise<"launched"> {
    const image = imageOf(spec.container);
    try {
      if (!image) {
        throw new Error(
          `Cannot launch task "${spec.taskId}": it names no image ` +
            `(container.docker.image or container.mesos.image.docker.name)`,
        );
      }
      const auth = pullAuth(spec.container, image);
      if (!auth.ok) throw new Error(auth.reason);
      await this.prepare();
      const network = spec.pod ? undefined : spec.container?.network_infos?.[0]?.name;
      const refused = network ? await cniNetworkRefusal(this.cri, network) : undefined;
      if (refused) throw new Error(`Cannot launch task "${spec.taskId}": ${refused}`);
    } catch (e) {
      join?.made?.(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    // CRI wants absolute host paths, and a log directory that exists.
    const sandbox = spec.sandbox.startsWith("/") ? spec.sandbox : `${Deno.cwd()}/${spec.sandbox}`;
    const options = { id, owner: this.#owner, sandbox, cpuQuota: this.#options.cpuQuota };
    const podConfig = sandboxConfig(spec, options);
    entry.podNetwork = podConfig.linux.security_context.namespace_options.network === "POD";
    const force = spec.container?.docker?.force_pull_image ??
      spec.container?.mesos?.image?.cached === false;
    const auth = pullAuth(spec.container, image);
    const credentials = auth.ok ? auth.auth : undefined;
    if (join) {
      // A group's pod first (its members wait for it), then each member's image.
      entry.podId = await this.#groupPod(id, spec, join, podConfig);
      await this.#ensureImage(image, force, credentials);
    } else {
      await this.#ensureImage(image, force, credentials);
    }
    await Deno.mkdir(sandbox, { recursive: true });
    entry.sandbox = sandbox;
    entry.logPath = `${sandbox}/${CRI_LOG}`;
    entry.podId ??= await this.#runPod(id, podConfig, { [LABELS.containerId]: id });
    try {
      entry.criId = await this.cri.createContainer(
        entry.podId,
        containerConfig(spec, image, options),
        podConfig,
      );
      await this.cri.startContainer(entry.criId);
    } catch (e) {
      if (join) await this.#leaveGroup(id, entry).catch(() => undefined);
      else await this.#removePod(entry).catch(() => undefined);
      entry.removed = true;
      throw new Error(`Cannot start container for image "${image}": ${this.#reason(e)}`);
    }
    void this.#poll();
    return "launched";
  }

  /** The group's pod sandbox: made by its first member, awaited by the others. */
  async #groupPod(
    id: ContainerId,
    spec: ContainerSpec,
    join: GroupJoin,
    config: ReturnType<typeof sandboxConfig>,
  ): Promise<string> {
    const podId = spec.pod?.id ?? "";
    if (join.made) {
      await Deno.mkdir(config.log_directory, { recursive: true });
      const made = await this.#runPod(id, config, { [LABELS.pod]: podId }).catch((e: Error) => e);
      join.made(made);
      if (typeof made !== "string") throw made;
      return made;
    }
    try {
      return await join.group.sandbox;
    } catch (e) {
      throw new Error(
        `Cannot start task "${spec.taskId}": the pod of its group ` +
          `(${groupPodName(podId)}) did not start: ${this.#reason(e)}`,
      );
    }
  }

  /** RunPodSandbox; a pod of that name left by an earlier life (found by `mine`) is replaced. */
  async #runPod(
    id: ContainerId,
    config: ReturnType<typeof sandboxConfig>,
    mine: Record<string, string>,
  ): Promise<string> {
    try {
      return await this.cri.runPodSandbox(config, { timeoutMs: 120_000 });
    } catch (e) {
      if (!(e instanceof CriError && /reserved/i.test(e.details))) {
        throw new Error(`Cannot start the pod of container "${id}": ${this.#reason(e)}`);
      }
    }
    const stale = await this.cri.listPodSandboxes(mine);
    for (const pod of stale) {
      if (pod.labels[LABELS.owner] !== this.#owner) {
        throw new Error(`Cannot start the pod of container "${id}": another agent owns that name`);
      }
      await this.cri.stopPodSandbox(pod.id);
      await this.cri.removePodSandbox(pod.id);
    }
    try {
      return await this.cri.runPodSandbox(config, { timeoutMs: 120_000 });
    } catch (e) {
      throw new Error(`Cannot start the pod of container "${id}": ${this.#reason(e)}`);
    }
  }

  /** Pulls the image when containerd does not have it (or always, with force); one pull per image. */
  async #ensureImage(image: string, force: boolean, auth?: RegistryAuth): Promise<void> {
    try {
      if (!force && await this.cri.imageId(image)) return;
    } catch (e) {
      throw new Error(`Cannot pull image "${image}": ${this.#reason(e)}`);
    }
    // Pulls with other credentials are not shared: a wrong password must not ride on a right one.
    const key = auth ? `${image}\0${auth.username}\0${auth.password}` : image;
    let pull = this.#pulls.get(key);
    if (!pull) {
      pull = this.cri.pullImage(image, {
        timeoutMs: this.#options.pullTimeoutMs ?? 600_000,
        signal: this.#closing.signal,
        ...(auth ? { auth } : {}),
      }).then(() => undefined).finally(() => this.#pulls.delete(key));
      this.#pulls.set(key, pull);
    }
    try {
      await pull;
    } catch (e) {
      throw new Error(`Cannot pull image "${image}": ${this.#reason(e)}`);
    }
  }

  /** Follows every running container until it ends, with one ListContainers per round. */
  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    const every = this.#options.pollMs ?? 200;
    let pause = every;
    try {
      while (!this.#closing.signal.aborted) {
        const watched = [...this.#entries.values()].filter((e) => e.criId && !e.termination);
        if (watched.length === 0) return;
        try {
          const found = await this.cri.listContainers({ [LABELS.owner]: this.#owner });
          const states = new Map(found.map((c) => [c.id, c.state]));
          await Promise.all(watched.map(async (entry) => {
            const state = states.get(entry.criId ?? "");
            if (state === undefined) {
              entry.removed = true;
              entry.end({ exitCode: null, reason: "exited", message: "container was removed" });
            } else if (state === "CONTAINER_EXITED" || state === "CONTAINER_UNKNOWN") {
              const status = await this.cri.containerStatus(entry.criId ?? "");
              if (status.state === "CONTAINER_EXITED") {
                entry.end(terminationOf(status, entry.destroyed));
              }
            }
          }));
          pause = every;
        } catch {
          // containerd went away (restart, socket gone): wait for it to answer again.
          pause = Math.min(pause * 2, 2_000);
        }
        await this.#clock.sleep(pause, this.#closing.signal).catch(() => undefined);
      }
    } finally {
      this.#polling = false;
    }
  }

  /** StopContainer (signal, grace, SIGKILL); throws (and forgets the intent) when unreachable. */
  async #stop(entry: Entry, graceMs: number): Promise<void> {
    const criId = entry.criId;
    if (!criId) return;
    try {
      await this.cri.stopContainer(criId, Math.ceil(graceMs / 1000), {
        timeoutMs: graceMs + 60_000,
      });
      entry.end(terminationOf(await this.cri.containerStatus(criId), true));
    } catch (e) {
      if (e instanceof CriError && e.notFound) {
        entry.removed = true;
        entry.end({ exitCode: null, reason: "killed", message: "container was removed" });
        return;
      }
      entry.destroyed = false;
      throw new Error(`Cannot stop container "${criId}": ${this.#reason(e)}`);
    }
  }

  /** Stops and removes the pod (its network goes, its container with it). */
  async #removePod(entry: Entry): Promise<void> {
    const podId = entry.podId;
    if (!podId) return;
    const ignoreGone = (e: unknown) => {
      if (!(e instanceof CriError && e.notFound)) throw e;
    };
    try {
      await this.cri.stopPodSandbox(podId, { timeoutMs: 60_000 }).catch(ignoreGone);
      await this.cri.removePodSandbox(podId, { timeoutMs: 60_000 }).catch(ignoreGone);
    } catch (e) {
      throw new Error(`Cannot remove the pod of task "${entry.taskId}": ${this.#reason(e)}`);
    }
  }

  /**
   * Writes the container's output to `stdout` and `stderr` in its sandbox before the pod goes,
   * so a finished task's output reads as a process task's does. Best effort.
   */
  async #keepOutput(entry: Entry): Promise<void> {
    const { sandbox, logPath } = entry;
    if (!sandbox || !logPath) return;
    await Promise.all((["stdout", "stderr"] as const).map(async (stream) => {
      try {
        const file = await Deno.open(`${sandbox}/${stream}`, {
          write: true,
          create: true,
          truncate: true,
        });
        await streamCriLog(logPath, { stream }).pipeTo(file.writable);
      } catch {
        // The sandbox is gone: nothing to keep.
      }
    }));
  }

  #reason(e: unknown): string {
    if (e instanceof CriError && e.unreachable) {
      return `containerd unreachable at ${this.cri.socket}: ${e.details}`;
    }
    return e instanceof Error ? e.message : String(e);
  }
}
