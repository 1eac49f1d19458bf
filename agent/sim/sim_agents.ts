/**
 * N simulated agents in one process, for capacity planning and benchmarks: each is a real
 * `Agent` (SUBSCRIBE over HTTP, heartbeats, reliable status updates with acknowledgements,
 * reconnection) on the simulated containerizer, so the master sees N real agents. What can be
 * shared is: one `Masters` (one HTTP client and one idea of the leader), one in-memory Deno KV
 * (each agent's keys under its hostname), one clock whose timers are coalesced, and one small
 * HTTP server for all of them (`/health`, `/state`, `/tasks/{id}/logs`).
 *
 * Each agent's id is its hostname (`sim-00001`, ...): a restarted simulation registers the same
 * agents again, and the master takes their ids as it takes any re-registering agent's.
 */
import { resolve } from "node:path";
import { Hono } from "hono";
import {
  CONTAINERIZERS_ATTRIBUTE,
  containerizersAttribute,
  Resources,
} from "../../protocol/mod.ts";
import {
  httpErrorHandler,
  type Ids,
  Masters,
  plainText,
  randomIds,
  TenderError,
} from "../../base/mod.ts";
import { Agent } from "../agent.ts";
import { SimulatedContainerizer } from "../containerizer/simulated.ts";
import { keys } from "../keys.ts";
import { parseAttributes } from "../resources_detect.ts";
import { CoalescedClock } from "./coalesced_clock.ts";
import { PrefixedKv } from "./prefixed_kv.ts";

/** Each simulated agent's resources unless `resources` says otherwise. */
export const SIM_RESOURCES = "cpus:4;mem:8192;disk:65536;ports:[31000-32000]";

/** Options of `startSimulatedAgents` (the flags of `deno task sim`). */
export interface SimulatedAgentsOptions {
  /**
   * The masters, as an agent's `--master` takes them, or a `Masters` (with its client, which
   * should be wrapped in `limitConcurrency`).
   */
  master: string | Masters;
  /** How many agents. */
  agents: number;
  /** Each agent's resources (`SIM_RESOURCES` by default). */
  resources?: string;
  /** Each agent's attributes (`rack:r1;zone:z1`); `containerizers:simulated` is added. */
  attributes?: string;
  /** Agent i is `<prefix>-<i>` (5 digits at least), which is also its id. Default `sim`. */
  hostnamePrefix?: string;
  /** Where the shared server listens (default 127.0.0.1, a free port). */
  host?: string;
  port?: number;
  /** Task sandboxes go under here (`<workDir>/<hostname>/sandboxes/...`). */
  workDir: string;
  /** How many agents subscribe at a time when starting (default 200). */
  startBatch?: number;
  statusUpdateRetryMs?: number;
  ids?: Ids;
  log?: (message: string) => void;
}

/** A running simulation. */
export interface SimulatedAgents {
  agents: readonly Agent[];
  /** The shared server's base URL (every agent advertises it). */
  url: string;
  /** How many agents are subscribed right now. */
  connected(): number;
  /** Disconnects every agent; their tasks end with the process. */
  stop(): Promise<void>;
}

/**
 * `fetch` with at most `max` calls in flight, and `2 × max` heartbeats (SUBSCRIBE streams, which
 * stay open, excepted).
 * Thousands of agents in one process would otherwise open a connection per concurrent UPDATE
 * or HEARTBEAT: 3,000 agents launching 30,000 tasks took the master past 20,000 open files,
 * where `Deno.serve` stops for good (a real agent's few calls in flight come from its own host);
 * 10,000 agents' heartbeats alone did at registration.
 */
