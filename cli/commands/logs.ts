/**
 * `logs TASK`: a task's output, read from its agent's API (found through `/master/state`),
 * or through the master's dashboard proxy when the agent cannot be reached from here.
 */
import { Api } from "../api.ts";
import type { Command, CommandContext } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import { allTasks, fetchState, findFramework, type TaskRow } from "../master_state.ts";
import { appId, appPath, TasksSchema } from "../marathon.ts";

function pickTask(rows: TaskRow[], id: string): TaskRow {
  const live = rows.filter((t) => !t.completed);
  const hits = live.length > 0 ? live : rows;
  if (hits.length === 0) {
    throw new CliError(
      `no task "${id}": \`tender tasks list --all\` shows the tasks the master knows`,
    );
  }
  const frameworks = new Set(hits.map((t) => t.framework.id));
  if (frameworks.size > 1) {
    throw new CliError(
      `task "${id}" exists in ${frameworks.size} frameworks (${
        [...new Set(hits.map((t) => t.framework.name))].join(", ")
      }): choose one with --framework`,
    );
  }
  return hits[0]!;
}

/**
 * Where an agent's API answers, best first: the address in its pid (`slave(1)@IP:PORT`, the one
 * it advertises, as Mesos reaches agents), then its hostname.
 */
export function agentBases(agent: { hostname: string; port: number; pid?: string }): string[] {
  const address = /@(.+)$/.exec(agent.pid ?? "")?.[1];
  const byHostname = `${agent.hostname}:${agent.port}`;
  return [...new Set([...(address ? [address] : []), byHostname])].map((a) => `http://${a}`);
}

async function openStream(ctx: CommandContext, row: TaskRow, query: URLSearchParams) {
  const agent = row.agent;
  const taskId = encodeURIComponent(row.task.id);
  const tried: string[] = [];
  for (const base of agent ? agentBases(agent) : []) {
    const direct = new Api("agent", base, ctx.io);
    try {
      const r = await direct.raw(`/tasks/${taskId}/logs?${query}`);
      return { r, api: direct, path: `/tasks/${taskId}/logs` };
    } catch (e) {
      if (ctx.io.signal.aborted) throw e;
      tried.push(e instanceof Error ? e.message : String(e));
    }
  }
  // The master proxies task output for its dashboard; it may reach agents we cannot.
  const master = ctx.api("master");
  const path = `/dashboard/logs/${encodeURIComponent(row.task.slave_id)}/${taskId}`;
  const r = await master.raw(`${path}?${query}`);
  if (r.status === 404 && tried.length > 0) {
    const text = await r.text();
    if (!/is unknown/.test(text)) {
      throw new CliError(`${tried[0]} (and the master at ${master.base} has no log proxy)`);
    }
    return { r: new Response(text, { status: 404 }), api: master, path };
  }
  return { r, api: master, path };
}

/** Copies a log stream to the output, each line prefixed (replicas) or as is (one task). */
async function copy(ctx: CommandContext, body: ReadableStream<Uint8Array>, prefix: string) {
  let pending = "";
  try {
    for await (const text of body.pipeThrough(new TextDecoderStream())) {
      if (prefix === "") {
        ctx.io.out(text);
        continue;
      }
      const lines = (pending + text).split("\n");
      pending = lines.pop()!;
      if (lines.length > 0) ctx.io.out(lines.map((l) => `${prefix}${l}\n`).join(""));
    }
    if (pending) ctx.io.out(`${prefix}${pending}\n`);
  } catch (e) {
    if (!ctx.io.signal.aborted) throw new CliError(`the log stream broke: ${String(e)}`);
  }
}

function logQuery(ctx: CommandContext): URLSearchParams {
  const query = new URLSearchParams({ stream: ctx.flags.stderr ? "stderr" : "stdout" });
  if (ctx.flags.tail !== undefined) query.set("tail", String(ctx.flags.tail));
  if (ctx.flags.follow) query.set("follow", "true");
  return query;
}

/** `logs --app APP`: every replica, lines prefixed with the task id, streamed side by side. */
async function appLogs(ctx: CommandContext, id: string): Promise<void> {
  const { tasks } = await ctx.api("marathon").json(`${appPath(id)}/tasks`, TasksSchema);
  if (tasks.length === 0) throw new CliError(`app ${appId(id)} has no tasks`);
  const state = await fetchState(ctx.api("master"));
  const rows = allTasks(state);
  const query = logQuery(ctx);
  const width = Math.max(...tasks.map((t) => t.id.length));
  const streams = await Promise.all(tasks.map(async (t) => {
    const row = rows.find((r) => r.task.id === t.id && !r.completed) ??
      rows.find((r) => r.task.id === t.id);
    if (!row) throw new CliError(`the master does not know task ${t.id} of ${appId(id)}`);
    const { r, api, path } = await openStream(ctx, row, query);
    if (!r.ok) throw api.failure(r, path, await r.text());
    return { task: t, body: r.body };
  }));
  if (ctx.flags.json) {
    const out = await Promise.all(streams.map(async (s) => ({
      task_id: s.task.id,
      text: s.body ? await new Response(s.body).text() : "",
    })));
    ctx.io.out(`${JSON.stringify(out)}\n`);
    return;
  }
  await Promise.all(
    streams.map((s) => s.body && copy(ctx, s.body, `${s.task.id.padEnd(width)} | `)),
  );
}

/** `logs`. */
export const logsCommand: Command = {
  name: "logs",
  usage: "logs TASK|--app APP [--follow] [--stderr] [--tail N]",
  summary: "a task's stdout (or --stderr), or every replica of an app; --follow streams on",
  async run(ctx) {
    if (ctx.flags.app !== undefined) {
      if (ctx.args.length > 0) throw usageError("give a TASK or --app APP, not both");
      return await appLogs(ctx, ctx.flags.app);
    }
    const [id, ...rest] = ctx.args;
    if (id === undefined || rest.length > 0) {
      throw usageError("usage: tender logs TASK [--follow], or tender logs --app APP");
    }
    const state = await fetchState(ctx.api("master"));
    let rows = allTasks(state).filter((t) => t.task.id === id);
    if (ctx.flags.framework !== undefined) {
      const f = findFramework(state, ctx.flags.framework);
      if (typeof f === "string") throw new CliError(f);
      rows = rows.filter((t) => t.framework.id === f.id);
    }
    const row = pickTask(rows, id);
    const query = logQuery(ctx);
    const { r, api, path } = await openStream(ctx, row, query);
    if (!r.ok) throw api.failure(r, path, await r.text());
    if (ctx.flags.json) {
      const text = await r.text();
      ctx.io.out(
        `${
          JSON.stringify({
            task_id: row.task.id,
            agent_id: row.task.slave_id,
            stream: query.get("stream"),
            text,
          })
        }\n`,
      );
      return;
    }
    if (r.body) await copy(ctx, r.body, "");
  },
};
