/**
 * The jobs framework's pure core: its books (jobs, active runs, histories, the last schedule
 * tick handled) and every operation on them. An operation appends the records to persist to
 * `changes`, the driver calls to make to `commands` and what happened to `events`; the shell
 * (`runtime.ts`) commits the changes before it sends a command or answers a request. A schedule
 * tick is committed with the run it starts, so a restart never starts a tick twice.
 */
import { OfferPicker } from "../../../mod.ts";
import type { Clock, Ids } from "../../../base/mod.ts";
import {
  isTerminalState,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from "../../../protocol/mod.ts";
import { CronSchedule } from "../model/cron.ts";
import { conflict, unknownJob, unknownRun, unknownSchedule } from "../model/errors.ts";
import type { Job, Schedule } from "../model/job.ts";
import {
  activeView,
  emptyHistory,
  type History,
  isLive,
  recordFinished,
  runId,
  runOfTask,
  type RunRecord,
  type RunTaskState,
  type RunView,
  taskId,
} from "../model/run.ts";
import { pickFor, runTaskInfo } from "./placement.ts";

/** A record to write (or, with null, delete) in the store. */
export type Change =
  | { kind: "framework_id"; value: string }
  | { kind: "job"; id: string; value: Job | null }
  | { kind: "run"; jobId: string; runId: string; value: RunRecord | null }
  | { kind: "history"; jobId: string; value: History | null }
  | { kind: "tick"; jobId: string; scheduleId: string; value: number | null };

/** A driver call, made once the changes before it are durable. */
export type Command =
  | { type: "launch"; offerId: string; tasks: TaskInfo[] }
  | { type: "decline"; offerIds: string[]; refuseSeconds: number }
  | { type: "kill"; taskId: string; agentId?: string }
  | { type: "reconcile"; tasks: { taskId: string; agentId?: string }[] }
  | { type: "revive" }
  | { type: "suppress" };

/** Something that happened, for the log, the metrics and `/v1/events`. */
export interface JobEvent {
  eventType:
    | "job_created"
    | "job_updated"
    | "job_deleted"
    | "job_run_started"
    | "job_run_updated"
    | "job_run_finished"
    | "job_run_failed"
    | "schedule_tick_skipped"
    | "schedule_tick_missed";
  at: number;
  jobId: string;
  runId?: string;
  scheduleId?: string;
  /** The tick of a schedule event (epoch ms). */
  tick?: number;
  /** On a run's first task running: how long after the run was created. */
  startLatencyMs?: number;
  reason?: string;
}

/** Everything the store holds, as `recover()` takes it. */
export interface JobsState {
  frameworkId?: string;
  jobs: Job[];
  runs: RunRecord[];
  histories: History[];
  ticks: { jobId: string; scheduleId: string; after: number }[];
}

/** Counters for `/metrics` (since this process started). */
export interface JobsCounters {
  runsStarted: number;
  runsSucceeded: number;
  runsFailed: number;
  tasksLaunched: number;
  taskRelaunches: number;
  ticksFired: number;
  ticksSkipped: number;
  ticksMissed: number;
}

/** Settings of the core. */
export interface JobsCoreOptions {
  /** Offers nobody wants are refused for this long (default 30 s). */
  declineSeconds: number;
  /** While runs wait for offers, REVIVE this often (default 5 s). */
  reviveEveryMs: number;
}

/** Tasks a run's record keeps (a retried run's oldest ended ones are dropped). */
const MAX_TASKS_KEPT = 50;

const DEFAULT_OPTIONS: JobsCoreOptions = { declineSeconds: 30, reviveEveryMs: 5_000 };

/** The jobs framework's books and operations. */
export class JobsCore {
  readonly #clock: Clock;
  readonly #ids: Ids;
  readonly #options: JobsCoreOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #runs = new Map<string, RunRecord>();
  readonly #histories = new Map<string, History>();
  /** Per `jobId scheduleId`: ticks up to this time (epoch ms) are handled. */
  readonly #ticks = new Map<string, number>();
  readonly #crons = new Map<string, CronSchedule>();
  #frameworkId: string | undefined;
  #changes: Change[] = [];
  #commands: Command[] = [];
  #events: JobEvent[] = [];
  #suppressed = false;
  #lastRevive = Number.NEGATIVE_INFINITY;
  readonly counters: JobsCounters = {
    runsStarted: 0,
    runsSucceeded: 0,
    runsFailed: 0,
    tasksLaunched: 0,
    taskRelaunches: 0,
    ticksFired: 0,
    ticksSkipped: 0,
    ticksMissed: 0,
  };

  constructor(deps: { clock: Clock; ids: Ids }, options: Partial<JobsCoreOptions> = {}) {
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** Loads the stored books (once, before any operation). */
  recover(state: JobsState): void {
    this.#frameworkId = state.frameworkId;
    for (const job of state.jobs) this.#jobs.set(job.id, job);
    for (const run of state.runs) this.#runs.set(runKey(run.jobId, run.id), run);
    for (const h of state.histories) this.#histories.set(h.jobId, h);
    for (const t of state.ticks) this.#ticks.set(tickKey(t.jobId, t.scheduleId), t.after);
    const now = this.#clock.now();
    for (const job of this.#jobs.values()) {
      for (const s of job.schedules) {
        if (!this.#ticks.has(tickKey(job.id, s.id))) this.#setTick(job.id, s.id, now);
      }
    }
  }

  /** Takes what the operations since the last call produced. */
  drain(): { changes: Change[]; commands: Command[]; events: JobEvent[] } {
    const out = { changes: this.#changes, commands: this.#commands, events: this.#events };
    this.#changes = [];
    this.#commands = [];
    this.#events = [];
    return out;
  }

  // --- queries ---

  get frameworkId(): string | undefined {
    return this.#frameworkId;
  }

  /** Every job, by id. */
  jobs(): Job[] {
    return [...this.#jobs.values()].sort((a, b) => a.id < b.id ? -1 : 1);
  }

  /** A job, or a 404 `Job not found`. */
  job(id: string): Job {
    const job = this.#jobs.get(id);
    if (!job) throw unknownJob(id);
    return job;
  }

  /** The active runs of a job (oldest first), or of every job. */
  activeRuns(jobId?: string): RunRecord[] {
    return [...this.#runs.values()]
      .filter((r) => jobId === undefined || r.jobId === jobId)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** An active run, or undefined. */
  activeRun(jobId: string, id: string): RunRecord | undefined {
    return this.#runs.get(runKey(jobId, id));
  }

  /** A job's history (empty when nothing finished yet). */
  history(jobId: string): History {
    return this.#histories.get(jobId) ?? emptyHistory(jobId);
  }

  /** When the schedule fires next (epoch ms), or undefined when it never will. */
  nextRunAt(jobId: string, schedule: Schedule): number | undefined {
    const after = Math.max(this.#ticks.get(tickKey(jobId, schedule.id)) ?? 0, this.#clock.now());
    return this.#cron(schedule).nextAfter(after);
  }

  /** Runs waiting for a task to be launched, oldest first. */
  waitingRuns(): RunRecord[] {
    return this.activeRuns().filter(needsLaunch);
  }

  // --- jobs and schedules (API operations: failures throw Metronome's errors) ---

  /** POST /v1/jobs. */
  createJob(job: Job): Job {
    if (this.#jobs.has(job.id)) throw conflict("Job with this id already exists");
    this.#putJob(job);
    const now = this.#clock.now();
    for (const s of job.schedules) this.#setTick(job.id, s.id, now);
    this.#event({ eventType: "job_created", jobId: job.id });
    return job;
  }

  /** PUT /v1/jobs/{id}: the job's schedules are kept (Metronome changes them separately). */
  updateJob(job: Job): Job {
    const old = this.job(job.id);
    const updated = { ...job, schedules: old.schedules };
    this.#putJob(updated);
    this.#event({ eventType: "job_updated", jobId: job.id });
    return updated;
  }

  /** DELETE /v1/jobs/{id}: refused while runs are active, unless they are to be stopped. */
  deleteJob(id: string, options: { stopCurrentJobRuns: boolean }): Job {
    const job = this.job(id);
    const runs = this.activeRuns(id);
    if (runs.length > 0 && !options.stopCurrentJobRuns) {
      throw conflict("There are active job runs. Override with stopCurrentJobRuns=true");
    }
    for (const run of runs) this.#finish(run, "FAILED", "the job was deleted");
    this.#jobs.delete(id);
    this.#changes.push({ kind: "job", id, value: null });
    if (this.#histories.delete(id)) this.#changes.push({ kind: "history", jobId: id, value: null });
    for (const s of job.schedules) this.#dropTick(id, s.id);
    this.#event({ eventType: "job_deleted", jobId: id });
    return job;
  }

  /** POST /v1/jobs/{id}/schedules. */
  addSchedule(jobId: string, schedule: Schedule): Schedule {
    const job = this.job(jobId);
    if (job.schedules.some((s) => s.id === schedule.id)) {
      throw conflict(`A schedule with id ${schedule.id} already exists`);
    }
    if (job.schedules.length > 0) throw conflict("Only one schedule supported at the moment");
    this.#putJob({ ...job, schedules: [schedule] });
    this.#setTick(jobId, schedule.id, this.#clock.now());
    this.#event({ eventType: "job_updated", jobId });
    return schedule;
  }

  /** PUT /v1/jobs/{id}/schedules/{sid}: the schedule starts over from now. */
  updateSchedule(jobId: string, schedule: Schedule): Schedule {
    const job = this.job(jobId);
    if (!job.schedules.some((s) => s.id === schedule.id)) throw unknownSchedule(schedule.id);
    this.#putJob({
      ...job,
      schedules: job.schedules.map((s) => s.id === schedule.id ? schedule : s),
    });
    this.#setTick(jobId, schedule.id, this.#clock.now());
    this.#event({ eventType: "job_updated", jobId });
    return schedule;
  }

  /** DELETE /v1/jobs/{id}/schedules/{sid}. */
  deleteSchedule(jobId: string, scheduleId: string): void {
    const job = this.job(jobId);
    if (!job.schedules.some((s) => s.id === scheduleId)) throw unknownSchedule(scheduleId);
    this.#putJob({ ...job, schedules: job.schedules.filter((s) => s.id !== scheduleId) });
    this.#dropTick(jobId, scheduleId);
    this.#event({ eventType: "job_updated", jobId });
  }

  // --- runs ---

  /** POST /v1/jobs/{id}/runs: a run starts now. */
  startRun(jobId: string): RunRecord {
    return this.#startRun(this.job(jobId));
  }

  /** POST /v1/jobs/{id}/runs/{runId}/actions/stop: kills the run's tasks; the run FAILED. */
  stopRun(jobId: string, id: string): RunView {
    this.job(jobId);
    const run = this.#runs.get(runKey(jobId, id));
    if (!run) throw unknownRun(jobId, id);
    return this.#finish(run, "FAILED", "stopped");
  }

  // --- the scheduler's side ---

  /**
   * The driver (re)subscribed: ask the master about every task we think alive, then about all
   * of ours (so a task of a run that ended meanwhile is found, and killed).
   */
  subscribed(frameworkId: string): void {
    if (frameworkId !== this.#frameworkId) {
      this.#frameworkId = frameworkId;
      this.#changes.push({ kind: "framework_id", value: frameworkId });
    }
    const live = this.activeRuns().flatMap((r) =>
      r.tasks.filter((t) => isLive(t.status)).map((t) => ({
        taskId: t.id,
        ...(t.agentId ? { agentId: t.agentId } : {}),
      }))
    );
    if (live.length > 0) this.#commands.push({ type: "reconcile", tasks: live });
    this.#commands.push({ type: "reconcile", tasks: [] });
    this.#suppressed = false; // a new subscription is not suppressed
    this.#wantOffers(true);
  }

  /** Offers: one task for each waiting run that fits, oldest run first; the rest declined. */
  offers(offers: readonly Offer[]): void {
    const waiting = this.waitingRuns();
    const now = this.#clock.now();
    const unused: string[] = [];
    for (const offer of offers) {
      const picker = new OfferPicker(offer);
      const tasks: TaskInfo[] = [];
      for (const run of waiting) {
        if (!needsLaunch(run)) continue;
        if (!pickFor(run.job.run, picker).ok) continue;
        const id = taskId(run.jobId, run.id, this.#ids.uuid());
        tasks.push(runTaskInfo(run.job.run, {
          taskId: id,
          name: run.jobId,
          offer,
          labels: run.job.labels,
          env: {
            TENDER_JOB_ID: run.jobId,
            TENDER_JOB_RUN_ID: run.id,
            ...(run.schedule
              ? { TENDER_JOB_SCHEDULED_AT: new Date(run.schedule.tick).toISOString() }
              : {}),
          },
        }));
        this.#putRun({
          ...run,
          tasks: [...run.tasks, {
            id,
            agentId: offer.agent_id.value,
            startedAt: now,
            completedAt: null,
            status: "TASK_CREATED",
          }],
        });
        this.counters.tasksLaunched += 1;
      }
      if (tasks.length > 0) this.#commands.push({ type: "launch", offerId: offer.id.value, tasks });
      else unused.push(offer.id.value);
    }
    if (unused.length > 0) {
      const stillWaiting = this.waitingRuns().length > 0;
      this.#commands.push({
        type: "decline",
        offerIds: unused,
        refuseSeconds: stillWaiting ? 5 : this.#options.declineSeconds,
      });
    }
    this.#wantOffers(false);
  }

  /** The launch of these tasks failed (the call never reached the master): launch again. */
  launchFailed(taskIds: readonly string[]): void {
    for (const id of taskIds) {
      this.update({
        task_id: { value: id },
        state: "TASK_DROPPED",
        message: "the launch call failed",
      });
    }
  }

  /** A task's status: the run goes on, succeeds, retries or fails. Idempotent. */
  update(status: Pick<TaskStatus, "task_id" | "state" | "message" | "agent_id">): void {
    const id = status.task_id.value;
    const owner = runOfTask(id);
    const run = owner && this.#runs.get(runKey(owner.jobId, owner.runId));
    const task = run?.tasks.find((t) => t.id === id);
    if (!run || !task) {
      // Not a task of an active run (a stopped run's task, or one from before a deletion).
      if (!isTerminalState(status.state)) {
        this.#commands.push({
          type: "kill",
          taskId: id,
          ...(status.agent_id ? { agentId: status.agent_id.value } : {}),
        });
      }
      return;
    }
    if (!isLive(task.status)) return; // a repeated terminal update
    const now = this.#clock.now();
    const state = status.state;
    if (state === "TASK_STAGING" || state === "TASK_STARTING" || state === "TASK_RUNNING") {
      if (task.status === state) return;
      const running = state === "TASK_RUNNING";
      this.#putRun({
        ...run,
        status: "ACTIVE",
        tasks: withTask(run, { ...task, status: state }),
        ...(running ? { waitingSince: undefined } : {}),
      });
      const first = running && run.tasks.length === 1;
      this.#event({
        eventType: "job_run_updated",
        jobId: run.jobId,
        runId: run.id,
        ...(first ? { startLatencyMs: now - run.createdAt } : {}),
      });
      return;
    }
    if (state === "TASK_KILLING") return;
    if (state === "TASK_FINISHED") {
      const done = { ...run, tasks: withTask(run, { ...task, status: state, completedAt: now }) };
      this.#finish(done, "SUCCESS");
      return;
    }
    const ended: RunTaskState = state === "TASK_KILLED" ? "TASK_KILLED" : "TASK_FAILED";
    const tasks = withTask(run, { ...task, status: ended, completedAt: now });
    const neverStarted = task.status === "TASK_CREATED" &&
      (state === "TASK_LOST" || state === "TASK_DROPPED" || state === "TASK_UNKNOWN" ||
        state === "TASK_GONE");
    const restart = run.job.run.restart;
    const inTime = restart.activeDeadlineSeconds === undefined ||
      run.createdAt + restart.activeDeadlineSeconds * 1000 > now;
    if (neverStarted || (restart.policy === "ON_FAILURE" && inTime)) {
      // The run asks for another task (a launch that never reached an agent does not count).
      this.#putRun({
        ...run,
        tasks,
        waitingSince: neverStarted ? run.waitingSince ?? now : now,
      });
      if (!neverStarted) this.counters.taskRelaunches += 1;
      this.#event({
        eventType: "job_run_updated",
        jobId: run.jobId,
        runId: run.id,
        reason: `task ${id} ${state}${
          status.message ? `: ${status.message}` : ""
        }; launching another`,
      });
      this.#wantOffers(false);
      return;
    }
    this.#finish(
      { ...run, tasks },
      "FAILED",
      `task ${id} ${state}${status.message ? `: ${status.message}` : ""}`,
    );
  }

  /**
   * Time passes: due schedule ticks start runs (or are skipped by FORBID, or missed past their
   * starting deadline); runs past their starting deadline or `maxLaunchDelay` are aborted;
   * offers are revived while runs wait.
   */
  tick(): void {
    const now = this.#clock.now();
    for (const job of this.#jobs.values()) {
      for (const schedule of job.schedules) {
        if (schedule.enabled) this.#tickSchedule(job, schedule, now);
      }
    }
    for (const run of this.activeRuns()) {
      const deadline = run.schedule?.startingDeadlineSeconds;
      if (
        run.status === "STARTING" && run.schedule && deadline !== undefined &&
        now > run.schedule.tick + deadline * 1000
      ) {
        this.#finish(run, "FAILED", `not started within startingDeadlineSeconds (${deadline})`);
      } else if (
        run.waitingSince !== undefined &&
        now > run.waitingSince + run.job.run.maxLaunchDelay * 1000
      ) {
        this.#finish(
          run,
          "FAILED",
          `not running within maxLaunchDelay (${run.job.run.maxLaunchDelay} s)`,
        );
      }
    }
    this.#wantOffers(false);
  }

  /** When `tick()` has something to do next (epoch ms), at the latest `now + maxWaitMs`. */
  nextWakeAt(maxWaitMs: number): number {
    const now = this.#clock.now();
    let at = now + maxWaitMs;
    for (const job of this.#jobs.values()) {
      for (const s of job.schedules) {
        if (!s.enabled) continue;
        const next = this.#cron(s).nextAfter(this.#ticks.get(tickKey(job.id, s.id)) ?? now);
        if (next !== undefined) at = Math.min(at, next);
      }
    }
    return Math.max(at, now);
  }

  // --- internals ---

  #tickSchedule(job: Job, schedule: Schedule, now: number): void {
    const key = tickKey(job.id, schedule.id);
    const after = this.#ticks.get(key) ?? now;
    const due = this.#cron(schedule).due(after, now);
    if (!due) return;
    const base = { jobId: job.id, scheduleId: schedule.id };
    if (due.count > 1) {
      this.counters.ticksMissed += due.count - 1;
      this.#event({
        ...base,
        eventType: "schedule_tick_missed",
        tick: due.latest,
        reason: `${due.count - 1} earlier tick(s) passed while the framework was not running`,
      });
    }
    if (now - due.latest > schedule.startingDeadlineSeconds * 1000) {
      this.counters.ticksMissed += 1;
      this.#event({
        ...base,
        eventType: "schedule_tick_missed",
        tick: due.latest,
        reason: `past startingDeadlineSeconds (${schedule.startingDeadlineSeconds})`,
      });
    } else if (schedule.concurrencyPolicy === "FORBID" && this.activeRuns(job.id).length > 0) {
      this.counters.ticksSkipped += 1;
      this.#event({
        ...base,
        eventType: "schedule_tick_skipped",
        tick: due.latest,
        reason: "concurrencyPolicy FORBID and a run is active",
      });
    } else {
      this.counters.ticksFired += 1;
      this.#startRun(job, {
        id: schedule.id,
        tick: due.latest,
        startingDeadlineSeconds: schedule.startingDeadlineSeconds,
      });
    }
    // Committed with the run it started: this tick never starts a run again.
    this.#setTick(job.id, schedule.id, due.latest);
  }

  #startRun(job: Job, schedule?: RunRecord["schedule"]): RunRecord {
    const now = this.#clock.now();
    let id = runId(now, this.#ids.uuid());
    while (this.#runs.has(runKey(job.id, id))) id = runId(now, this.#ids.uuid());
    const run: RunRecord = {
      jobId: job.id,
      id,
      status: "STARTING",
      createdAt: now,
      job,
      ...(schedule ? { schedule } : {}),
      tasks: [],
      waitingSince: now,
    };
    this.#putRun(run);
    this.counters.runsStarted += 1;
    this.#event({
      eventType: "job_run_started",
      jobId: job.id,
      runId: id,
      ...(schedule ? { scheduleId: schedule.id, tick: schedule.tick } : {}),
    });
    this.#wantOffers(false);
    return run;
  }

  /** Ends a run: its live tasks are killed, it leaves the books, the history counts it. */
  #finish(run: RunRecord, outcome: "SUCCESS" | "FAILED", reason?: string): RunView {
    const now = this.#clock.now();
    for (const t of run.tasks) {
      if (isLive(t.status)) {
        this.#commands.push({
          type: "kill",
          taskId: t.id,
          ...(t.agentId ? { agentId: t.agentId } : {}),
        });
      }
    }
    this.#runs.delete(runKey(run.jobId, run.id));
    this.#changes.push({ kind: "run", jobId: run.jobId, runId: run.id, value: null });
    const history = recordFinished(this.history(run.jobId), run, outcome, now);
    if (this.#jobs.has(run.jobId)) {
      this.#histories.set(run.jobId, history);
      this.#changes.push({ kind: "history", jobId: run.jobId, value: history });
    }
    if (outcome === "SUCCESS") this.counters.runsSucceeded += 1;
    else this.counters.runsFailed += 1;
    this.#event({
      eventType: outcome === "SUCCESS" ? "job_run_finished" : "job_run_failed",
      jobId: run.jobId,
      runId: run.id,
      ...(reason ? { reason } : {}),
    });
    return { ...activeView(run), status: outcome, completedAt: now };
  }

  /** Revives when runs wait (at once when suppressed, else every `reviveEveryMs`), else suppresses. */
  #wantOffers(force: boolean): void {
    const now = this.#clock.now();
    if (this.waitingRuns().length > 0) {
      if (force || this.#suppressed || now - this.#lastRevive >= this.#options.reviveEveryMs) {
        this.#commands.push({ type: "revive" });
        this.#lastRevive = now;
        this.#suppressed = false;
      }
    } else if (!this.#suppressed || force) {
      this.#commands.push({ type: "suppress" });
      this.#suppressed = true;
    }
  }

  #putJob(job: Job): void {
    this.#jobs.set(job.id, job);
    this.#changes.push({ kind: "job", id: job.id, value: job });
  }

  #putRun(run: RunRecord): void {
    const clean = { ...run };
    if (clean.tasks.length > MAX_TASKS_KEPT) {
      // A run retried for long keeps its newest tasks (its record must stay small).
      clean.tasks = clean.tasks.slice(-MAX_TASKS_KEPT);
    }
    if (clean.waitingSince === undefined) delete clean.waitingSince;
    this.#runs.set(runKey(run.jobId, run.id), clean);
    this.#changes.push({ kind: "run", jobId: run.jobId, runId: run.id, value: clean });
  }

  #setTick(jobId: string, scheduleId: string, after: number): void {
    this.#ticks.set(tickKey(jobId, scheduleId), after);
    this.#changes.push({ kind: "tick", jobId, scheduleId, value: after });
  }

  #dropTick(jobId: string, scheduleId: string): void {
    this.#ticks.delete(tickKey(jobId, scheduleId));
    this.#changes.push({ kind: "tick", jobId, scheduleId, value: null });
  }

  #event(event: Omit<JobEvent, "at">): void {
    this.#events.push({ ...event, at: this.#clock.now() });
  }

  #cron(schedule: Schedule): CronSchedule {
    const key = `${schedule.cron}\u0000${schedule.timezone}`;
    let cron = this.#crons.get(key);
    if (!cron) {
      const parsed = CronSchedule.parse(schedule.cron, schedule.timezone);
      if (!parsed.ok) throw new Error(`Stored schedule "${schedule.id}": ${parsed.reason}`);
      cron = parsed.cron;
      this.#crons.set(key, cron);
    }
    return cron;
  }
}

/** Whether a run wants a task launched: it has none alive. */
function needsLaunch(run: RunRecord): boolean {
  return !run.tasks.some((t) => isLive(t.status));
}

function withTask(run: RunRecord, task: RunRecord["tasks"][number]): RunRecord["tasks"] {
  return run.tasks.map((t) => t.id === task.id ? task : t);
}

function runKey(jobId: string, id: string): string {
  return `${jobId} ${id}`;
}

function tickKey(jobId: string, scheduleId: string): string {
  return `${jobId} ${scheduleId}`;
}
