/**
 * Metronome's job and schedule definitions: the zod schemas of the v1 JSON (as its JSON schema:
 * unknown keys refused), Metronome's defaults, its model rules, and Tender's own rule that a
 * field it cannot honour is refused by name rather than accepted and ignored.
 */
import { z } from "zod";
import { CronSchedule } from "./cron.ts";
import { Violations } from "./violations.ts";
import { isUserName, NOT_A_USER_NAME } from "../../../base/mod.ts";
import { parseDockerParameters } from "../../../protocol/mod.ts";

/** Job ids: dot-separated names of lowercase letters, digits and inner dashes. */
export const JOB_ID = /^([a-z0-9]+(-+[a-z0-9]+)*)(\.([a-z0-9]+(-+[a-z0-9]+)*))*$/;
/** Ids of schedules posted on their own (`/v1/jobs/{id}/schedules`). */
export const SCHEDULE_ID = /^([a-z0-9][a-z0-9-]*[a-z0-9]+)$/;

const IdSchema = z.string().min(1).regex(JOB_ID, "must match " + JOB_ID.source);

/** A schedule as posted (extra keys such as `nextRunAt` from a GET are dropped). */
export const ScheduleInputSchema = z.object({
  id: z.string().min(1),
  cron: z.string(),
  timezone: z.string().optional(),
  startingDeadlineSeconds: z.number().int().min(1).optional(),
  concurrencyPolicy: z.enum(["ALLOW", "FORBID"]).optional(),
  enabled: z.boolean().optional(),
});

const ConstraintSchema = z.object({
  attribute: z.string(),
  operator: z.enum(["IS", "EQ", "LIKE", "UNLIKE"]),
  value: z.string().optional(),
}).strict();

const RunInputSchema = z.object({
  args: z.array(z.string()).optional(),
  artifacts: z.array(
    z.object({
      uri: z.string(),
      executable: z.boolean().optional(),
      extract: z.boolean().optional(),
      cache: z.boolean().optional(),
    }).strict(),
  ).optional(),
  cmd: z.string().min(1).optional(),
  cpus: z.number().min(0.01),
  gpus: z.number().int().min(0).optional(),
  disk: z.number().min(0),
  networks: z.array(
    z.object({
      name: z.string().optional(),
      mode: z.enum(["host", "container/bridge", "container"]),
      labels: z.record(z.string()).optional(),
    }).strict(),
  ).optional(),
  ucr: z.object({
    image: z.object({
      id: z.string(),
      kind: z.enum(["docker", "appc"]).optional(),
      forcePull: z.boolean().optional(),
    }).strict(),
    privileged: z.boolean().optional(),
  }).strict().optional(),
  docker: z.object({
    image: z.string(),
    forcePullImage: z.boolean().optional(),
    privileged: z.boolean().optional(),
    parameters: z.array(z.object({ key: z.string(), value: z.string() }).strict()).optional(),
  }).strict().optional(),
  env: z.record(z.union([z.string(), z.object({ secret: z.string() })])).optional(),
  maxLaunchDelay: z.number().int().min(1).optional(),
  mem: z.number().min(32),
  placement: z.object({ constraints: z.array(ConstraintSchema).optional() }).strict().optional(),
  user: z.string().optional(),
  taskKillGracePeriodSeconds: z.number().min(0).optional(),
  restart: z.object({
    policy: z.enum(["NEVER", "ON_FAILURE"]),
    activeDeadlineSeconds: z.number().int().min(0).optional(),
  }).strict().optional(),
  volumes: z.array(
    z.object({
      containerPath: z.string().min(1),
      hostPath: z.string().min(1).optional(),
      mode: z.enum(["RO", "RW"]).optional(),
      secret: z.string().min(1).optional(),
    }).strict(),
  ).optional(),
  secrets: z.record(z.object({ source: z.string().optional() })).optional(),
}).strict();

/** A job as posted to `/v1/jobs` (Metronome's JSON schema: unknown keys refused). */
export const JobInputSchema = z.object({
  id: IdSchema,
  description: z.string().optional(),
  dependencies: z.array(z.object({ id: IdSchema })).optional(),
  labels: z.record(z.string()).optional(),
  schedules: z.array(ScheduleInputSchema.passthrough()).optional(),
  run: RunInputSchema,
}).strict();

/** A placement constraint, `EQ` stored as `IS` (Metronome maps it so). */
export interface Constraint {
  attribute: string;
  operator: "IS" | "LIKE" | "UNLIKE";
  value: string;
}

/** A schedule with Metronome's defaults filled in. */
export interface Schedule {
  id: string;
  cron: string;
  timezone: string;
  startingDeadlineSeconds: number;
  concurrencyPolicy: "ALLOW" | "FORBID";
  enabled: boolean;
}

