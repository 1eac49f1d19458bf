/**
 * The life of every task on the agent: launch through the containerizer, watch to the end,
 * health checks, kills (graceful, by group, by framework), status updates, clean-up once the
 * terminal update is acknowledged, and recovery after an agent restart. The operations of one
 * task run one after another, in the order they were asked for.
 */
import { resolve } from "node:path";
import type { Clock, Ids } from "../base/mod.ts";
import {
  type ExecutorInfo,
  type FrameworkInfo,
  isTerminalState,
  type KillPolicy,
  redactSecrets,
  type TaskInfo,
  type TaskStatus,
} from "../protocol/mod.ts";
import type { Containerizer, ContainerSpec, PodSpec } from "./containerizer/containerizer.ts";
import { chownTree, lookupUser } from "./containerizer/user_account.ts";
import { keys } from "./keys.ts";
import type { KvBatcher } from "./kv_batcher.ts";
import {
  type PendingUpdate,
  type StatusUpdateManager,
  streamKey,
} from "./status_update_manager.ts";
import { executorDirs, podDir, podSpecOf, volumeMounts } from "./pod_spec.ts";
import { persistentVolumeMounts } from "./persistent_volumes.ts";
import { type HealthWatch, watchHealth } from "./task_health.ts";
import { Fetcher, localReader } from "./fetcher.ts";
import { containerSpec, sandboxPath } from "./task_spec.ts";
import { taskSecrets, writeSecretFiles } from "./task_secrets.ts";
import {
  type KillCause,
  type StatusFields,
  type TaskRecord,
  TaskRecordSchema,
  terminalStatus,
  vanishedState,
} from "./task_record.ts";

type NetworkInfoStatus = NonNullable<
  NonNullable<TaskStatus["container_status"]>["network_infos"]
>[number];

/** What the supervisor needs. */
export interface TaskSupervisorDeps {
  kv: Deno.Kv;
  clock: Clock;
  ids: Ids;
  containerizer: Containerizer;
  updates: StatusUpdateManager;
  /** Group commits shared with the status update manager. */
  batcher: KvBatcher;
  /** The agent's current id (undefined before the first SUBSCRIBED). */
  agentId: () => string | undefined;
  log?: (message: string) => void;
  /** Fetches tasks' `CommandInfo.uris` (default: one with its cache in the work dir). */
  fetcher?: Fetcher;
}

/** Settings of the supervisor. */
export interface TaskSupervisorOptions {
  /** The address tasks are reached at (HOST, container_status). */
  advertiseIp: string;
  /** The address task ports are published on (default `advertiseIp`). */
  publishIp?: string;
  workDir: string;
  /** Grace between SIGTERM and SIGKILL when neither KILL nor task names one (default 5 s). */
  killGraceMs?: number;
  /** Run tasks as their user (Mesos' `--switch_user`, default true); false: as the agent. */
  switchUser?: boolean;
}

interface TaskEntry {
  record: TaskRecord;
  chain: Promise<void>;
  /** From LAUNCH until the container runs (or failed to). */
  launching?: boolean;
  killing?: KillCause;
  health?: HealthWatch;
  /** The pod of its task group, from LAUNCH_GROUP until it launched (not stored). */
  pod?: PodSpec;
  /** Directories the group's executor declared, made in the pod's directory. */
  podDirs?: string[];
  /** Stops the task's fetching when a kill comes during launch. */
  fetching?: AbortController;
  /** Fetches its group executor's URIs into the group's directory (shared by the members). */
  podFetch?: (spec: ContainerSpec) => Promise<void>;
  /**
   * The task as sent, with its secrets' bytes, until it launched: the record holds it redacted,
   * so the values are never stored nor shown.
   */
  launchTask?: TaskInfo;
}

/** Whether a framework declared a capability. */
function hasCapability(info: FrameworkInfo, type: string): boolean {
  return (info.capabilities ?? []).some((c) => c.type === type);
}

