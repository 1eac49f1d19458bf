/** `status`, `agents`, `frameworks` and `tasks`: views of the master's `/master/state`. */
import type { Command, CommandContext } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import {
  allTasks,
  fetchState,
  findAgent,
  findFramework,
  type MasterState,
  portCount,
  scalar,
  type StateAgent,
  type TaskRow,
} from "../master_state.ts";
import { AppsSchema } from "../marathon.ts";
import { age, fields, mib, num, table } from "../table.ts";
import { isTerminalState, TaskStateSchema } from "../../protocol/mod.ts";

/** Whether a state read loosely from /master/state is one a task never leaves. */
function isTerminal(state: string): boolean {
  const parsed = TaskStateSchema.safeParse(state);
  return parsed.success && isTerminalState(parsed.data);
}

const used = (u: number, t: number, f: (n: number) => string) => `${f(u)}/${f(t)}`;

/** active | inactive (disconnected), or the maintenance state: draining, drained, deactivated. */
function agentState(a: StateAgent): string {
  if (a.drain_info) return a.drain_info.state.toLowerCase();
  if (a.deactivated) return "deactivated";
  return a.active ? "active" : "inactive";
}

function agentJson(a: StateAgent, state: MasterState) {
  return {
    id: a.id,
    hostname: a.hostname,
    port: a.port,
    state: agentState(a),
    attributes: a.attributes,
    resources: a.resources,
    used_resources: a.used_resources,
    offered_resources: a.offered_resources,
    tasks: allTasks(state).filter((t) => !t.completed && t.task.slave_id === a.id).length,
  };
}

function taskJson(t: TaskRow) {
  return {
    id: t.task.id,
    name: t.task.name,
    state: t.task.state,
    framework_id: t.framework.id,
    framework: t.framework.name,
    agent_id: t.task.slave_id,
    agent: t.agent ? `${t.agent.hostname}:${t.agent.port}` : null,
    resources: t.task.resources,
    healthy: t.task.statuses.at(-1)?.healthy ?? null,
    updated: t.task.statuses.at(-1)?.timestamp ?? null,
    completed: t.completed,
  };
}

function taskTable(rows: TaskRow[]): string {
  return table(
    ["id", "framework", "agent", "state", "health", "cpus", "mem", "age"],
    rows.map((t) => {
      const healthy = t.task.statuses.at(-1)?.healthy;
      const first = t.task.statuses[0]?.timestamp;
      return [
        t.task.id,
        t.framework.name,
        t.agent?.hostname ?? t.task.slave_id,
        t.task.state,
        healthy === undefined ? "" : healthy ? "healthy" : "unhealthy",
        num(scalar(t.task.resources, "cpus")),
        mib(scalar(t.task.resources, "mem")),
        first === undefined ? "" : age(Date.now() / 1000 - first),
      ];
    }),
  );
}

async function state(ctx: CommandContext): Promise<MasterState> {
  return await fetchState(ctx.api("master"));
}

function noArgs(ctx: CommandContext, name: string): void {
  if (ctx.args.length > 0) throw usageError(`\`tender ${name}\` takes no arguments`);
}

/** App counts from Marathon when a framework named "marathon" is registered; else null. */
type AppCounts = { total: number; running: number; deploying: number; waiting: number };

async function appCounts(
  ctx: CommandContext,
  s: MasterState,
): Promise<AppCounts | { error: string } | null> {
  if (!s.frameworks.some((f) => f.name === "marathon")) return null;
  const marathon = ctx.api("marathon");
  try {
    const { apps } = await marathon.json("/v2/apps", AppsSchema);
    return {
      total: apps.length,
      running: apps.filter((a) => a.deployments.length === 0 && a.tasksRunning >= a.instances)
        .length,
      deploying: apps.filter((a) => a.deployments.length > 0).length,
      waiting: apps.filter((a) => a.deployments.length === 0 && a.tasksRunning < a.instances)
        .length,
    };
  } catch {
    return {
      error:
        `Marathon is registered but does not answer at ${marathon.base}: set --marathon or TENDER_MARATHON`,
    };
  }
}