/** What one run of a job executes, with Metronome's defaults filled in. */
export interface RunSpec {
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  cmd?: string;
  args?: string[];
  /** The Unix user the run's task runs as (its CommandInfo.user); else the framework's. */
  user?: string;
  env: Record<string, string>;
  placement: { constraints: Constraint[] };
  /** Fetched into the run's sandbox by the agent (its CommandInfo.uris). */
  artifacts: { uri: string; executable: boolean; extract: boolean; cache: boolean }[];
  maxLaunchDelay: number;
  docker?: {
    image: string;
    forcePullImage: boolean;
    privileged: boolean;
    /** `docker run` options the agents map (protocol/docker_parameters.ts). */
    parameters: { key: string; value: string }[];
  };
  volumes: { containerPath: string; hostPath: string; mode: "RO" | "RW" }[];
  restart: { policy: "NEVER" | "ON_FAILURE"; activeDeadlineSeconds?: number };
  taskKillGracePeriodSeconds?: number;
  secrets: Record<string, never>;
  networks: { mode: "host" | "container/bridge" }[];
}

/** A job: its id, metadata, at most one schedule and its run spec. */
export interface Job {
  id: string;
  description?: string;
  labels: Record<string, string>;
  schedules: Schedule[];
  run: RunSpec;
}

/** Metronome's defaults. */
export const DEFAULTS = {
  gpus: 0,
  maxLaunchDelay: 3600,
  timezone: "UTC",
  startingDeadlineSeconds: 900,
  concurrencyPolicy: "ALLOW",
} as const;

/** Metronome's model rule: a schedule's starting deadline is at least a minute. */
export const MIN_STARTING_DEADLINE_SECONDS = 60;

/**
 * Parses and checks a job body: the job with defaults filled in, or a 422 `Object is not valid`
 * naming every path at fault.
 */
export function parseJob(input: unknown): Job {
  const v = new Violations();
  const parsed = JobInputSchema.safeParse(input);
  if (!parsed.success) {
    v.addIssues(parsed.error.issues);
    v.throwIfAny();
  }
  const body = parsed.data!;
  const schedules: Schedule[] = [];
  (body.schedules ?? []).forEach((s, i) => {
    const schedule = checkSchedule(s, v, ["schedules", i], JOB_ID);
    if (schedule) schedules.push(schedule);
  });
  if (schedules.length > 1) {
    v.add(["schedules"], "Only one schedule supported at the moment");
  }
  if ((body.dependencies ?? []).length > 0) {
    v.add(
      ["dependencies"],
      unsupported("dependencies", "it starts jobs only by schedule or request"),
    );
  }
  const run = checkRun(body.run, v);
  v.throwIfAny();
  return {
    id: body.id,
    ...(body.description !== undefined ? { description: body.description } : {}),
    labels: body.labels ?? {},
    schedules,
    run: run!,
  };
}

/** Parses and checks a schedule posted on its own; `id` overrides the body's (PUT). */
export function parseSchedule(input: unknown, id?: string): Schedule {
  const v = new Violations();
  const withId = id !== undefined && typeof input === "object" && input !== null
    ? { ...input, id }
    : input;
  const parsed = ScheduleInputSchema.passthrough().safeParse(withId);
  if (!parsed.success) {
    v.addIssues(parsed.error.issues);
    v.throwIfAny();
  }
  const schedule = checkSchedule(parsed.data!, v, [], SCHEDULE_ID);
  v.throwIfAny();
  return schedule!;
}

function checkSchedule(
  s: z.infer<typeof ScheduleInputSchema>,
  v: Violations,
  at: (string | number)[],
  idPattern: RegExp,
): Schedule | undefined {
  if (!idPattern.test(s.id)) v.add([...at, "id"], `must match ${idPattern.source}`);
  const timezone = s.timezone ?? DEFAULTS.timezone;
  const cron = CronSchedule.parse(s.cron, timezone);
  if (!cron.ok) v.add([...at, cron.field], cron.reason);
  const deadline = s.startingDeadlineSeconds ?? DEFAULTS.startingDeadlineSeconds;
  if (deadline < MIN_STARTING_DEADLINE_SECONDS) {
    v.add(
      [...at, "startingDeadlineSeconds"],
      `got ${deadline} seconds, expected ${MIN_STARTING_DEADLINE_SECONDS} seconds or more`,
    );
  }
  if (!cron.ok || deadline < MIN_STARTING_DEADLINE_SECONDS || !idPattern.test(s.id)) return;
  return {
    id: s.id,
    cron: s.cron,
    timezone,
    startingDeadlineSeconds: deadline,
    concurrencyPolicy: s.concurrencyPolicy ?? DEFAULTS.concurrencyPolicy,
    enabled: s.enabled ?? true,
  };
}

function unsupported(field: string, why: string): string {
  return `Tender cannot honour ${field}: ${why}`;
}

