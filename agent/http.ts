/**
 * The agent's own HTTP API: `/health`, `/state`, task output at `/tasks/{id}/logs`, container
 * statistics at `/monitor/statistics` (Mesos' shape) and Prometheus text at `/metrics`.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  badRequest,
  clientAddress,
  httpErrorHandler,
  type HttpMetrics,
  pathSafeId,
  plainText,
  PROMETHEUS_CONTENT_TYPE,
  requestLimits,
  StreamSlots,
  TenderError,
} from "../base/mod.ts";
import { authenticate, principalOf, ServerSecurity } from "../security/mod.ts";
import type { AgentState, ExecutorStatistics } from "./agent.ts";
import type { LogOptions } from "./containerizer/containerizer.ts";

/** What the API reads from the agent. */
export interface AgentApiSource {
  state(): AgentState;
  /** Undefined when the agent neither runs the task nor keeps its sandbox. */
  logs(taskId: string, options: LogOptions): Promise<ReadableStream<Uint8Array> | undefined>;
  /** The exposition text of `GET /metrics` (404 when absent). */
  metrics?(): string;
  /** Running tasks' CPU and memory use, Mesos' `/monitor/statistics` (`[]` when absent). */
  statistics?(): Promise<ExecutorStatistics[]>;
}

const LogQuerySchema = z.object({
  stream: z.enum(["stdout", "stderr"]).default("stdout"),
  tail: z.coerce.number().int().positive().optional(),
  follow: z.enum(["true", "false", "1", "0"]).optional(),
});

/** How the agent's API authenticates its callers (default: not at all). */
export interface AgentApiSecurity {
  security: ServerSecurity;
  /** Every route but `/health` needs credentials (`--authenticate-http-readonly`). */
  readonly?: boolean;
}

/** The realm of the agent's challenge, as Mesos' agents name theirs. */
export const AGENT_REALM = "mesos-agent";

/** Builds the hono app over an agent; `http` (when given) times every route. */
export function agentApp(
  agent: AgentApiSource,
  http?: HttpMetrics,
  auth: AgentApiSecurity = { security: ServerSecurity.off() },
): Hono {
  const app = new Hono();
  const slots = new StreamSlots();
  if (http) app.use(http.middleware());
  app.use(authenticate(auth.security, {
    realm: AGENT_REALM,
    required: (c) => (auth.readonly ?? false) && c.req.path !== "/health",
  }));
  app.use(requestLimits());
  app.onError(httpErrorHandler("agent", plainText));
  app.get("/health", (c) => c.text("ok"));
  // As Mesos' agent: tasks are shown by view_tasks, output given by access_sandboxes, of the
  // task's user (the ACLs of `--acls`).
  app.get("/state", (c) => {
    const state = agent.state();
    const principal = principalOf(c);
    const tasks = state.tasks.filter((t) =>
      auth.security.acls.allows("view_tasks", principal, t.user)
    );
    return c.json({ ...state, tasks });
  });
  app.get("/metrics", (c) => {
    if (!agent.metrics) return c.notFound();
    return c.body(agent.metrics(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
  });
  for (const path of ["/monitor/statistics", "/monitor/statistics.json"]) {
    app.get(path, async (c) => c.json(await agent.statistics?.() ?? []));
  }
  app.get("/tasks/:taskId/logs", async (c) => {
    const taskId = pathSafeId("task id", c.req.param("taskId"));
    const user = agent.state().tasks.find((t) => t.id === taskId)?.user;
    auth.security.authorize("access_sandboxes", principalOf(c), user);
    const parsed = LogQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest(`Invalid query parameter "${issue.path.join(".")}": ${issue.message}`);
    }
    const { stream, tail, follow } = parsed.data;
    // A client holds at most LIMITS.streamsPerClient logs at once (429), followed ones above all.
    const release = slots.acquire(clientAddress(c));
    // A client that goes away cancels the body stream, which stops a followed log.
    const body = await agent.logs(taskId, {
      stream,
      tail,
      follow: follow === "true" || follow === "1",
    }).catch((e) => {
      release();
      throw e;
    });
    if (!body) {
      release();
      throw new TenderError("not_found", `Task "${taskId}" is unknown to this agent`);
    }
    return new Response(StreamSlots.releasing(release, body), {
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" },
    });
  });
  return app;
}
