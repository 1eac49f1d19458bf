/**
 * `jobs ...`: batch and cron jobs of the jobs framework (Metronome's API) — listed, shown with
 * their schedule and runs, added from a file, run now (and waited for), and their history.
 */
import { z } from "zod";
import type { Command, CommandContext } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import { age, fields, mib, num, table } from "../table.ts";
import { parseAppFile } from "./apps.ts";

const TaskSchema = z.object({
  id: z.string(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  status: z.string(),
});

const RunSchema = z.object({
  id: z.string(),
  jobId: z.string(),
  status: z.string(),
  createdAt: z.string(),
  completedAt: z.string().nullable().default(null),
  tasks: z.array(TaskSchema).default([]),
});
type Run = z.infer<typeof RunSchema>;

const FinishedSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  finishedAt: z.string(),
  tasks: z.array(z.string()).default([]),
});
type Finished = z.infer<typeof FinishedSchema>;

const SummarySchema = z.object({
  successCount: z.number(),
  failureCount: z.number(),
  lastSuccessAt: z.string().nullable(),
  lastFailureAt: z.string().nullable(),
});

const JobSchema = z.object({
  id: z.string(),
  description: z.string().optional(),
  labels: z.record(z.string()).default({}),
  schedules: z.array(z.object({
    id: z.string(),
    cron: z.string(),
    timezone: z.string().default("UTC"),
    concurrencyPolicy: z.string().default("ALLOW"),
    enabled: z.boolean().default(true),
    nextRunAt: z.string().optional(),
  })).default([]),
  run: z.object({
    cmd: z.string().optional(),
    args: z.array(z.string()).optional(),
    docker: z.object({ image: z.string() }).optional(),
    cpus: z.number(),
    mem: z.number(),
    disk: z.number().default(0),
    restart: z.object({
      policy: z.string(),
      activeDeadlineSeconds: z.number().optional(),
    }).default({ policy: "NEVER" }),
  }),
  activeRuns: z.array(RunSchema).default([]),
  historySummary: SummarySchema.optional(),
  history: SummarySchema.extend({
    successfulFinishedRuns: z.array(FinishedSchema).default([]),
    failedFinishedRuns: z.array(FinishedSchema).default([]),
  }).optional(),
});
type Job = z.infer<typeof JobSchema>;

/** Metronome's `2024-03-01T12:00:00.000+0000` as epoch ms. */
function time(text: string): number {
  return Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
}

function ago(text: string | null | undefined): string {
  return text ? `${age((Date.now() - time(text)) / 1000)} ago` : "";
}

function took(from: string, to: string | null | undefined): string {
  return to ? age((time(to) - time(from)) / 1000) : "";
}

function jobArg(ctx: CommandContext, usage: string): string {
  const [id, ...rest] = ctx.args;
  if (id === undefined || rest.length > 0) throw usageError(`usage: tender ${usage}`);
  if (!/^[a-z0-9]+(-+[a-z0-9]+)*(\.[a-z0-9]+(-+[a-z0-9]+)*)*$/.test(id)) {
    throw usageError(
      `"${id}" is not a job id (lowercase names separated by dots, e.g. prod.backup)`,
    );
  }
  return id;
}

function schedule(j: Job): string {
  const s = j.schedules[0];
  if (!s) return "";
  return `${s.cron}${s.timezone === "UTC" ? "" : ` ${s.timezone}`}${s.enabled ? "" : " (off)"}`;
}

const list: Command = {
  name: "jobs list",
  usage: "jobs list",
  summary: "jobs with their schedule, active runs and successes/failures",
  async run(ctx) {
    if (ctx.args.length > 0) throw usageError("`tender jobs list` takes no arguments");
    const jobs = await ctx.api("jobs").json(
      "/v1/jobs?embed=activeRuns&embed=historySummary",
      z.array(JobSchema),
    );
    ctx.output(
      () =>
        jobs.length === 0 ? "No jobs. Add one with `tender jobs add job.json`.\n" : table(
          ["id", "schedule", "next run", "active", "ok", "failed", "last success", "last failure"],
          jobs.map((j) => [
            j.id,
            schedule(j),
            j.schedules[0]?.enabled ? j.schedules[0].nextRunAt ?? "" : "",
            String(j.activeRuns.length),
            String(j.historySummary?.successCount ?? 0),
            String(j.historySummary?.failureCount ?? 0),
            ago(j.historySummary?.lastSuccessAt),
            ago(j.historySummary?.lastFailureAt),
          ]),
        ),
      jobs,
    );
  },
};

