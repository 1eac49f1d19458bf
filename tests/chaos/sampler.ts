/**
 * Reads the cluster's views every half second for the whole run, feeds each snapshot to the
 * capacity check, and keeps the latest for whoever waits for convergence.
 */
import type { ChaosCluster, Snapshot } from "./chaos_cluster.ts";
import { CapacityWatch } from "./capacity.ts";
import type { Ledger } from "./ledger.ts";

/** The unreachable grace of the capacity check (a host back this recently still counts). */
export const UNREACHABLE_GRACE_MS = 15_000;

/** Samples until `stop()`. */
export class Sampler {
  readonly capacity: CapacityWatch;
  /** When each task's process was first seen running. */
  readonly firstSeen = new Map<string, number>();
  #latest: Snapshot | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #waiters: (() => void)[] = [];

  constructor(
    readonly chaos: ChaosCluster,
    readonly ledger: Ledger,
    readonly cutAgents: () => ReadonlySet<string>,
  ) {
    this.capacity = new CapacityWatch({
      graceMs: UNREACHABLE_GRACE_MS,
      agents: chaos.agents.map((a) => a.name),
    });
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** The next snapshot read after now. */
  async next(): Promise<Snapshot> {
    const after = Date.now();
    while (true) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      const latest = this.#latest;
      if (latest && latest.at >= after) return latest;
      if (this.#stopped) throw new Error("The sampler stopped");
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    for (const w of this.#waiters.splice(0)) w();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const started = Date.now();
      try {
        const snapshot = await this.chaos.snapshot();
        this.capacity.observe(snapshot, {
          cut: this.cutAgents(),
          recent: this.ledger.recentInstances(snapshot.at - UNREACHABLE_GRACE_MS),
        });
        for (const r of snapshot.running) {
          if (!this.firstSeen.has(r.taskId)) this.firstSeen.set(r.taskId, snapshot.at);
        }
        this.#latest = snapshot;
      } catch (e) {
        console.error(`sampler: ${e instanceof Error ? e.message : e}`);
      }
      for (const w of this.#waiters.splice(0)) w();
      await new Promise((r) => setTimeout(r, Math.max(0, 500 - (Date.now() - started))));
    }
  }
}
