/**
 * Requests per second per app, from the routers' counters: each router's `GET /_router/state`
 * lists every route's backends with the task they belong to and the requests (HTTP) or
 * connections (TCP) handed to it. Two samples make a rate; a backend seen for the first time
 * counts from zero, one gone since the last sample no more.
 */
import { z } from "zod";

const RouterStateSchema = z.object({
  tcp: z.array(
    z.object({ backends: z.array(z.object({ taskId: z.string(), total: z.number() })) }),
  ),
  vhosts: z.array(
    z.object({ backends: z.array(z.object({ taskId: z.string(), total: z.number() })) }),
  ),
});

/** Requests handed to each task so far, summed over routes and routers, at one time. */
export interface RequestSample {
  at: number;
  totals: Map<string, number>;
}

/** Requests per second to `taskIds` between two samples (pure). */
export function requestRate(
  before: RequestSample,
  after: RequestSample,
  taskIds: Iterable<string>,
): number {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return 0;
  let requests = 0;
  for (const id of taskIds) {
    const now = after.totals.get(id);
    if (now === undefined) continue;
    requests += Math.max(0, now - (before.totals.get(id) ?? 0));
  }
  return requests / seconds;
}

/** Reads the routers' counters. */
export class RouterRequests {
  readonly #routers: readonly string[];
  readonly #fetch: typeof fetch;

  constructor(routers: readonly string[], options: { fetch?: typeof fetch } = {}) {
    this.#routers = routers;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Every router's counters summed per task; throws naming a router that does not answer. */
  async sample(now: number): Promise<RequestSample> {
    const totals = new Map<string, number>();
    await Promise.all(this.#routers.map(async (base) => {
      let state;
      try {
        const r = await this.#fetch(`${base}/_router/state`, { signal: AbortSignal.timeout(3000) });
        if (!r.ok) throw new Error(`answered ${r.status}`);
        state = RouterStateSchema.parse(await r.json());
      } catch (e) {
        throw new Error(`Cannot read the router at ${base}: ${e instanceof Error ? e.message : e}`);
      }
      for (const route of [...state.tcp, ...state.vhosts]) {
        for (const b of route.backends) totals.set(b.taskId, (totals.get(b.taskId) ?? 0) + b.total);
      }
    }));
    return { at: now, totals };
  }
}