function checkRun(run: z.infer<typeof RunInputSchema>, v: Violations): RunSpec | undefined {
  const at = (...p: (string | number)[]) => ["run", ...p];
  const before = v.list().length;
  if (run.cmd !== undefined && run.args !== undefined) {
    v.add(at(), "It is invalid to supply both cmd and args in the same job");
  }
  if (run.cmd === undefined && run.docker === undefined && run.ucr === undefined) {
    v.add(at(), "Cmd, Docker or UCR image must be specified");
  }
  if (run.docker && run.ucr) v.add(at(), "Either Docker or UCR should be provided, but not both");
  if ((run.gpus ?? 0) > 0) {
    v.add(at("gpus"), unsupported("gpus", "its agents offer no GPUs to frameworks"));
  }
  if (run.ucr) {
    v.add(at("ucr"), unsupported("ucr", "it has no Mesos containerizer; use docker.image"));
  }
  if (run.user !== undefined && !isUserName(run.user)) v.add(at("user"), NOT_A_USER_NAME);
  (run.artifacts ?? []).forEach((a, i) => {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(a.uri)?.[1]?.toLowerCase();
    if (!a.uri.startsWith("/") && !["http", "https", "file"].includes(scheme ?? "")) {
      v.add(
        at("artifacts", i, "uri"),
        unsupported(
          scheme ? `${scheme}: artifacts` : "relative artifact paths",
          "its agents fetch http, https and file URIs and absolute paths",
        ),
      );
    }
  });
  (run.docker?.parameters ?? []).forEach((parameter, i) => {
    const parsed = parseDockerParameters([parameter]);
    if (parsed.ok) return;
    const { field, reason } = parsed.refusal;
    v.add(
      at("docker", "parameters", i, field),
      field === "key" ? `${JSON.stringify(parameter.key)} ${reason}` : `bad value ${reason}`,
    );
  });
  if (Object.keys(run.secrets ?? {}).length > 0) {
    v.add(at("secrets"), unsupported("secrets", "it has no secret store"));
  }
  for (const [name, value] of Object.entries(run.env ?? {})) {
    if (typeof value !== "string") {
      v.add(at("env", name), unsupported("secret environment variables", "it has no secret store"));
    }
  }
  (run.volumes ?? []).forEach((vol, i) => {
    if (vol.secret !== undefined || vol.hostPath === undefined) {
      v.add(at("volumes", i), unsupported("secret volumes", "it has no secret store"));
    } else if (!run.docker) {
      v.add(
        at("volumes", i),
        unsupported("volumes without docker.image", "processes are not isolated"),
      );
    }
  });
  const networks = run.networks ?? [];
  if (networks.length > 1) {
    v.add(at("networks"), "Only one host or container/bridge network modes are allowed");
  }
  networks.forEach((n, i) => {
    if (n.mode === "container") {
      v.add(at("networks", i, "mode"), unsupported("container networks", "it has no CNI networks"));
    } else if (n.mode === "container/bridge" && !run.docker) {
      v.add(at("networks", i, "mode"), "Only containers may join container or bridge networks");
    }
  });
  const constraints: Constraint[] = [];
  (run.placement?.constraints ?? []).forEach((c, i) => {
    if (c.value === undefined) {
      v.add(
        at("placement", "constraints", i, "value"),
        unsupported("a constraint without a value", "it would have no effect"),
      );
      return;
    }
    if (c.operator !== "IS" && c.operator !== "EQ") {
      try {
        new RegExp(`^(?:${c.value})$`);
      } catch {
        v.add(
          at("placement", "constraints", i, "value"),
          `"${c.value}" is not a valid regular expression`,
        );
        return;
      }
    }
    constraints.push({
      attribute: c.attribute,
      operator: c.operator === "EQ" ? "IS" : c.operator,
      value: c.value,
    });
  });
  if (v.list().length > before) return;
  return {
    cpus: run.cpus,
    mem: run.mem,
    disk: run.disk,
    gpus: run.gpus ?? DEFAULTS.gpus,
    ...(run.cmd !== undefined ? { cmd: run.cmd } : {}),
    ...(run.args !== undefined ? { args: run.args } : {}),
    ...(run.user !== undefined ? { user: run.user } : {}),
    env: Object.fromEntries(
      Object.entries(run.env ?? {}).flatMap(([k, x]) => typeof x === "string" ? [[k, x]] : []),
    ),
    placement: { constraints },
    artifacts: (run.artifacts ?? []).map((a) => ({
      uri: a.uri,
      executable: a.executable ?? false,
      extract: a.extract ?? true,
      cache: a.cache ?? false,
    })),
    maxLaunchDelay: run.maxLaunchDelay ?? DEFAULTS.maxLaunchDelay,
    ...(run.docker
      ? {
        docker: {
          image: run.docker.image,
          forcePullImage: run.docker.forcePullImage ?? false,
          privileged: run.docker.privileged ?? false,
          parameters: run.docker.parameters ?? [],
        },
      }
      : {}),
    volumes: (run.volumes ?? []).flatMap((vol) =>
      vol.hostPath === undefined
        ? []
        : [{ containerPath: vol.containerPath, hostPath: vol.hostPath, mode: vol.mode ?? "RW" }]
    ),
    restart: {
      policy: run.restart?.policy ?? "NEVER",
      ...(run.restart?.activeDeadlineSeconds !== undefined
        ? { activeDeadlineSeconds: run.restart.activeDeadlineSeconds }
        : {}),
    },
    ...(run.taskKillGracePeriodSeconds !== undefined
      ? { taskKillGracePeriodSeconds: run.taskKillGracePeriodSeconds }
      : {}),
    secrets: {},
    networks: networks.flatMap((n) => n.mode === "container" ? [] : [{ mode: n.mode }]),
  };
}
