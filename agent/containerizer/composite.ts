/**
 * Mesos' `--containerizers=docker,mesos`: a task with a DOCKER container runs in Docker, any
 * other task (a plain command) runs as a process; likewise containerd for tasks with an image.
 * Calls for an existing container go to the containerizer that launched or recovered it. A task
 * group whose pod has a network of its own must run in one containerizer (one namespace).
 */
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

/** Routes each task to the engine (Docker, containerd) or the process containerizer. */
export class CompositeContainerizer implements Containerizer {
  readonly kind: string;
  readonly #docker: Containerizer;
  readonly #process: Containerizer;
  readonly #inEngine: (spec: ContainerSpec) => boolean;
  readonly #owner = new Map<ContainerId, Containerizer>();
  /** Where each task group's first member went, and the members not destroyed yet. */
  readonly #pods = new Map<string, { first: Containerizer; members: Set<ContainerId> }>();

  /**
   * `docker` is the engine; `inEngine` says which tasks it runs (default: a DOCKER container, or
   * a MESOS one with a Docker image, Tender having no image provisioner of its own; containerd
   * runs every task that names an image).
   */
  constructor(options: {
    docker: Containerizer;
    process: Containerizer;
    inEngine?: (spec: ContainerSpec) => boolean;
  }) {
    this.#docker = options.docker;
    this.#process = options.process;
    this.#inEngine = options.inEngine ??
      ((spec) => spec.container?.type === "DOCKER" || !!spec.container?.mesos?.image?.docker);
    this.kind = `${options.docker.kind}+${options.process.kind}`;
  }

  launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched"> {
    const target = this.#inEngine(spec) ? this.#docker : this.#process;
    const pod = spec.pod;
    if (pod) {
      const held = this.#pods.get(pod.id) ?? { first: target, members: new Set() };
      this.#pods.set(pod.id, held);
      held.members.add(id);
      const first = held.first;
      if (first !== target && pod.network !== "HOST") {
        return Promise.reject(
          new Error(
            `Cannot launch task "${spec.taskId}" in ${target.kind}: the other tasks of its ` +
              `group run in ${first.kind}, and a pod with a network of its own (${pod.network}) ` +
              `cannot span both: give every task of the group an image, or none`,
          ),
        );
      }
    }
    this.#owner.set(id, target);
    return target.launch(id, spec);
  }

  refusal(spec: ContainerSpec): string | undefined {
    return (this.#inEngine(spec) ? this.#docker : this.#process).refusal?.(spec);
  }

  async wait(id: ContainerId): Promise<Termination | undefined> {
    return await this.#owner.get(id)?.wait(id);
  }

  async destroy(id: ContainerId, graceMs: number): Promise<Termination | undefined> {
    for (const [podId, held] of this.#pods) {
      if (held.members.delete(id) && held.members.size === 0) this.#pods.delete(podId);
    }
    const owner = this.#owner.get(id);
    if (owner) return await owner.destroy(id, graceMs);
    // Not known here (yet): whichever has it.
    return (await this.#docker.destroy(id, graceMs)) ?? (await this.#process.destroy(id, graceMs));
  }

  async recover(known: ReadonlySet<ContainerId>): Promise<RecoveredContainer[]> {
    const [docker, process] = await Promise.all([
      this.#docker.recover(known),
      this.#process.recover(known),
    ]);
    for (const c of docker) this.#owner.set(c.id, this.#docker);
    for (const c of process) this.#owner.set(c.id, this.#process);
    return [...docker, ...process];
  }

  logs(id: ContainerId, options: LogOptions): ReadableStream<Uint8Array> {
    const owner = this.#owner.get(id);
    return owner ? owner.logs(id, options) : new ReadableStream({ start: (c) => c.close() });
  }

  async networkAddress(id: ContainerId): Promise<string | undefined> {
    return await this.#owner.get(id)?.networkAddress?.(id);
  }

  async stats(id: ContainerId): Promise<ContainerStats | undefined> {
    return await this.#owner.get(id)?.stats?.(id);
  }

  async exec(id: ContainerId, command: CommandInfo, timeoutMs: number): Promise<number> {
    const owner = this.#owner.get(id);
    if (!owner) throw new Error(`Container "${id}" is unknown`);
    return await owner.exec(id, command, timeoutMs);
  }
}