/** A kill policy's grace period in milliseconds. */
export function graceOf(policy: KillPolicy | undefined): number | undefined {
  const ns = policy?.grace_period?.nanoseconds;
  return ns === undefined ? undefined : Math.max(0, Math.round(ns / 1e6));
}

/** Runs and reports the agent's tasks. */
export class TaskSupervisor {
  readonly #deps: TaskSupervisorDeps;
  readonly #options: TaskSupervisorOptions;
  readonly #entries = new Map<string, TaskEntry>();
  readonly #fetcher: Fetcher;

  constructor(deps: TaskSupervisorDeps, options: TaskSupervisorOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#fetcher = deps.fetcher ??
      new Fetcher({ cacheDir: `${resolve(options.workDir)}/fetcher_cache`, clock: deps.clock });
  }

  get #agentId(): string | undefined {
    return this.#deps.agentId();
  }

  get #updates(): StatusUpdateManager {
    return this.#deps.updates;
  }

  #log(message: string): void {
    this.#deps.log?.(message);
  }

  /** Every task held (until its terminal update is acknowledged). */
  records(): TaskRecord[] {
    return [...this.#entries.values()].map((e) => e.record);
  }

  /** A task by its id (in any framework). */
  find(taskId: string): TaskRecord | undefined {
    return [...this.#entries.values()].find((e) => e.record.task.task_id.value === taskId)?.record;
  }

  /** Resolves once every queued task operation has run. */
  async settled(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.chain));
  }

  /** Stops health checks and waits for queued operations; tasks keep running. */
  async stop(): Promise<void> {
    for (const entry of this.#entries.values()) entry.health?.stop();
    await this.settled();
  }

  /** Handles a KILL: the task and its group, or TASK_LOST for a task the agent does not know. */
  kill(frameworkId: string, taskId: string, policy?: KillPolicy): void {
    const entry = this.#entries.get(streamKey(frameworkId, taskId));
    if (!entry) return void this.#unknownKill(frameworkId, taskId);
    this.#killGroupOf(entry, { graceMs: graceOf(policy) });
  }

  /** Kills every task of a framework that was torn down. */
  shutdownFramework(frameworkId: string): void {
    for (const entry of this.#entries.values()) {
      if (entry.record.framework_id.value !== frameworkId) continue;
      this.#requestKill(entry, {
        message: "Framework shut down",
        reason: "REASON_FRAMEWORK_REMOVED",
      });
    }
  }

  /** After an update was acknowledged: a terminal one releases the task's container and records. */
  acknowledged(acked: PendingUpdate): void {
    const entry = this.#entries.get(
      streamKey(acked.framework_id.value, acked.status.task_id.value),
    );
    if (entry && isTerminalState(acked.status.state)) {
      this.#enqueue(entry, () => this.#cleanup(entry));
    }
  }

  /** The latest status of a task for RECONCILE (no uuid); TASK_LOST when unknown. */
  latestStatus(frameworkId: string, taskId: string): TaskStatus {
    const entry = this.#entries.get(streamKey(frameworkId, taskId));
    const latest: TaskStatus = entry
      ? { ...entry.record.status, reason: "REASON_RECONCILIATION", timestamp: this.#now() }
      : this.#fullStatus(taskId, {
        state: "TASK_LOST",
        message: `Task "${taskId}" is unknown to this agent`,
        reason: "REASON_RECONCILIATION",
      }, "SOURCE_AGENT");
    delete latest.uuid;
    return latest;
  }

  #enqueue(entry: TaskEntry, op: () => Promise<void>): void {
    entry.chain = entry.chain.then(op).catch((e) => {
      this.#log(
        `Task "${entry.record.task.task_id.value}": ${e instanceof Error ? e.stack : String(e)}`,
      );
    });
  }

  /** Runs a task the master sent (`group`: the executor id of its LAUNCH_GROUP). */
  launch(frameworkId: string, frameworkInfo: FrameworkInfo, task: TaskInfo, group?: string): void {
    this.#admit({ frameworkId, frameworkInfo, task, ...(group ? { group } : {}) });
  }

  /**
   * Runs a task group (LAUNCH_GROUP) as one pod: its tasks share a network namespace and the
   * group's directory (SANDBOX_PATH PARENT volumes), and live and die together.
   */
  launchGroup(
    frameworkId: string,
    group: { frameworkInfo: FrameworkInfo; executor: ExecutorInfo; tasks: readonly TaskInfo[] },
  ): void {
    const { executor, tasks } = group;
    const workDir = resolve(this.#options.workDir);
    const pod = podSpecOf({ frameworkId, executor, tasks, workDir });
    const podDirs = executorDirs(executor, pod.dir);
    // The executor's URIs go to the group's directory (Mesos' executor sandbox), once: the
    // first member to launch fetches them, the others wait for the same fetch.
    const uris = executor.command?.uris ?? [];
    let fetched: Promise<void> | undefined;
    const podFetch = async (spec: ContainerSpec) =>
      await (fetched ??= localReader(spec).then((reader) =>
        this.#fetcher.fetchAll({ taskId: spec.taskId, sandbox: pod.dir, uris, reader })
      ));
    for (const task of tasks) {
      this.#admit({
        frameworkId,
        frameworkInfo: group.frameworkInfo,
        task,
        group: executor.executor_id.value,
        pod,
        podDirs,
        ...(uris.length > 0 ? { podFetch } : {}),
      });
    }
  }

  #admit(launch: {
    frameworkId: string;
    frameworkInfo: FrameworkInfo;
    task: TaskInfo;
    group?: string;
    pod?: PodSpec;
    podDirs?: string[];
    podFetch?: (spec: ContainerSpec) => Promise<void>;
  }): void {
    const { frameworkId, frameworkInfo, task, group } = launch;
    const key = streamKey(frameworkId, task.task_id.value);
    if (this.#entries.has(key)) {
      this.#log(`Ignoring a second LAUNCH of task "${task.task_id.value}"`);
      return;
    }
    const redacted = redactSecrets(task);
    const record: TaskRecord = {
      framework_id: { value: frameworkId },
      framework_info: frameworkInfo,
      task: redacted,
      status: { task_id: task.task_id, state: "TASK_STAGING" },
      container_id: this.#deps.ids.uuid(),
      ...(group ? { group } : {}),
    };
    const entry: TaskEntry = {
      record,
      chain: Promise.resolve(),
      launching: true,
      ...(launch.pod ? { pod: launch.pod, podDirs: launch.podDirs ?? [] } : {}),
      ...(launch.podFetch ? { podFetch: launch.podFetch } : {}),
      ...(redacted !== task ? { launchTask: task } : {}),
    };
    this.#entries.set(key, entry);
    this.#enqueue(entry, () => this.#run(entry));
  }

  async #run(entry: TaskEntry): Promise<void> {
    const { record } = entry;
    // The task record is written with TASK_STARTING, atomically, before anything runs.
    await this.#status(entry, { state: "TASK_STARTING" });
    const task = entry.launchTask ?? record.task;
    entry.launchTask = undefined;
    const spec = containerSpec({
      task,
      frameworkId: record.framework_id.value,
      agentId: this.#agentIdFor(record),
      host: this.#options.advertiseIp,
      publishIp: this.#options.publishIp,
      workDir: this.#options.workDir,
      frameworkInfo: record.framework_info,
      switchUser: this.#options.switchUser,
    });
    // A field the containerizer cannot honour (a docker parameter it does not map), or a secret
    // the agent cannot give (a REFERENCE), is refused before anything is made, as Mesos refuses an
    // invalid task: TASK_ERROR naming it.
    const secrets = taskSecrets(task, resolve(spec.sandbox));
    const refusal = this.#deps.containerizer.refusal?.(spec) ??
      (secrets.ok ? undefined : secrets.reason);
    if (refusal !== undefined) {
      entry.launching = false;
      await this.#status(entry, {
        state: "TASK_ERROR",
        message: refusal,
        reason: "REASON_TASK_INVALID",
      }, "SOURCE_AGENT");
      if (record.group) {
        this.#killGroupOf(entry, { message: `A task of its group was refused: ${refusal}` });
      }
      return;
    }
    try {
      if (entry.killing) return await this.#killedDuringLaunch(entry, false);
      await Deno.mkdir(spec.sandbox, { recursive: true });
      await this.#fetch(entry, spec);
      const pod = entry.pod;
      const volumes = volumeMounts(task, resolve(spec.sandbox), pod?.dir);
      if (!volumes.ok) throw new Error(volumes.reason);
      const given = secrets.ok ? secrets.secrets : { env: {}, files: [], mounts: [] };
      Object.assign(spec.env, given.env);
      for (const dir of [...(pod ? [pod.dir] : []), ...(entry.podDirs ?? [])]) {
        await Deno.mkdir(dir, { recursive: true });
      }
      await entry.podFetch?.(spec);
      // SANDBOX_PATH volumes are directories of ours, made before anything mounts them.
      for (const m of volumes.mounts) {
        const ours = m.hostPath.startsWith(`${resolve(spec.sandbox)}/`) ||
          (pod !== undefined && m.hostPath.startsWith(`${pod.dir}/`));
        if (ours) await Deno.mkdir(m.hostPath, { recursive: true });
      }
      entry.pod = undefined;
      await writeSecretFiles(given.files, await secretOwner(spec));
      await handSandboxToImageUser(spec);
      // Persistent volumes: directories the CREATE made, given to the task's user.
      const persistent = persistentVolumeMounts(resolve(this.#options.workDir), task);
      for (const m of persistent) {
        await Deno.mkdir(m.hostPath, { recursive: true });
        const owner = await secretOwner(spec);
        if (owner) await chownTree(m.hostPath, owner.uid, owner.gid);
      }
      const mounts = [...volumes.mounts, ...persistent, ...given.mounts];
      await this.#deps.containerizer.launch(record.container_id, {
        ...spec,
        ...(mounts.length > 0 ? { mounts } : {}),
        ...(pod ? { pod } : {}),
      });
    } catch (e) {
      if (entry.fetching?.signal.aborted) return await this.#killedDuringLaunch(entry, false);
      const message = e instanceof Error ? e.message : String(e);
      await this.#status(entry, {
        state: "TASK_FAILED",
        message,
        reason: "REASON_CONTAINER_LAUNCH_FAILED",
      }, "SOURCE_AGENT");
      if (record.group) {
        this.#killGroupOf(entry, { message: `A task of its group failed to launch: ${message}` });
      }
      return;
    } finally {
      entry.launching = false;
    }
    if (entry.killing) return await this.#killedDuringLaunch(entry, true);
    entry.record = { ...record, started_at: this.#deps.clock.now() };
    await this.#status(entry, {
      state: "TASK_RUNNING",
      container_status: {
        container_id: { value: record.container_id },
        network_infos: [await this.#networkInfo(record)],
      },
    });
    this.#watch(entry);
  }

  /**
   * Where the running task is reached, for TASK_RUNNING: on a named network (Mesos' CNI, a Docker
   * user-defined network) its own address there, as Mesos reports it; else the agent's.
   */
  async #networkInfo(record: TaskRecord): Promise<NetworkInfoStatus> {
    const name = record.task.container?.network_infos?.[0]?.name;
    const ip = name && this.#deps.containerizer.networkAddress
      ? await this.#deps.containerizer.networkAddress(record.container_id).catch(() => undefined)
      : undefined;
    if (name && ip) return { name, ip_addresses: [{ ip_address: ip }] };
    return { ip_addresses: [{ ip_address: this.#options.advertiseIp }] };
  }

  /**
   * Fetches the task's URIs into its sandbox (Mesos' fetcher) before its container starts; a
   * kill during launch stops it. Rejects naming the URI and the cause.
   */
  async #fetch(entry: TaskEntry, spec: ContainerSpec): Promise<void> {
    const uris = entry.record.task.command?.uris ?? [];
    if (uris.length === 0) return;
    entry.fetching = new AbortController();
    try {
      await this.#fetcher.fetchAll({
        taskId: spec.taskId,
        sandbox: resolve(spec.sandbox),
        uris,
        reader: await localReader(spec),
        signal: entry.fetching.signal,
      });
    } finally {
      if (!entry.fetching.signal.aborted) entry.fetching = undefined;
    }
  }

  /** A KILL came while the task was launching: no TASK_RUNNING, straight to TASK_KILLED. */
  async #killedDuringLaunch(entry: TaskEntry, launched: boolean): Promise<void> {
    const termination = launched
      ? await this.#deps.containerizer.destroy(entry.record.container_id, 0)
      : undefined;
    await this.#status(
      entry,
      terminalStatus(
        termination ?? { exitCode: null, reason: "killed", message: "never started" },
        entry.killing,
      ),
    );
  }

  /** Follows a running container to its end, and its health while it runs. */
  #watch(entry: TaskEntry): void {
    this.#deps.containerizer.wait(entry.record.container_id).then((termination) => {
      this.#enqueue(entry, async () => {
        if (!termination || isTerminalState(entry.record.status.state)) return;
        entry.health?.stop();
        const fields = terminalStatus(termination, entry.killing);
        await this.#status(entry, fields);
        if (entry.record.group && fields.state !== "TASK_FINISHED") {
          this.#killGroupOf(entry, { message: `A task of its group ended: ${fields.message}` });
        }
      });
    });
    entry.health = watchHealth({
      containerizer: this.#deps.containerizer,
      record: entry.record,
      host: this.#options.advertiseIp,
      clock: this.#deps.clock,
      startedAt: entry.record.started_at,
      onChange: (healthy, message) =>
        this.#enqueue(entry, async () => {
          if (entry.record.status.state !== "TASK_RUNNING") return;
          await this.#status(entry, {
            ...entry.record.status,
            healthy,
            message,
            reason: "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
          });
        }),
      // As Mesos' default executor: a task killed for its health kills its group.
      onKill: (why) =>
        this.#killGroupOf(entry, {
          message: `Task failed its health check: ${why}`,
          reason: "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
          healthy: false,
        }),
    });
  }

  /** Kills the task, and every other task of its LAUNCH_GROUP. */
  #killGroupOf(entry: TaskEntry, cause: KillCause & { graceMs?: number }): void {
    const group = entry.record.group;
    const members = group
      ? [...this.#entries.values()].filter((e) =>
        e.record.group === group && e.record.framework_id.value === entry.record.framework_id.value
      )
      : [entry];
    for (const member of members) this.#requestKill(member, cause);
  }

  /** Queues a kill; one asked for while the task launches also stops it becoming RUNNING. */
  #requestKill(entry: TaskEntry, cause: KillCause & { graceMs?: number }): void {
    if (entry.launching) {
      entry.killing ??= {
        message: "Killed during launch",
        reason: "REASON_TASK_KILLED_DURING_LAUNCH",
      };
      entry.fetching?.abort(new Error("the task was killed"));
    }
    this.#enqueue(entry, () => this.#kill(entry, cause));
  }

  async #kill(entry: TaskEntry, cause: KillCause & { graceMs?: number }): Promise<void> {
    const { record } = entry;
    if (isTerminalState(record.status.state)) return;
    entry.killing ??= { message: cause.message, reason: cause.reason, healthy: cause.healthy };
    entry.health?.stop();
    if (
      hasCapability(record.framework_info, "TASK_KILLING_STATE") &&
      record.status.state !== "TASK_KILLING"
    ) {
      await this.#status(entry, { state: "TASK_KILLING" });
    }
    const grace = cause.graceMs ?? graceOf(record.task.kill_policy) ?? this.#options.killGraceMs ??
      5000;
    const termination = await this.#deps.containerizer.destroy(record.container_id, grace);
    if (isTerminalState(entry.record.status.state)) return;
    await this.#status(
      entry,
      terminalStatus(
        termination ?? { exitCode: null, reason: "killed", message: "container gone" },
        entry.killing,
      ),
    );
  }

  /** Mesos' answer to a KILL of a task the agent does not know: TASK_LOST, REASON_TASK_UNKNOWN. */
  async #unknownKill(frameworkId: string, taskId: string): Promise<void> {
    const status: TaskStatus = this.#fullStatus(taskId, {
      state: "TASK_LOST",
      message: `Cannot kill task "${taskId}": this agent does not know it`,
      reason: "REASON_TASK_UNKNOWN",
    }, "SOURCE_AGENT");
    await this.#updates.update(frameworkId, status).catch((e) => this.#log(String(e)));
  }

  /** After the terminal update is acknowledged: the container goes, then the task's records. */
  async #cleanup(entry: TaskEntry): Promise<void> {
    const { record } = entry;
    if (this.#updates.pendingFor(record.framework_id.value, record.task.task_id.value).length > 0) {
      return;
    }
    entry.health?.stop();
    await this.#deps.containerizer.destroy(record.container_id, 0).catch((e) =>
      this.#log(
        `Cannot remove container ${record.container_id}: ${e instanceof Error ? e.message : e}`,
      )
    );
    const key = keys.task(record.framework_id.value, record.task.task_id.value);
    await this.#deps.batcher.write((op) => op.delete(key));
    this.#entries.delete(streamKey(record.framework_id.value, record.task.task_id.value));
    // The sandbox's garbage-collection delay counts from now (see sandbox_gc.ts); a group's
    // directory's from when its last task goes.
    const now = new Date(this.#deps.clock.now());
    await Deno.utime(this.sandboxOf(record), now, now).catch(() => undefined);
    const pod = this.#podDirOf(record);
    if (pod && !this.liveDirs().has(pod)) await Deno.utime(pod, now, now).catch(() => undefined);
  }

  /** Where a task's sandbox is on this host. */
  sandboxOf(record: TaskRecord): string {
    return sandboxPath(this.#options.workDir, record.framework_id.value, record.task.task_id.value);
  }

  /** The sandboxes and task group directories of every task held: not to be swept. */
  liveDirs(): Set<string> {
    const live = new Set<string>();
    for (const { record } of this.#entries.values()) {
      live.add(this.sandboxOf(record));
      const pod = this.#podDirOf(record);
      if (pod) live.add(pod);
    }
    return live;
  }

  #podDirOf(record: TaskRecord): string | undefined {
    return record.group === undefined
      ? undefined
      : podDir(this.#options.workDir, record.framework_id.value, record.group);
  }

  #now(): number {
    return this.#deps.clock.now() / 1000;
  }

  #agentIdFor(record: TaskRecord): string {
    return this.#agentId ?? record.task.agent_id.value;
  }

  #fullStatus(taskId: string, fields: StatusFields, source: TaskStatus["source"]): TaskStatus {
    return {
      ...fields,
      task_id: { value: taskId },
      source,
      ...(this.#agentId ? { agent_id: { value: this.#agentId } } : {}),
      timestamp: this.#now(),
    };
  }

  /** Records and sends a new status of the task: one atomic write of record and update. */
  async #status(
    entry: TaskEntry,
    fields: StatusFields,
    source: TaskStatus["source"] = "SOURCE_EXECUTOR",
  ): Promise<void> {
    const status: TaskStatus = {
      ...fields,
      task_id: entry.record.task.task_id,
      source,
      agent_id: { value: this.#agentIdFor(entry.record) },
      timestamp: this.#now(),
    };
    for (const k of Object.keys(status) as (keyof TaskStatus)[]) {
      if (status[k] === undefined) delete status[k];
    }
    delete status.uuid;
    const record: TaskRecord = { ...entry.record, status };
    const { framework_id, task } = record;
    await this.#updates.update(
      framework_id.value,
      status,
      (op) => op.set(keys.task(framework_id.value, task.task_id.value), record),
    );
    entry.record = record;
  }

  /**
   * Loads the tasks and pending updates from the store, finds their containers, and settles
   * what changed while the agent was down. Resolves with how many tasks it holds.
   */
  async recover(): Promise<number> {
    const { kv, containerizer } = this.#deps;
    for await (const item of kv.list({ prefix: keys.tasks() })) {
      const record = TaskRecordSchema.parse(item.value);
      this.#entries.set(streamKey(record.framework_id.value, record.task.task_id.value), {
        record,
        chain: Promise.resolve(),
      });
    }
    const pending = await this.#updates.load();
    const known = new Set([...this.#entries.values()].map((e) => e.record.container_id));
    const found = new Map((await containerizer.recover(known)).map((c) => [c.id, c]));
    for (const container of found.values()) {
      if (known.has(container.id)) continue;
      this.#log(`Killing container ${container.id} (task "${container.taskId}"): no record of it`);
      await containerizer.destroy(container.id, 0).catch(() => undefined);
    }
    for (const entry of this.#entries.values()) {
      const { record } = entry;
      const state = record.status.state;
      if (isTerminalState(state)) {
        const waiting = this.#updates.pendingFor(
          record.framework_id.value,
          record.task.task_id.value,
        );
        if (waiting.length === 0) this.#enqueue(entry, () => this.#cleanup(entry));
        continue;
      }
      const container = found.get(record.container_id);
      if (state === "TASK_KILLING") entry.killing = { message: "Killed while the agent restarted" };
      if (container && !container.termination) {
        if (state === "TASK_STAGING" || state === "TASK_STARTING") {
          this.#enqueue(entry, () => this.#status(entry, { state: "TASK_RUNNING" }));
        }
        this.#watch(entry);
        // A kill the agent did not finish before it went down is finished now.
        if (state === "TASK_KILLING") this.#enqueue(entry, () => this.#kill(entry, {}));
      } else if (container?.termination) {
        const termination = container.termination;
        this.#enqueue(entry, () => this.#status(entry, terminalStatus(termination, entry.killing)));
      } else {
        const partitionAware = hasCapability(record.framework_info, "PARTITION_AWARE");
        this.#enqueue(entry, () =>
          this.#status(entry, {
            state: entry.killing ? "TASK_KILLED" : vanishedState(partitionAware),
            message: `The agent restarted and container ${record.container_id} is gone`,
            reason: "REASON_AGENT_RESTARTED",
          }, "SOURCE_AGENT"));
      }
    }
    await this.settled();
    this.#log(
      `Recovered ${this.#entries.size} task(s), ${pending.length} pending status update(s)`,
    );
    return this.#entries.size;
  }
}

/**
 * A task in an image that names its user gets its sandbox (mounted at /mnt/mesos/sandbox) owned
 * by the user of that name on this host, when there is one, as Mesos' agent chowns every
 * sandbox with `--switch_user`; the image resolves the name itself, and the ids usually agree
 * (nobody). Process tasks are handed theirs by the process containerizer.
 */
async function handSandboxToImageUser(spec: ContainerSpec): Promise<void> {
  if (spec.container?.type !== "DOCKER" || !spec.user?.fromTask || Deno.uid() !== 0) return;
  const account = await lookupUser(spec.user.name);
  if (account) await chownTree(spec.sandbox, account.uid, account.gid);
}

/** Whose secret files are: the task user's, when the agent runs as root and may hand them over. */
async function secretOwner(spec: ContainerSpec): Promise<{ uid: number; gid: number } | undefined> {
  if (!spec.user || Deno.uid() !== 0) return undefined;
  const account = await lookupUser(spec.user.name);
  return account ? { uid: account.uid, gid: account.gid } : undefined;
}
