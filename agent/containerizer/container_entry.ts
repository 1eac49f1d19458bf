/**
 * What an engine-backed containerizer (Docker, containerd) keeps of one container while it knows
 * it: whose task it runs, whether a launch is under way, whether `destroy()` stopped it, and how
 * it ended. Each containerizer extends it with what its engine needs (a name, a pod id).
 */
import type { Termination } from "./containerizer.ts";

/** One container's books; its termination latches: the first `end()` wins. */
export class ContainerEntry {
  /** Settles when launch() finished (either way). */
  launching: Promise<unknown> = Promise.resolve();
  /** Set when destroy() stopped it, so its exit reads "killed". */
  destroyed = false;
  /** Set once what the engine held of it (container, pod) is gone. */
  removed = false;
  /** How it ended; undefined while it runs. */
  termination?: Termination;
  /** Resolves with the first termination recorded. */
  readonly ended: Promise<Termination>;
  #resolve: (termination: Termination) => void = () => {};

  constructor(readonly frameworkId: string, readonly taskId: string) {
    this.ended = new Promise<Termination>((resolve) => (this.#resolve = resolve));
  }

  /** Records how the container ended; later calls change nothing. */
  end(termination: Termination): void {
    if (this.termination) return;
    this.termination = termination;
    this.#resolve(termination);
  }

  /**
   * Follows a launch: `launching` settles with it, and a failure ends the container as
   * `launch_failed` with the failure's message, which the returned promise rejects with too.
   */
  track(launch: Promise<"launched">): Promise<"launched"> {
    const launched = launch.catch((e) => {
      const message = e instanceof Error ? e.message : String(e);
      this.end({ exitCode: null, reason: "launch_failed", message });
      throw new Error(message);
    });
    this.launching = launched.catch(() => undefined);
    return launched;
  }
}