const show: Command = {
  name: "jobs show",
  usage: "jobs show JOB",
  summary: "one job: what it runs, its schedule and its active runs",
  async run(ctx) {
    const id = jobArg(ctx, "jobs show JOB");
    const job = await ctx.api("jobs").json(
      `/v1/jobs/${id}?embed=activeRuns&embed=historySummary`,
      JobSchema,
    );
    const r = job.run;
    const s = job.schedules[0];
    const h = job.historySummary;
    ctx.output(
      () =>
        fields([
          ["ID", job.id],
          ...(job.description ? [["Description", job.description] as const] : []),
          ["Run", r.docker?.image ?? r.cmd ?? r.args?.join(" ") ?? ""],
          ["Resources", `cpus ${num(r.cpus)}, mem ${mib(r.mem)}, disk ${mib(r.disk)}`],
          [
            "Restart",
            `${r.restart.policy}${
              r.restart.activeDeadlineSeconds !== undefined
                ? ` for ${r.restart.activeDeadlineSeconds}s`
                : ""
            }`,
          ],
          [
            "Schedule",
            s
              ? `${s.id}: ${s.cron} (${s.timezone}), ${s.concurrencyPolicy}${
                s.enabled ? `, next ${s.nextRunAt ?? "never"}` : ", disabled"
              }`
              : "none",
          ],
          ["Runs", `${h?.successCount ?? 0} succeeded, ${h?.failureCount ?? 0} failed`],
        ]) +
        (job.activeRuns.length === 0 ? "\nNo active runs.\n" : `\n${runTable(job.activeRuns)}`),
      job,
    );
  },
};

function runTable(runs: readonly Run[]): string {
  return table(
    ["run", "status", "created", "tasks", "last task"],
    runs.map((run) => {
      const last = run.tasks.at(-1);
      return [
        run.id,
        run.status,
        ago(run.createdAt),
        String(run.tasks.length),
        last ? `${last.id} ${last.status}` : "",
      ];
    }),
  );
}

const start: Command = {
  name: "jobs run",
  usage: "jobs run JOB [--wait] [--timeout 5m]",
  summary: "start a run of a job now; --wait follows it to SUCCESS or FAILED (exit 1)",
  async run(ctx) {
    const id = jobArg(ctx, "jobs run JOB");
    const jobs = ctx.api("jobs");
    let run = await jobs.json(`/v1/jobs/${id}/runs`, RunSchema, { method: "POST" });
    if (ctx.flags.wait) {
      const deadline = Date.now() + (ctx.flags.timeoutMs ?? 10 * 60_000);
      while (run.status !== "SUCCESS" && run.status !== "FAILED") {
        if (Date.now() > deadline) {
          throw new CliError(`run ${run.id} of ${id} is still ${run.status}: gave up waiting`);
        }
        await new Promise((r) => setTimeout(r, 250));
        if (ctx.io.signal.aborted) throw new CliError("interrupted");
        run = await jobs.json(`/v1/jobs/${id}/runs/${run.id}`, RunSchema);
      }
    }
    ctx.output(
      () =>
        ctx.flags.wait
          ? `Run ${run.id} of ${id}: ${run.status} after ${took(run.createdAt, run.completedAt)}` +
            ` (${run.tasks.length} task${run.tasks.length === 1 ? "" : "s"}).\n`
          : `Run ${run.id} of ${id} started.\n`,
      run,
    );
    if (run.status === "FAILED") throw new CliError(`run ${run.id} of ${id} FAILED`);
  },
};

