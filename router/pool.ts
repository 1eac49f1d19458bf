/**
 * A pool of backends for one route (a service port or a virtual host): picks the next backend
 * by smooth weighted round robin or weighted least connections, keeps per-backend counters,
 * benches a backend for a while after a failed connect, and keeps backends that left the
 * catalog as `draining` until their last connection ends. Pure bookkeeping: no I/O; time is
 * passed in.
 */
import type { Balance, Endpoint } from "../master/discovery/mod.ts";

/** One backend and its counters. */
export interface Backend {
  /** `ip:port`. */
  key: string;
  taskId: string;
  ip: string;
  port: number;
  weight: number;
  /** Open connections or in-flight requests. */
  active: number;
  /** Connections or requests handed to this backend. */
  total: number;
  /** Failed connects. */
  failures: number;
  /** Epoch ms until which the backend is benched after a failure (0 when not). */
  downUntil: number;
  /** Left the catalog; gets no new work, stays listed until `active` is 0. */
  draining: boolean;
  /** Smooth weighted round robin state. */
  current: number;
}

/** A plain-data view of a backend for the router's state endpoint. */
export type BackendView = Omit<Backend, "current">;

/** Options of `Pool`. */
export interface PoolOptions {
  balance: Balance;
  /** How long a backend that failed a connect is skipped, ms. Default 2000. */
  benchMs?: number;
}

/** Backends of one route, and the policy that picks among them. */
export class Pool {
  balance: Balance;
  readonly #benchMs: number;
  #backends = new Map<string, Backend>();
  /** Requests or connections that failed on every backend tried. */
  failed = 0;
  /** Requests or connections accepted. */
  requests = 0;

  constructor(options: PoolOptions) {
    this.balance = options.balance;
    this.#benchMs = options.benchMs ?? 2000;
  }

  /** Replaces the endpoint set: new ones join, kept ones keep counters, gone ones drain. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    const seen = new Set<string>();
    for (const e of endpoints) {
      const key = `${e.ip}:${e.port}`;
      seen.add(key);
      const known = this.#backends.get(key);
      if (known) {
        known.weight = e.weight;
        known.taskId = e.taskId;
        known.draining = false;
      } else {
        this.#backends.set(key, {
          key,
          taskId: e.taskId,
          ip: e.ip,
          port: e.port,
          weight: e.weight,
          active: 0,
          total: 0,
          failures: 0,
          downUntil: 0,
          draining: false,
          current: 0,
        });
      }
    }
    for (const [key, b] of this.#backends) {
      if (seen.has(key)) continue;
      if (b.active === 0) this.#backends.delete(key);
      else b.draining = true;
    }
  }

  /** Backends that may take new work (not draining, weight above zero). */
  #candidates(exclude: ReadonlySet<string>): Backend[] {
    return [...this.#backends.values()].filter((b) =>
      !b.draining && b.weight > 0 && !exclude.has(b.key)
    );
  }

  /**
   * Picks a backend for new work, skipping `exclude` (already tried) and benched backends
   * unless only benched ones are left. `undefined` when no backend can take it.
   */
  pick(now: number, exclude: ReadonlySet<string> = new Set()): Backend | undefined {
    const all = this.#candidates(exclude);
    const up = all.filter((b) => b.downUntil <= now);
    const pool = up.length > 0 ? up : all;
    if (pool.length === 0) return undefined;
    return this.balance === "leastconn" ? this.#leastConn(pool) : this.#roundRobin(pool);
  }

  /** Smooth weighted round robin: even spread, exact weight ratios over each cycle. */
  #roundRobin(pool: Backend[]): Backend | undefined {
    let total = 0;
    let best: Backend | undefined;
    for (const b of pool) {
      b.current += b.weight;
      total += b.weight;
      if (best === undefined || b.current > best.current) best = b;
    }
    if (best) best.current -= total;
    return best;
  }

  /** Fewest active per unit of weight; ties broken by round robin so idle pools still rotate. */
  #leastConn(pool: Backend[]): Backend | undefined {
    const score = (b: Backend) => b.active / b.weight;
    const lowest = Math.min(...pool.map(score));
    return this.#roundRobin(pool.filter((b) => score(b) === lowest));
  }

  /** Records that work is being started on `b` (call before connecting, so picks see it). */
  acquire(b: Backend): void {
    b.active += 1;
  }

  /** Records that work on `b` ended; forgets a drained backend once idle. */
  release(b: Backend): void {
    b.active = Math.max(0, b.active - 1);
    if (b.draining && b.active === 0 && this.#backends.get(b.key) === b) {
      this.#backends.delete(b.key);
    }
  }

  /** Records a failed connect and benches `b`. */
  fail(b: Backend, now: number): void {
    b.failures += 1;
    b.downUntil = now + this.#benchMs;
  }

  /** Records a successful connect: counted in `total`, no longer benched. */
  ok(b: Backend): void {
    b.total += 1;
    b.downUntil = 0;
  }

  /** How many backends could take new work. */
  get size(): number {
    return this.#candidates(new Set()).length;
  }

  /** Whether no backend is left, draining or not. */
  get empty(): boolean {
    return this.#backends.size === 0;
  }

  /** Counters of every backend, in key order. */
  view(): BackendView[] {
    return [...this.#backends.values()].sort((a, b) => a.key < b.key ? -1 : 1)
      .map(({ current: _current, ...rest }) => rest);
  }
}
