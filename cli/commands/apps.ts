/** `apps ...`: Marathon apps from a JSON or YAML file, listed, shown, scaled, restarted, removed. */
import { parse as parseYaml } from "yaml";
import type { Command, CommandContext } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import {
  appId,
  AppOneSchema,
  appPath,
  AppsSchema,
  DeployedSchema,
  type MarathonApp,
} from "../marathon.ts";
import { age, fields, mib, num, table } from "../table.ts";
import { watchDeployments } from "./deployments.ts";

function health(a: MarathonApp): string {
  if (a.healthChecks.length === 0) return "";
  return `${a.tasksHealthy}/${a.instances}`;
}

function status(a: MarathonApp): string {
  if (a.deployments.length > 0) return "deploying";
  if (a.instances === 0) return "suspended";
  if (a.tasksRunning < a.instances) return "waiting";
  if (a.healthChecks.length > 0 && a.tasksHealthy < a.instances) return "unhealthy";
  return "running";
}

function appJson(a: MarathonApp) {
  return {
    id: a.id,
    status: status(a),
    instances: a.instances,
    running: a.tasksRunning,
    staged: a.tasksStaged,
    healthy: a.healthChecks.length === 0 ? null : a.tasksHealthy,
    cpus: a.cpus,
    mem: a.mem,
    version: a.version ?? null,
    deployments: a.deployments.map((d) => d.id),
    image: a.container?.docker?.image ?? null,
    cmd: a.cmd ?? null,
  };
}

/** After a change: the deployment's id, and with `--wait` a watch until it is done. */
async function deployed(
  ctx: CommandContext,
  what: string,
  r: { deploymentId?: string; version?: string },
): Promise<void> {
  if (ctx.flags.wait && r.deploymentId) {
    await watchDeployments(ctx, [r.deploymentId], { timeoutMs: ctx.flags.timeoutMs });
  }
  ctx.output(
    () =>
      `${what}${r.deploymentId ? `; deployment ${r.deploymentId}` : ""}${
        ctx.flags.wait && r.deploymentId ? " done" : ""
      }.\n`,
    { ...r, done: ctx.flags.wait },
  );
}

function oneArg(ctx: CommandContext, usage: string): string {
  const [id, ...rest] = ctx.args;
  if (id === undefined || rest.length > 0) throw usageError(`usage: tender ${usage}`);
  return appId(id);
}

function forceQuery(ctx: CommandContext, extra = ""): string {
  const q = [ctx.flags.force ? "force=true" : "", extra].filter(Boolean).join("&");
  return q ? `?${q}` : "";
}

