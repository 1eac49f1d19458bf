/** A bounded, in-memory series of cluster capacity and use, for the dashboard's chart. */
import type { DashboardSummary } from "./summary.ts";

/** One sample: milliseconds since the epoch, cpus and mem (MiB) used and total. */
export interface CapacityPoint {
  t: number;
  cpusUsed: number;
  cpusTotal: number;
  memUsed: number;
  memTotal: number;
}

/** The last `capacity` samples, oldest first. */
export class CapacityHistory {
  readonly #points: CapacityPoint[] = [];

  /** 900 samples at one a second: the last fifteen minutes. */
  constructor(readonly capacity = 900) {}

  /** Appends a sample taken from a summary and returns it. */
  record(summary: DashboardSummary): CapacityPoint {
    const { cpus, mem } = summary.cluster;
    const point = {
      t: summary.time,
      cpusUsed: cpus.used,
      cpusTotal: cpus.total,
      memUsed: mem.used,
      memTotal: mem.total,
    };
    this.#points.push(point);
    if (this.#points.length > this.capacity) {
      this.#points.splice(0, this.#points.length - this.capacity);
    }
    return point;
  }

  /** The samples, oldest first (a copy). */
  points(): CapacityPoint[] {
    return [...this.#points];
  }
}
