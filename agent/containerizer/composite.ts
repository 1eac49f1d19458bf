/**
 * Mesos' `--containerizers=docker,mesos`: a task with a DOCKER container runs in Docker, any
 * other task (a plain command) runs as a process; likewise containerd for tasks with an image. Calls for an existing container go to the
 * containerizer that launched or recovered it.
 */
import type { CommandInfo } from "../../protocol/mod.ts";
import type {
  ContainerId,
  Containerizer,
  ContainerSpec,
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

  /**
   * `docker` is the engine; `inEngine` says which tasks it runs (default: a DOCKER container;
   * containerd runs every task that names an image).
   */
  constructor(options: {
    docker: Containerizer;
    process: Containerizer;
    inEngine?: (spec: ContainerSpec) => boolean;
  }) {
    this.#docker = options.docker;
    this.#process = options.process;
    this.#inEngine = options.inEngine ?? ((spec) => spec.container?.type === "DOCKER");
    this.kind = `${options.docker.kind}+${options.process.kind}`;
  }

  launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched"> {
    const target = this.#inEngine(spec) ? this.#docker : this.#process;
    this.#owner.set(id, target);
    return target.launch(id, spec);
  }

  async wait(id: ContainerId): Promise<Termination | undefined> {
    return await this.#owner.get(id)?.wait(id);
  }

  async destroy(id: ContainerId, graceMs: number): Promise<Termination | undefined> {
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

  async exec(id: ContainerId, command: CommandInfo, timeoutMs: number): Promise<number> {
    const owner = this.#owner.get(id);
    if (!owner) throw new Error(`Container "${id}" is unknown`);
    return await owner.exec(id, command, timeoutMs);
  }
}
