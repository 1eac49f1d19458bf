/** `deployments list|watch|cancel` on Marathon's `/v2/deployments`. */
import type { Command, CommandContext } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import {
  AppsSchema,
  DeployedSchema,
  type Deployment,
  fetchDeployments,
  type MarathonApp,
} from "../marathon.ts";
import { table } from "../table.ts";

const BAR = 24;

/** A deployment's progress, 0-1: finished steps plus the current step's share of instances up. */
export function progress(d: Deployment, apps: Map<string, MarathonApp>): number {
  if (d.totalSteps === 0) return 0;
  const current = d.currentActions.map((a) => {
    const app = a.app === undefined ? undefined : apps.get(a.app);
    if (!app) return 0;
    if (a.action === "StopApplication") return 0;
    return app.instances === 0 ? 1 : Math.min(1, app.tasksRunning / app.instances);
  });
  const share = current.length === 0 ? 0 : current.reduce((a, b) => a + b, 0) / current.length;
  return Math.min(1, (Math.max(0, d.currentStep - 1) + share) / d.totalSteps);
}

function line(d: Deployment, apps: Map<string, MarathonApp>): string {
  const p = progress(d, apps);
  const filled = Math.round(p * BAR);
  const actions = d.currentActions.map((a) => {
    const app = a.app === undefined ? undefined : apps.get(a.app);
    const counts = app ? ` ${app.tasksRunning}/${app.instances} running` : "";
    return `${a.action} ${a.app ?? ""}${counts}`;
  }).join(", ");
  return `${d.id.slice(0, 8)} [${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${
    String(Math.round(p * 100)).padStart(3)
  }% step ${d.currentStep}/${d.totalSteps} ${actions}`;
}

/**
 * Polls Marathon until none of `ids` (all deployments when empty) is running, drawing a
 * progress bar each poll (redrawn in place on a terminal, a line per change otherwise).
 */
export async function watchDeployments(
  ctx: CommandContext,
  ids: readonly string[],
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const marathon = ctx.api("marathon");
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const tty = ctx.io.isTerminal();
  const watched = new Set(ids);
  let last = "";
  for (;;) {
    const all = await fetchDeployments(marathon);
    const running = all.filter((d) => watched.size === 0 || watched.has(d.id));
    if (running.length === 0) break;
    if (watched.size === 0) running.forEach((d) => watched.add(d.id));
    const apps = new Map(
      (await marathon.json("/v2/apps", AppsSchema)).apps.map((a) => [a.id, a]),
    );
    const text = running.map((d) => line(d, apps)).join("\n");
    if (tty) {
      const up = last === "" ? "" : `\x1b[${last.split("\n").length - 1}A`.replace("\x1b[0A", "");
      ctx.io.err(`${up}\r\x1b[J${text}`);
    } else if (text !== last) ctx.io.err(`${text}\n`);
    last = text;
    if (Date.now() > deadline) {
      throw new CliError(
        `deployment still running after ${
          Math.round((options.timeoutMs ?? 0) / 1000)
        }s: follow it with \`tender deployments watch\``,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    if (ctx.io.signal.aborted) throw new CliError("interrupted; the deployment goes on");
  }
  if (tty && last !== "") ctx.io.err("\n");
}

const list: Command = {
  name: "deployments list",
  usage: "deployments list",
  summary: "deployments in progress (Marathon)",
  async run(ctx) {
    if (ctx.args.length > 0) throw usageError("`tender deployments list` takes no arguments");
    const marathon = ctx.api("marathon");
    const all = await fetchDeployments(marathon);
    const apps = new Map((await marathon.json("/v2/apps", AppsSchema)).apps.map((a) => [a.id, a]));
    ctx.output(
      () =>
        all.length === 0 ? "No deployments in progress.\n" : table(
          ["id", "apps", "step", "progress", "actions"],
          all.map((d) => [
            d.id,
            d.affectedApps.join(","),
            `${d.currentStep}/${d.totalSteps}`,
            `${Math.round(progress(d, apps) * 100)}%`,
            d.currentActions.map((a) => `${a.action} ${a.app ?? ""}`.trim()).join(", "),
          ]),
        ),
      all.map((d) => ({ ...d, progress: progress(d, apps) })),
    );
  },
};

const watch: Command = {
  name: "deployments watch",
  usage: "deployments watch [ID...] [--timeout S]",
  summary: "a live progress bar until the deployments (all, or these) are done",
  async run(ctx) {
    await watchDeployments(ctx, ctx.args, { timeoutMs: ctx.flags.timeoutMs });
    ctx.output(() => "All deployments done.\n", { done: true });
  },
};

const cancel: Command = {
  name: "deployments cancel",
  usage: "deployments cancel ID [--force]",
  summary: "stop a deployment and roll back (--force: stop without rolling back)",
  async run(ctx) {
    const [id, ...rest] = ctx.args;
    if (id === undefined || rest.length > 0) {
      throw usageError("usage: tender deployments cancel ID");
    }
    const marathon = ctx.api("marathon");
    const path = `/v2/deployments/${encodeURIComponent(id)}${ctx.flags.force ? "?force=true" : ""}`;
    const r = await marathon.raw(path, { method: "DELETE" });
    const text = await r.text();
    if (r.status === 404) {
      throw new CliError(`no deployment "${id}": \`tender deployments list\` shows those running`);
    }
    if (!r.ok) throw marathon.failure(r, path, text);
    const rollback = text ? DeployedSchema.parse(JSON.parse(text)).deploymentId : undefined;
    ctx.output(
      () =>
        rollback
          ? `Canceled ${id}; rolling back in deployment ${rollback}.\n`
          : `Canceled ${id} (no rollback).\n`,
      { canceled: id, rollbackDeploymentId: rollback ?? null },
    );
  },
};

/** The deployment commands. */
export const deploymentCommands: Command[] = [list, watch, cancel];