export function limitConcurrency(inner: typeof fetch, max = 256): typeof fetch {
  // Heartbeats have slots of their own: behind a burst of updates they would come late, and a
  // master that hears nothing from an agent for its agent timeout marks it unreachable.
  const calls = new Gate(max), heartbeats = new Gate(2 * max);
  return async (input, init) => {
    const body = typeof init?.body === "string" ? init.body : "";
    if (body.startsWith('{"type":"SUBSCRIBE"')) return await inner(input, init);
    const gate = body.startsWith('{"type":"HEARTBEAT"') ? heartbeats : calls;
    return await gate.run(async () => {
      const res = await inner(input, init);
      // The slot is held until the answer is read: its connection is busy until then.
      const text = await res.text();
      return new Response(text, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    });
  };
}

/** At most `max` runs at once; the others wait their turn. */
class Gate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#active >= this.max) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** The hostname (and agent id) of simulated agent `i` (0-based). */
export function simHostname(prefix: string, i: number): string {
  return `${prefix}-${String(i + 1).padStart(5, "0")}`;
}

/** Starts `options.agents` simulated agents; resolves once each batch has subscribed or waited 30 s. */
export async function startSimulatedAgents(
  options: SimulatedAgentsOptions,
): Promise<SimulatedAgents> {
  if (!Number.isInteger(options.agents) || options.agents < 1) {
    throw new Error(`--agents must be a whole number of at least 1, not ${options.agents}`);
  }
  const prefix = options.hostnamePrefix ?? "sim";
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(prefix)) {
    throw new Error(`--hostname-prefix "${prefix}" is not the start of a host name`);
  }
  const resources = Resources.parse(options.resources ?? SIM_RESOURCES);
  const attributes = parseAttributes(options.attributes ?? "");
  if (!attributes.some((a) => a.name === CONTAINERIZERS_ATTRIBUTE)) {
    attributes.push(containerizersAttribute(["simulated"]));
  }
  const masters = Masters.from(options.master, { fetch: limitConcurrency(fetch) });
  const clock = new CoalescedClock(50);
  const ids = options.ids ?? randomIds;
  const log = options.log ?? (() => {});
  const kv = await Deno.openKv(":memory:");
  const agents: Agent[] = [];
  const host = options.host ?? "127.0.0.1";
  const server = Deno.serve(
    { hostname: host, port: options.port ?? 0, onListen: () => {} },
    simApp(agents).fetch,
  );
  const port = server.addr.port;
  const workDir = resolve(options.workDir);
  try {
    const batch = options.startBatch ?? 200;
    for (let start = 0; start < options.agents; start += batch) {
      const started: Agent[] = [];
      for (let i = start; i < Math.min(options.agents, start + batch); i++) {
        const hostname = simHostname(prefix, i);
        const store = new PrefixedKv(kv, ["sim", hostname]);
        await store.set(keys.agentId(), hostname);
        const agent = new Agent({
          kv: store,
          clock,
          ids,
          containerizer: new SimulatedContainerizer(clock),
          log: (m) => log(`${hostname}: ${m}`),
        }, {
          master: masters,
          hostname,
          port,
          advertiseIp: host === "0.0.0.0" ? "127.0.0.1" : host,
          workDir: `${workDir}/${hostname}`,
          resources,
          attributes,
          switchUser: false,
          statusUpdateRetryMs: options.statusUpdateRetryMs,
        });
        await agent.start();
        agents.push(agent);
        started.push(agent);
      }
      const deadline = Date.now() + 30_000;
      while (started.some((a) => !a.connected) && Date.now() < deadline) {
        await clock.sleep(50);
      }
    }
  } catch (e) {
    await Promise.all(agents.map((a) => a.stop()));
    await server.shutdown();
    kv.close();
    throw e;
  }
  return {
    agents,
    url: `http://${host}:${port}`,
    connected: () => agents.filter((a) => a.connected).length,
    stop: async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await server.shutdown();
      kv.close();
    },
  };
}

/** What the shared server reads of each agent. */
export interface SimServed {
  readonly id: string | undefined;
  readonly connected: boolean;
  state(): { hostname: string };
  tasks(): readonly { id: string }[];
}

/**
 * The shared server: `/health` answers `ok`; `/state` lists the agents (id, hostname,
 * connected, task count); `/tasks/{id}/logs` is empty for a task some agent runs (simulated
 * tasks write nothing), else 404.
 */
export function simApp(agents: readonly SimServed[]): Hono {
  const app = new Hono();
  app.onError(httpErrorHandler("sim", plainText));
  app.get("/health", (c) => c.text("ok"));
  app.get("/state", (c) =>
    c.json({
      simulated: true,
      agents: agents.map((a) => ({
        id: a.id ?? null,
        hostname: a.state().hostname,
        connected: a.connected,
        tasks: a.tasks().length,
      })),
    }));
  app.get("/tasks/:id/logs", (c) => {
    const id = c.req.param("id");
    if (!agents.some((a) => a.tasks().some((t) => t.id === id))) {
      throw new TenderError("not_found", `Unknown task "${id}"`);
    }
    return c.body("", 200, { "Content-Type": "text/plain" });
  });
  app.notFound((c) => c.text("Not found", 404));
  return app;
}
