/**
 * Task output for the dashboard. The agent API has no CORS headers and may sit on a network
 * the browser cannot reach, so the master fetches `/tasks/{id}/logs` from the agent and
 * streams it through.
 */
import { z } from "zod";
import { badRequest, isPlainHost, TenderError } from "../../base/mod.ts";
import type { MasterView } from "../core/master_view.ts";

/** The query the proxy accepts and forwards. */
export const LogQuerySchema = z.object({
  stream: z.enum(["stdout", "stderr"]).default("stdout"),
  tail: z.coerce.number().int().positive().max(100_000).optional(),
  follow: z.enum(["true", "false"]).optional(),
});
export type LogQuery = z.infer<typeof LogQuerySchema>;

/** Parses the proxy's query string, or throws a `bad_request` naming the parameter. */
export function parseLogQuery(query: Record<string, string>): LogQuery {
  const parsed = LogQuerySchema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw badRequest(`Invalid query parameter "${issue.path.join(".")}": ${issue.message}`);
}

function hostPort(host: string, port: number, scheme: string): string {
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The user whose sandbox a task's output is (`access_sandboxes`): its command's user, else its
 * framework's; undefined when the master knows no such task (only `ANY` rules match then).
 */
export function sandboxUser(
  ctx: MasterView,
  agentId: string,
  taskId: string,
): string | undefined {
  const task = [...ctx.tasksOfAgent(agentId), ...ctx.completedTasks].find((t) =>
    t.agentId === agentId && t.info.task_id.value === taskId
  );
  if (!task) return undefined;
  return task.info.command?.user ?? ctx.frameworks.get(task.frameworkId)?.info.user ??
    ctx.completedFrameworks.find((c) => c.framework.id === task.frameworkId)?.framework.info.user;
}

/**
 * The base URLs an agent's API may answer at, best first: its address (the one it advertises,
 * else the one it connected from: Mesos reaches an agent by its pid), then its registered
 * hostname — on its registered port, and nothing else: addresses its tasks report are the
 * containers', not the agent's, and any address with URL syntax in it is dropped, so a crafted
 * registration cannot turn the proxy into a fetcher of arbitrary URLs (SSRF).
 */
export function agentAddresses(ctx: MasterView, agentId: string, _taskId: string): string[] {
  const agent = ctx.agents.get(agentId);
  if (!agent) throw new TenderError("not_found", `Agent "${agentId}" is unknown to the master`);
  const { hostname, port } = agent.info;
  const seen = agent.ip === undefined ? [] : [agent.ip];
  return [...new Set([...seen, hostname])].filter(isPlainHost).map((h) =>
    hostPort(h, port, agent.scheme ?? "http")
  );
}

/** Fetches a task's output from the first address that answers; throws `unavailable` if none. */
export async function fetchTaskLogs(
  bases: readonly string[],
  request: {
    taskId: string;
    query: LogQuery;
    signal: AbortSignal;
    connectTimeoutMs?: number;
    /** The master's client (its credentials for the agent's API, and the CA for HTTPS). */
    fetch?: typeof fetch;
  },
): Promise<Response> {
  const params = new URLSearchParams({ stream: request.query.stream });
  if (request.query.tail !== undefined) params.set("tail", String(request.query.tail));
  if (request.query.follow !== undefined) params.set("follow", request.query.follow);
  const failures: string[] = [];
  for (const base of bases) {
    const url = `${base}/tasks/${encodeURIComponent(request.taskId)}/logs?${params}`;
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(), request.connectTimeoutMs ?? 3000);
    try {
      const r = await (request.fetch ?? fetch)(url, {
        signal: AbortSignal.any([request.signal, connect.signal]),
      });
      return new Response(r.body, {
        status: r.status,
        headers: {
          "Content-Type": r.headers.get("Content-Type") ?? "text/plain; charset=utf-8",
          "Cache-Control": "no-cache",
          "X-Tender-Agent-Url": base,
        },
      });
    } catch (e) {
      if (request.signal.aborted) throw e;
      failures.push(`${base} (${e instanceof Error ? e.message : String(e)})`);
    } finally {
      clearTimeout(timer);
    }
  }
  throw new TenderError(
    "unavailable",
    `Cannot reach the agent's API at ${failures.join(", ")}: ` +
      "start the agent with a --hostname the master can resolve",
  );
}
