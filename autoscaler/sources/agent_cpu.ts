/**
 * CPU utilisation per app from the agents' container statistics, in Mesos' shape: each agent's
 * `GET /monitor/statistics` lists its executors (a command task's executor id is its task id)
 * with `cpus_user_time_secs`, `cpus_system_time_secs` and `cpus_limit`. Agents are found in the
 * master's `/master/state`. Two samples make a utilisation: CPU seconds used over wall seconds,
 * over the task's cpus.
 */
import { z } from "zod";

const StatisticsSchema = z.array(z.object({
  executor_id: z.string(),
  statistics: z.object({
    timestamp: z.number(),
    cpus_user_time_secs: z.number().default(0),
    cpus_system_time_secs: z.number().default(0),
    cpus_limit: z.number().optional(),
  }),
}));

const StateSchema = z.object({
  slaves: z.array(z.object({
    /** Mesos' `slave(1)@IP:PORT`: where the agent answers. */
    pid: z.string().optional(),
    hostname: z.string(),
    port: z.number(),
    active: z.boolean().default(true),
  })),
});

/** An agent's base URL: the address of its `pid`, else its hostname. */
export function agentUrl(slave: { pid?: string; hostname: string; port: number }): string {
  const at = slave.pid?.split("@")[1];
  return `http://${at && at.includes(":") ? at : `${slave.hostname}:${slave.port}`}`;
}

/** CPU seconds used by each task so far, and its cpus limit, with the agent's timestamp (s). */
export interface CpuSample {
  tasks: Map<string, { at: number; cpuSeconds: number; limit: number | undefined }>;
}

/** Mean utilisation of `taskIds` (each over its own limit, or `cpus`) between two samples. */
export function cpuUtilisation(
  before: CpuSample,
  after: CpuSample,
  taskIds: Iterable<string>,
  cpus: number,
): number | undefined {
  const values: number[] = [];
  for (const id of taskIds) {
    const a = before.tasks.get(id), b = after.tasks.get(id);
    if (!a || !b || b.at <= a.at) continue;
    const limit = b.limit ?? cpus;
    if (!(limit > 0)) continue;
    values.push(Math.max(0, b.cpuSeconds - a.cpuSeconds) / (b.at - a.at) / limit);
  }
  return values.length === 0 ? undefined : values.reduce((x, y) => x + y, 0) / values.length;
}

/** Reads the agents' statistics, found through the master. */
export class AgentCpu {
  readonly #master: string;
  readonly #fetch: typeof fetch;

  constructor(master: string, options: { fetch?: typeof fetch } = {}) {
    this.#master = master.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? fetch;
  }

  /** Every active agent's statistics; an agent that does not answer is left out. */
  async sample(): Promise<CpuSample> {
    const get = async (url: string) => {
      const r = await this.#fetch(url, { signal: AbortSignal.timeout(3000) });
      if (!r.ok) throw new Error(`${url} answered ${r.status}`);
      return await r.json();
    };
    const state = StateSchema.parse(await get(`${this.#master}/master/state`));
    const tasks: CpuSample["tasks"] = new Map();
    await Promise.all(
      state.slaves.filter((s) => s.active).map(async (s) => {
        const stats = await get(`${agentUrl(s)}/monitor/statistics`)
          .then((b) => StatisticsSchema.parse(b))
          .catch(() => []);
        for (const e of stats) {
          tasks.set(e.executor_id, {
            at: e.statistics.timestamp,
            cpuSeconds: e.statistics.cpus_user_time_secs + e.statistics.cpus_system_time_secs,
            limit: e.statistics.cpus_limit,
          });
        }
      }),
    );
    return { tasks };
  }
}
