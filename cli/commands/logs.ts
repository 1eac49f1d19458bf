/**
 * `logs TASK`: a task's output, read from its agent's API (found through `/master/state`),
 * or through the master's dashboard proxy when the agent cannot be reached from here.
 */
import { Api } from "../api.ts";
import type { Command, CommandContext } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import { allTasks, fetchState, findFramework, type TaskRow } from "../master_state.ts";

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

async function openStream(ctx: CommandContext, row: TaskRow, query: URLSearchParams) {
  const agent = row.agent;
  const taskId = encodeURIComponent(row.task.id);
  const tried: string[] = [];
  if (agent) {
    const direct = new Api("agent", `http://${agent.hostname}:${agent.port}`, ctx.io);
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

/** `logs`. */
export const logsCommand: Command = {
  name: "logs",
  usage: "logs TASK [--follow] [--stderr] [--tail N] [--framework F]",
  summary: "a task's stdout (or --stderr); --follow streams until the task ends or Ctrl-C",
  async run(ctx) {
    const [id, ...rest] = ctx.args;
    if (id === undefined || rest.length > 0) throw usageError("usage: tender logs TASK [--follow]");
    const state = await fetchState(ctx.api("master"));
    let rows = allTasks(state).filter((t) => t.task.id === id);
    if (ctx.flags.framework !== undefined) {
      const f = findFramework(state, ctx.flags.framework);
      if (typeof f === "string") throw new CliError(f);
      rows = rows.filter((t) => t.framework.id === f.id);
    }
    const row = pickTask(rows, id);
    const query = new URLSearchParams({ stream: ctx.flags.stderr ? "stderr" : "stdout" });
    if (ctx.flags.tail !== undefined) query.set("tail", String(ctx.flags.tail));
    if (ctx.flags.follow) query.set("follow", "true");
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
    const decoder = new TextDecoder();
    try {
      for await (const chunk of r.body ?? []) ctx.io.out(decoder.decode(chunk, { stream: true }));
    } catch (e) {
      if (!ctx.io.signal.aborted) throw new CliError(`the log stream broke: ${String(e)}`);
    }
  },
};