/** Parses an app file: JSON, or YAML by extension or when JSON fails. */
export function parseAppFile(text: string, path: string): unknown {
  if (!/\.ya?ml$/i.test(path)) {
    try {
      return JSON.parse(text);
    } catch (e) {
      if (/\.json$/i.test(path)) {
        throw new CliError(`${path} is not valid JSON: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
  try {
    return parseYaml(text);
  } catch (e) {
    throw new CliError(`${path} is neither JSON nor YAML: ${e instanceof Error ? e.message : e}`);
  }
}

const list: Command = {
  name: "apps list",
  usage: "apps list",
  summary: "Marathon apps with instances, health and deployments",
  async run(ctx) {
    if (ctx.args.length > 0) throw usageError("`tender apps list` takes no arguments");
    const { apps } = await ctx.api("marathon").json("/v2/apps", AppsSchema);
    ctx.output(
      () =>
        apps.length === 0 ? "No apps. Add one with `tender apps add app.json`.\n" : table(
          ["id", "status", "running", "healthy", "cpus", "mem", "deployments"],
          apps.map((a) => [
            a.id,
            status(a),
            `${a.tasksRunning}/${a.instances}`,
            health(a),
            num(a.cpus),
            mib(a.mem),
            a.deployments.map((d) => d.id.slice(0, 8)).join(","),
          ]),
        ),
      apps.map(appJson),
    );
  },
};

const show: Command = {
  name: "apps show",
  usage: "apps show APP",
  summary: "one app: its definition's essentials and its tasks",
  async run(ctx) {
    const id = oneArg(ctx, "apps show APP");
    const { app } = await ctx.api("marathon").json(appPath(id), AppOneSchema);
    const tasks = app.tasks ?? [];
    ctx.output(
      () =>
        fields([
          ["ID", app.id],
          ["Status", status(app)],
          ["Run", app.container?.docker?.image ?? app.cmd ?? ""],
          ["Instances", `${app.tasksRunning} running of ${app.instances}`],
          ["Health", health(app) || "no health checks"],
          ["Resources", `cpus ${num(app.cpus)}, mem ${mib(app.mem)} each`],
          ["Version", app.version ?? "?"],
          ["Deployments", app.deployments.map((d) => d.id).join(", ") || "none"],
        ]) + (tasks.length === 0 ? "\nNo tasks.\n" : `\n${
          table(
            ["task", "host", "ports", "state", "health", "age"],
            tasks.map((t) => [
              t.id,
              t.host,
              t.ports.join(","),
              t.state ?? "",
              t.healthCheckResults.length === 0
                ? ""
                : t.healthCheckResults.every((h) => h.alive)
                ? "healthy"
                : "unhealthy",
              t.startedAt ? age((Date.now() - Date.parse(t.startedAt)) / 1000) : "",
            ]),
          )
        }`),
      { ...appJson(app), tasks },
    );
  },
};

const add: Command = {
  name: "apps add",
  usage: "apps add FILE|- [--wait] [--force]",
  summary: "create or replace apps from a Marathon JSON or YAML file (- reads stdin)",
  async run(ctx) {
    const [path, ...rest] = ctx.args;
    if (path === undefined || rest.length > 0) throw usageError("usage: tender apps add FILE");
    let text: string;
    try {
      text = path === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(path);
    } catch {
      throw new CliError(`cannot read "${path}": give a Marathon app definition in JSON or YAML`);
    }
    const body = parseAppFile(text, path);
    const list = Array.isArray(body)
      ? body
      : typeof body === "object" && body !== null && "apps" in body && Array.isArray(body.apps)
      ? body.apps
      : [body];
    const marathon = ctx.api("marathon");
    const first = list[0];
    const single = list.length === 1 && typeof first === "object" && first !== null &&
      "id" in first && typeof first.id === "string";
    const path2 = single ? appPath(String(first.id)) : "/v2/apps";
    const r = await marathon.json(
      `${path2}${forceQuery(ctx, "partialUpdate=false")}`,
      DeployedSchema,
      {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(single ? first : list),
      },
    );
    await deployed(
      ctx,
      single ? `App ${appId(String(first.id))} submitted` : `${list.length} apps submitted`,
      r,
    );
  },
};

const scale: Command = {
  name: "apps scale",
  usage: "apps scale APP N [--wait]",
  summary: "set the number of instances",
  async run(ctx) {
    const [id, n, ...rest] = ctx.args;
    const count = Number(n);
    if (id === undefined || rest.length > 0 || !Number.isInteger(count) || count < 0) {
      throw usageError("usage: tender apps scale APP N (N a whole number, 0 suspends)");
    }
    const r = await ctx.api("marathon").json(`${appPath(id)}${forceQuery(ctx)}`, DeployedSchema, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ instances: count }),
    });
    await deployed(ctx, `App ${appId(id)} scaled to ${count}`, r);
  },
};

const restart: Command = {
  name: "apps restart",
  usage: "apps restart APP [--wait]",
  summary: "replace every instance, under the app's upgrade strategy",
  async run(ctx) {
    const id = oneArg(ctx, "apps restart APP");
    const r = await ctx.api("marathon").json(
      `${appPath(id)}/restart${forceQuery(ctx)}`,
      DeployedSchema,
      { method: "POST" },
    );
    await deployed(ctx, `App ${id} restarting`, r);
  },
};

const remove: Command = {
  name: "apps remove",
  usage: "apps remove APP [--wait]",
  summary: "stop every instance and delete the app",
  async run(ctx) {
    const id = oneArg(ctx, "apps remove APP");
    const r = await ctx.api("marathon").json(`${appPath(id)}${forceQuery(ctx)}`, DeployedSchema, {
      method: "DELETE",
    });
    await deployed(ctx, `App ${id} removed`, r);
  },
};

/** The app commands. */
export const appCommands: Command[] = [list, show, add, scale, restart, remove];