const history: Command = {
  name: "jobs history",
  usage: "jobs history JOB",
  summary: "a job's finished runs, newest first, and its counts",
  async run(ctx) {
    const id = jobArg(ctx, "jobs history JOB");
    const job = await ctx.api("jobs").json(`/v1/jobs/${id}?embed=history`, JobSchema);
    const h = job.history;
    const runs: (Finished & { status: string })[] = [
      ...(h?.successfulFinishedRuns ?? []).map((r) => ({ ...r, status: "SUCCESS" })),
      ...(h?.failedFinishedRuns ?? []).map((r) => ({ ...r, status: "FAILED" })),
    ].sort((a, b) => time(b.finishedAt) - time(a.finishedAt));
    ctx.output(
      () =>
        `${h?.successCount ?? 0} succeeded (last ${ago(h?.lastSuccessAt) || "never"}), ` +
        `${h?.failureCount ?? 0} failed (last ${ago(h?.lastFailureAt) || "never"}).\n` +
        (runs.length === 0 ? "" : `\n${
          table(
            ["run", "status", "finished", "took", "tasks"],
            runs.map((r) => [
              r.id,
              r.status,
              ago(r.finishedAt),
              took(r.createdAt, r.finishedAt),
              String(r.tasks.length),
            ]),
          )
        }`),
      h ?? null,
    );
  },
};

const add: Command = {
  name: "jobs add",
  usage: "jobs add FILE|-",
  summary: "create or replace a job (Metronome JSON or YAML) and its schedules",
  async run(ctx) {
    const [path, ...rest] = ctx.args;
    if (path === undefined || rest.length > 0) throw usageError("usage: tender jobs add FILE");
    let text: string;
    try {
      text = path === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(path);
    } catch {
      throw new CliError(`cannot read "${path}": give a Metronome job definition in JSON or YAML`);
    }
    const body = parseAppFile(text, path);
    if (typeof body !== "object" || body === null || !("id" in body)) {
      throw new CliError(`${path} holds no job: a job is an object with "id" and "run"`);
    }
    const id = String(body.id);
    const jobs = ctx.api("jobs");
    const json = { "Content-Type": "application/json" };
    const existing = await jobs.raw(`/v1/jobs/${encodeURIComponent(id)}`);
    await existing.body?.cancel();
    const { schedules = [], ...spec } = body as { schedules?: unknown[] };
    let job: Job;
    if (existing.status === 404) {
      job = await jobs.json("/v1/jobs", JobSchema, {
        method: "POST",
        headers: json,
        body: JSON.stringify(body),
      });
    } else {
      // Metronome's PUT keeps the schedules: they are replaced one by one.
      job = await jobs.json(`/v1/jobs/${id}`, JobSchema, {
        method: "PUT",
        headers: json,
        body: JSON.stringify(spec),
      });
      const wanted = schedules.filter((s): s is { id: string } =>
        typeof s === "object" && s !== null && "id" in s && typeof s.id === "string"
      );
      for (const old of job.schedules) {
        if (!wanted.some((s) => s.id === old.id)) {
          const r = await jobs.raw(`/v1/jobs/${id}/schedules/${old.id}`, { method: "DELETE" });
          if (!r.ok) throw jobs.failure(r, `/v1/jobs/${id}/schedules/${old.id}`, await r.text());
          await r.body?.cancel();
        }
      }
      for (const s of wanted) {
        const known = job.schedules.some((o) => o.id === s.id);
        const path = `/v1/jobs/${id}/schedules${known ? `/${s.id}` : ""}`;
        const r = await jobs.raw(path, {
          method: known ? "PUT" : "POST",
          headers: json,
          body: JSON.stringify(s),
        });
        if (!r.ok) throw jobs.failure(r, path, await r.text());
        await r.body?.cancel();
      }
    }
    ctx.output(
      () => `Job ${id} ${existing.status === 404 ? "created" : "updated"}.\n`,
      { id, created: existing.status === 404 },
    );
  },
};

/** The `jobs` commands. */
export const jobCommands: Command[] = [list, show, add, start, history];