const status: Command = {
  name: "status",
  usage: "status",
  summary: "the cluster at a glance: master, agents, frameworks, tasks, capacity",
  async run(ctx) {
    noArgs(ctx, "status");
    const master = ctx.api("master");
    const s = await state(ctx);
    const active = s.slaves.filter((a) => a.active);
    const sum = (key: "resources" | "used_resources", name: string) =>
      active.reduce((n, a) => n + scalar(a[key], name), 0);
    const tasks = allTasks(s).filter((t) => !t.completed);
    const apps = await appCounts(ctx, s);
    const byState: Record<string, number> = {};
    for (const t of tasks) byState[t.task.state] = (byState[t.task.state] ?? 0) + 1;
    const appsLine: [string, string][] = apps === null ? [] : [[
      "Apps",
      "error" in apps
        ? apps.error
        : `${apps.total} (${apps.running} running, ${apps.deploying} deploying, ${apps.waiting} waiting)`,
    ]];
    const data = {
      master: { url: master.base, id: s.id, version: s.version, start_time: s.start_time ?? null },
      agents: {
        active: s.activated_slaves,
        inactive: s.deactivated_slaves,
        unreachable: s.unreachable_slaves,
      },
      frameworks: {
        active: s.frameworks.filter((f) => f.active).length,
        inactive: s.frameworks.filter((f) => !f.active).length,
      },
      tasks: byState,
      apps,
      capacity: Object.fromEntries(
        ["cpus", "mem", "disk"].map((n) => [n, {
          used: sum("used_resources", n),
          total: sum("resources", n),
        }]),
      ),
    };
    ctx.output(
      () =>
        fields([
          ["Master", `${master.base} (id ${s.id}, version ${s.version})`],
          ["Up", s.start_time === undefined ? "?" : age(Date.now() / 1000 - s.start_time)],
          [
            "Agents",
            `${data.agents.active} active, ${data.agents.inactive} inactive, ${data.agents.unreachable} unreachable`,
          ],
          [
            "Frameworks",
            `${data.frameworks.active} active, ${data.frameworks.inactive} inactive`,
          ],
          [
            "Tasks",
            tasks.length === 0
              ? "none"
              : Object.entries(byState).map(([k, v]) => `${v} ${k}`).join(", "),
          ],
          ...appsLine,
          ["CPUs", used(data.capacity.cpus!.used, data.capacity.cpus!.total, num)],
          ["Memory", used(data.capacity.mem!.used, data.capacity.mem!.total, mib)],
          ["Disk", used(data.capacity.disk!.used, data.capacity.disk!.total, mib)],
        ]),
      data,
    );
  },
};

const agentsList: Command = {
  name: "agents list",
  usage: "agents list",
  summary: "agents with their state, resources in use and task counts",
  async run(ctx) {
    noArgs(ctx, "agents list");
    const s = await state(ctx);
    const rows = s.slaves.map((a) => agentJson(a, s));
    ctx.output(
      () =>
        table(
          ["id", "hostname", "state", "tasks", "cpus", "mem", "disk", "ports"],
          s.slaves.map((a, i) => [
            a.id,
            `${a.hostname}:${a.port}`,
            agentState(a),
            String(rows[i]!.tasks),
            used(scalar(a.used_resources, "cpus"), scalar(a.resources, "cpus"), num),
            used(scalar(a.used_resources, "mem"), scalar(a.resources, "mem"), mib),
            used(scalar(a.used_resources, "disk"), scalar(a.resources, "disk"), mib),
            used(portCount(a.used_resources), portCount(a.resources), String),
          ]),
        ),
      rows,
    );
  },
};

function oneAgent(ctx: CommandContext, s: MasterState, name: string): StateAgent {
  const key = ctx.args[0];
  if (key === undefined || ctx.args.length > 1) {
    throw usageError(`usage: tender ${name} AGENT (an id, id prefix or hostname)`);
  }
  const found = findAgent(s, key);
  if (typeof found === "string") throw new CliError(found);
  return found;
}

const agentsShow: Command = {
  name: "agents show",
  usage: "agents show AGENT",
  summary: "one agent: address, attributes, resources, its tasks",
  async run(ctx) {
    const s = await state(ctx);
    const a = oneAgent(ctx, s, "agents show");
    const tasks = allTasks(s).filter((t) => !t.completed && t.task.slave_id === a.id);
    const res = (r: Record<string, number | string>) =>
      `cpus ${num(scalar(r, "cpus"))}, mem ${mib(scalar(r, "mem"))}, disk ${
        mib(scalar(r, "disk"))
      }, ports ${r.ports ?? "[]"}`;
    ctx.output(
      () =>
        fields([
          ["ID", a.id],
          ["Address", `http://${a.hostname}:${a.port}`],
          ["State", agentState(a)],
          [
            "Registered",
            a.registered_time === undefined
              ? "?"
              : `${age(Date.now() / 1000 - a.registered_time)} ago`,
          ],
          [
            "Attributes",
            Object.entries(a.attributes).map(([k, v]) => `${k}:${String(v)}`).join(";") || "none",
          ],
          ["Total", res(a.resources)],
          ["Used", res(a.used_resources)],
          ["Offered", res(a.offered_resources)],
        ]) + (tasks.length > 0 ? `\n${taskTable(tasks)}` : "\nNo tasks.\n"),
      { ...agentJson(a, s), task_list: tasks.map(taskJson) },
    );
  },
};

