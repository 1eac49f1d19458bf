/**
 * The web dashboard, served by the master at `/`: plain HTML, one ES module and one style
 * sheet (no build step), kept live by Server-Sent Events at `/dashboard/events`.
 *
 * @module
 * @example
 * ```ts
 * import { startMaster } from "../mod.ts";
 * import { mountDashboard } from "./mod.ts";
 * const master = await startMaster({ port: 0, workDir: "/tmp/m", mount: mountDashboard });
 * console.log(`open ${master.url}/`);
 * await master.stop();
 * ```
 */
import type { Context, Hono } from "hono";
import { principalOf, type ServerSecurity } from "../../security/mod.ts";
import { clientAddress, StreamSlots } from "../../base/mod.ts";
import type { MasterService } from "../runtime.ts";
import { CapacityHistory } from "./capacity_history.ts";
import { agentAddresses, fetchTaskLogs, parseLogQuery, sandboxUser } from "./logs_proxy.ts";
import type { JobSummary } from "./metronome_jobs.ts";
import {
  type AppSummary,
  type DashboardSummary,
  dashboardSummary,
  visibleSummary,
} from "./summary.ts";
import { visibility } from "../http/app.ts";

export { CapacityHistory, type CapacityPoint } from "./capacity_history.ts";
export { type AppSummary, type DashboardSummary, dashboardSummary } from "./summary.ts";
export { agentAddresses, fetchTaskLogs, sandboxUser } from "./logs_proxy.ts";
export { marathonApps } from "./marathon_apps.ts";
export { type JobSummary, metronomeJobs } from "./metronome_jobs.ts";

/** How to mount the dashboard. */
export interface DashboardOptions {
  /** Apps from a service framework (Marathon), when one is attached. */
  apps?: () => Promise<AppSummary[]> | AppSummary[];
  /** Jobs from a jobs framework (Metronome's API), when one is attached. */
  jobs?: () => Promise<JobSummary[]> | JobSummary[];
  /** How often the summary is pushed and the capacity sampled (1000 ms). */
  intervalMs?: number;
  /** Stops the sampler and ends every event stream when aborted (the master's life). */
  signal?: AbortSignal;
  history?: CapacityHistory;
  /** The master's ACLs: the log proxy asks `access_sandboxes` of the task's user. */
  security?: ServerSecurity;
  /** How the log proxy calls agents (the master's client credentials and CA). */
  fetch?: typeof fetch;
  /**
   * The event and log streams a client may hold at once (429 past them), shared with the
   * master's other streams; default: slots of the dashboard's own.
   */
  slots?: StreamSlots;
}

/** A mounted dashboard; `close()` stops its timer and ends its event streams. */
export interface MountedDashboard {
  history: CapacityHistory;
  close(): void;
}

const STATIC: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

function readStatic(): Map<string, string> {
  return new Map(
    Object.keys(STATIC).map((
      name,
    ) => [name, Deno.readTextFileSync(new URL(`./static/${name}`, import.meta.url))]),
  );
}

/** Serves the dashboard at `/` and `/dashboard/*` on the master's app. */
export function mountDashboard(
  app: Hono,
  runtime: MasterService,
  options: DashboardOptions = {},
): MountedDashboard {
  const files = readStatic();
  const history = options.history ?? new CapacityHistory();
  const encoder = new TextEncoder();
  const slots = options.slots ?? new StreamSlots();
  /** Each open event stream, with the principal it was opened by (what it may see). */
  const streams = new Map<ReadableStreamDefaultController<Uint8Array>, string | undefined>();
  const visible = <S extends DashboardSummary>(summary: S, principal: string | undefined): S =>
    options.security
      ? visibleSummary(
        summary,
        runtime.view,
        visibility(options.security, principal, runtime.view),
      )
      : summary;
  const send = (c: ReadableStreamDefaultController<Uint8Array>, event: string, data: unknown) => {
    try {
      c.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    } catch {
      streams.delete(c);
    }
  };
  const summary = async () => {
    const [apps, jobs] = await Promise.all([
      options.apps ? Promise.resolve(options.apps()).catch(() => null) : null,
      options.jobs ? Promise.resolve(options.jobs()).catch(() => null) : null,
    ]);
    return await runtime.read((m) => dashboardSummary(m, apps, jobs));
  };

  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const current = await summary();
      const point = history.record(current);
      for (const [c, principal] of streams) {
        send(c, "summary", { ...visible(current, principal), point });
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick().catch(() => {}), options.intervalMs ?? 1000);
  Deno.unrefTimer(timer);
  const close = () => {
    clearInterval(timer);
    for (const c of streams.keys()) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    streams.clear();
  };
  options.signal?.addEventListener("abort", close, { once: true });

  const page = (name: string) => (c: Context) =>
    c.body(files.get(name)!, 200, { "Content-Type": STATIC[name]!, "Cache-Control": "no-cache" });
  for (const path of ["/", "/dashboard", "/dashboard/"]) app.get(path, page("index.html"));
  app.get("/dashboard/app.js", page("app.js"));
  app.get("/dashboard/style.css", page("style.css"));

  app.get(
    "/dashboard/api/summary",
    async (c) =>
      c.json(visible({ ...(await summary()), history: history.points() }, principalOf(c))),
  );

  app.get("/dashboard/events", async (c) => {
    const release = slots.acquire(clientAddress(c));
    let first;
    try {
      first = await summary();
    } catch (e) {
      release();
      throw e;
    }
    const principal = principalOf(c);
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        controller = ctrl;
        ctrl.enqueue(encoder.encode("retry: 2000\n\n"));
        send(ctrl, "history", history.points());
        send(ctrl, "summary", visible(first, principal));
        streams.set(ctrl, principal);
      },
      cancel() {
        if (controller) streams.delete(controller);
      },
    });
    c.req.raw.signal.addEventListener("abort", () => {
      if (!controller) return;
      streams.delete(controller);
      try {
        controller.close();
      } catch { /* already closed */ }
    });
    return new Response(StreamSlots.releasing(release, body), {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
      },
    });
  });

  app.get("/dashboard/logs/:agentId/:taskId", async (c) => {
    const { agentId, taskId } = c.req.param();
    const query = parseLogQuery(c.req.query());
    const release = slots.acquire(clientAddress(c));
    try {
      return held(release, await taskLogs(c, agentId, taskId, query));
    } catch (e) {
      release();
      throw e;
    }
  });

  const taskLogs = async (
    c: Context,
    agentId: string,
    taskId: string,
    query: ReturnType<typeof parseLogQuery>,
  ) => {
    const bases = await runtime.read((m) => {
      options.security?.authorize(
        "access_sandboxes",
        principalOf(c),
        sandboxUser(m, agentId, taskId),
      );
      return agentAddresses(m, agentId, taskId);
    });
    return await fetchTaskLogs(bases, {
      taskId,
      query,
      signal: c.req.raw.signal,
      fetch: options.fetch,
    });
  };

  return { history, close };
}

/** The response with its body wrapped so `release` runs once the body ends or is cancelled. */
function held(release: () => void, res: Response): Response {
  if (res.body === null) {
    release();
    return res;
  }
  return new Response(StreamSlots.releasing(release, res.body), res);
}