function operatorCall(name: string, type: "DRAIN_AGENT" | "REACTIVATE_AGENT"): Command {
  const drain = type === "DRAIN_AGENT";
  return {
    name,
    usage: drain ? `${name} AGENT [--timeout GRACE]` : `${name} AGENT`,
    summary: drain
      ? "maintenance: no new offers from the agent; its tasks are moved off by their frameworks"
      : "end maintenance: the agent's resources are offered again",
    async run(ctx) {
      const s = await state(ctx);
      const a = oneAgent(ctx, s, name);
      const master = ctx.api("master");
      const grace = ctx.flags.timeoutMs === undefined
        ? {}
        : { max_grace_period: { nanoseconds: Math.round(ctx.flags.timeoutMs * 1e6) } };
      const call = drain
        ? { type, drain_agent: { agent_id: { value: a.id }, ...grace } }
        : { type, reactivate_agent: { agent_id: { value: a.id } } };
      const r = await master.raw("/api/v1", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(call),
      });
      const text = await r.text();
      if (r.status === 400 && /Unsupported operator call type/.test(text)) {
        throw new CliError(
          `the master at ${master.base} does not support ${type} yet: upgrade the master`,
        );
      }
      if (!r.ok) throw master.failure(r, "/api/v1", text);
      ctx.output(
        () => `Agent ${a.id} (${a.hostname}) ${drain ? "is draining" : "is active again"}.\n`,
        { agent_id: a.id, call: type, ok: true },
      );
    },
  };
}

const frameworksList: Command = {
  name: "frameworks list",
  usage: "frameworks list",
  summary: "frameworks with their roles, tasks, resources and DRF shares",
  async run(ctx) {
    noArgs(ctx, "frameworks list");
    const s = await state(ctx);
    const rows = s.frameworks.map((f) => ({
      id: f.id,
      name: f.name,
      roles: f.roles ?? (f.role ? [f.role] : []),
      active: f.active,
      tasks: f.tasks.length + f.unreachable_tasks.length,
      used_resources: f.used_resources,
      offered_resources: f.offered_resources,
      dominant_share: f.dominant_share ?? null,
    }));
    ctx.output(
      () =>
        table(
          ["id", "name", "role", "active", "tasks", "cpus", "mem", "share"],
          rows.map((f) => [
            f.id,
            f.name,
            f.roles.join(","),
            f.active ? "yes" : "no",
            String(f.tasks),
            num(scalar(f.used_resources, "cpus")),
            mib(scalar(f.used_resources, "mem")),
            f.dominant_share === null ? "" : `${num(f.dominant_share * 100, 1)}%`,
          ]),
        ),
      rows,
    );
  },
};

const tasksList: Command = {
  name: "tasks list",
  usage: "tasks list [--framework F] [--agent A] [--state S] [--all]",
  summary: "tasks (live ones; --all adds completed), filtered by framework, agent or state",
  async run(ctx) {
    noArgs(ctx, "tasks list");
    const s = await state(ctx);
    let rows = allTasks(s).filter((t) => ctx.flags.all || !t.completed);
    if (ctx.flags.framework !== undefined) {
      const f = findFramework(s, ctx.flags.framework);
      if (typeof f === "string") throw new CliError(f);
      rows = rows.filter((t) => t.framework.id === f.id);
    }
    if (ctx.flags.agent !== undefined) {
      const a = findAgent(s, ctx.flags.agent);
      if (typeof a === "string") throw new CliError(a);
      rows = rows.filter((t) => t.task.slave_id === a.id);
    }
    const wanted = ctx.flags.state?.toUpperCase();
    if (wanted !== undefined) {
      const full = wanted.startsWith("TASK_") ? wanted : `TASK_${wanted}`;
      rows = rows.filter((t) =>
        full === "TASK_TERMINAL" ? isTerminal(t.task.state) : t.task.state === full
      );
    }
    ctx.output(() => rows.length === 0 ? "No tasks.\n" : taskTable(rows), rows.map(taskJson));
  },
};

/** The commands that read the master's state. */
export const clusterCommands: Command[] = [
  status,
  agentsList,
  agentsShow,
  operatorCall("agents drain", "DRAIN_AGENT"),
  operatorCall("agents reactivate", "REACTIVATE_AGENT"),
  frameworksList,
  tasksList,
];
