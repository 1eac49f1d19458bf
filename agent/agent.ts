/**
 * The agent's core loop: recovers its tasks, subscribes to the master, runs what the master
 * commands through a containerizer, and reports every change of a task as a reliable status
 * update. Operations on one task run one after another, in the order their events came.
 */
import {
  type AgentCall,
  type AgentEvent,
  type Attribute,
  type Clock,
  type FrameworkInfo,
  type Ids,
  isTerminalState,
  type KillPolicy,
  type Resources,
  type TaskInfo,
  type TaskStatus,
} from "../protocol/mod.ts";
import type { Containerizer, LogOptions } from "./containerizer/containerizer.ts";
import { keys } from "./keys.ts";
import { MasterConnection } from "./master_connection.ts";
import { StatusUpdateManager, streamKey } from "./status_update_manager.ts";
import { containerSpec, taskPorts } from "./task_spec.ts";
import {
  type KillCause,
  type StatusFields,
  type TaskRecord,
  TaskRecordSchema,
  terminalStatus,
  vanishedState,
} from "./task_record.ts";
import { type HealthWatch, watchHealth } from "./task_health.ts";

/** What the agent needs from the world. */
export interface AgentDeps {
  kv: Deno.Kv;
  clock: Clock;
  ids: Ids;
  containerizer: Containerizer;
  fetch?: typeof fetch;
  random?: () => number;
  log?: (message: string) => void;
}

/** How the agent is configured (from its flags). */
export interface AgentOptions {
  master: string;
  hostname: string;
  port: number;
  /** The address tasks are reached at (HOST, container_status). */
  advertiseIp: string;
  workDir: string;
  resources: Resources;
  attributes: Attribute[];
  /** Grace between SIGTERM and SIGKILL when the task names none (default 5 s). */
  killGraceMs?: number;
  /** First status update retry (default 2 s), doubling up to `statusUpdateRetryMaxMs` (60 s). */
  statusUpdateRetryMs?: number;
  statusUpdateRetryMaxMs?: number;
  reconnectMaxMs?: number;
}

interface TaskEntry {
  record: TaskRecord;
  chain: Promise<void>;
  killing?: KillCause;
  health?: HealthWatch;
}

/** One task as `/state` shows it. */
export interface TaskView {
  id: string;
  name: string;
  framework_id: string;
  state: string;
  healthy?: boolean;
  container_id: string;
  ports: number[];
}

/** The agent as `GET /state` shows it. */
export interface AgentState {
  id: string | null;
  hostname: string;
  port: number;
  master: string;
  connected: boolean;
  containerizer: string;
  resources: Record<string, number | string>;
  attributes: Attribute[];
  tasks: TaskView[];
}

/** Whether a framework declared a capability. */
function hasCapability(info: FrameworkInfo, type: string): boolean {
  return (info.capabilities ?? []).some((c) => c.type === type);
}

function graceOf(policy: KillPolicy | undefined): number | undefined {
  const ns = policy?.grace_period?.nanoseconds;
  return ns === undefined ? undefined : Math.max(0, Math.round(ns / 1e6));
}

/** The agent. `start()` recovers and connects; `stop()` leaves tasks running. */
export class Agent {
  readonly #deps: AgentDeps;
  readonly #options: AgentOptions;
  readonly #entries = new Map<string, TaskEntry>();
  readonly #updates: StatusUpdateManager;
  readonly #connection: MasterConnection;
  #agentId: string | undefined;

  constructor(deps: AgentDeps, options: AgentOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#updates = new StatusUpdateManager({
      kv: deps.kv,
      clock: deps.clock,
      ids: deps.ids,
      log: deps.log,
      send: (u) => {
        if (!this.#connection.subscribed || !this.#agentId) {
          return Promise.reject(new Error("not subscribed to the master"));
        }
        return this.#connection.post({
          type: "UPDATE",
          agent_id: { value: this.#agentId },
          update: { framework_id: u.framework_id, status: u.status },
        });
      },
    }, {
      retryMinMs: options.statusUpdateRetryMs ?? 2000,
      retryMaxMs: options.statusUpdateRetryMaxMs ?? 60_000,
    });
    this.#connection = new MasterConnection(
      { clock: deps.clock, fetch: deps.fetch, random: deps.random, log: deps.log },
      { master: options.master, reconnectMaxMs: options.reconnectMaxMs },
      { subscribeCall: () => this.#subscribeCall(), onEvent: (e) => this.#onEvent(e) },
    );
  }

  /** The id the master gave, once known. */
  get id(): string | undefined {
    return this.#agentId;
  }

  /** Whether the agent is subscribed to the master right now. */
  get connected(): boolean {
    return this.#connection.subscribed;
  }

  /** The containerizer's kind. */
  get containerizer(): string {
    return this.#deps.containerizer.kind;
  }

  /** Recovers state from the store and the containerizer, then connects to the master. */
  async start(): Promise<void> {
    await this.#recover();
    this.#updates.start();
    this.#connection.start();
  }

  /** Disconnects and stops retrying; tasks keep running, state stays in the store. */
  async stop(): Promise<void> {
    await this.#connection.stop();
    await this.#updates.stop();
    for (const entry of this.#entries.values()) entry.health?.stop();
    await Promise.all([...this.#entries.values()].map((e) => e.chain));
  }

  /** What `GET /state` shows. */
  state(): AgentState {
    const o = this.#options;
    return {
      id: this.#agentId ?? null,
      hostname: o.hostname,
      port: o.port,
      master: o.master,
      connected: this.connected,
      containerizer: this.containerizer,
      resources: o.resources.toFlat(),
      attributes: o.attributes,
      tasks: this.tasks(),
    };
  }

  /** Every task the agent holds (until its terminal update is acknowledged). */
  tasks(): TaskView[] {
    return [...this.#entries.values()].map(({ record }) => ({
      id: record.task.task_id.value,
      name: record.task.name,
      framework_id: record.framework_id.value,
      state: record.status.state,
      ...(record.status.healthy !== undefined ? { healthy: record.status.healthy } : {}),
      container_id: record.container_id,
      ports: taskPorts(record.task),
    }));
  }

  /** A task's output, or undefined when the agent does not know the task. */
  logs(taskId: string, options: LogOptions): ReadableStream<Uint8Array> | undefined {
    const entry = [...this.#entries.values()].find((e) => e.record.task.task_id.value === taskId);
    return entry && this.#deps.containerizer.logs(entry.record.container_id, options);
  }

  /** Resolves once every queued task operation has run (for tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.chain));
  }

  #log(message: string): void {
    this.#deps.log?.(message);
  }

  #subscribeCall(): AgentCall {
    const options = this.#options;
    return {
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          ...(this.#agentId ? { id: { value: this.#agentId } } : {}),
          hostname: options.hostname,
          port: options.port,
          resources: options.resources.toMesos(),
          attributes: options.attributes,
        },
        tasks: [...this.#entries.values()].map(({ record }) => ({
          framework_id: record.framework_id,
          framework_info: record.framework_info,
          task: record.task,
          status: record.status,
        })),
      },
    };
  }

  async #onEvent(event: AgentEvent): Promise<void> {
    switch (event.type) {
      case "SUBSCRIBED": {
        const id = event.subscribed.agent_id.value;
        if (this.#agentId && this.#agentId !== id) {
          this.#log(`The master gave a new agent id ${id} (was ${this.#agentId})`);
        }
        this.#agentId = id;
        await this.#deps.kv.set(keys.agentId(), id);
        this.#log(`Subscribed to master ${event.subscribed.master_id} as agent ${id}`);
        this.#updates.resendNow();
        return;
      }
      case "LAUNCH": {
        const { framework_id, framework_info, task } = event.launch;
        return this.#launch(framework_id.value, framework_info, task);
      }
      case "LAUNCH_GROUP": {
        const { framework_id, framework_info, tasks, executor } = event.launch_group;
        for (const task of tasks) {
          this.#launch(framework_id.value, framework_info, task, executor.executor_id.value);
        }
        return;
      }
      case "KILL": {
        const { framework_id, task_id, kill_policy } = event.kill;
        const entry = this.#entries.get(streamKey(framework_id.value, task_id.value));
        if (!entry) return void this.#unknownKill(framework_id.value, task_id.value);
        return this.#killGroupOf(entry, { graceMs: graceOf(kill_policy) });
      }
      case "SHUTDOWN_FRAMEWORK": {
        const fw = event.shutdown_framework.framework_id.value;
        for (const entry of this.#entries.values()) {
          if (entry.record.framework_id.value !== fw) continue;
          this.#enqueue(
            entry,
            () =>
              this.#kill(entry, {
                message: "Framework shut down",
                reason: "REASON_FRAMEWORK_REMOVED",
              }),
          );
        }
        return;
      }
      case "ACKNOWLEDGE": {
        const { framework_id, task_id, uuid } = event.acknowledge;
        const acked = await this.#updates.acknowledge(framework_id.value, task_id.value, uuid);
        const entry = this.#entries.get(streamKey(framework_id.value, task_id.value));
        if (acked && entry && isTerminalState(acked.status.state)) {
          this.#enqueue(entry, () => this.#cleanup(entry));
        }
        return;
      }
      case "RECONCILE":
        for (const { framework_id, task_id } of event.reconcile.tasks) {
          this.#reconcile(framework_id.value, task_id.value);
        }
        return;
      case "HEARTBEAT":
        return;
      case "ERROR":
        this.#log(`The master sent an error: ${event.error.message}`);
        return;
    }
  }

  #enqueue(entry: TaskEntry, op: () => Promise<void>): void {
    entry.chain = entry.chain.then(op).catch((e) => {
      this.#log(
        `Task "${entry.record.task.task_id.value}": ${e instanceof Error ? e.stack : String(e)}`,
      );
    });
  }

  #launch(frameworkId: string, frameworkInfo: FrameworkInfo, task: TaskInfo, group?: string): void {
    const key = streamKey(frameworkId, task.task_id.value);
    if (this.#entries.has(key)) {
      this.#log(`Ignoring a second LAUNCH of task "${task.task_id.value}"`);
      return;
    }
    const record: TaskRecord = {
      framework_id: { value: frameworkId },
      framework_info: frameworkInfo,
      task,
      status: { task_id: task.task_id, state: "TASK_STAGING" },
      container_id: this.#deps.ids.uuid(),
      ...(group ? { group } : {}),
    };
    const entry: TaskEntry = { record, chain: Promise.resolve() };
    this.#entries.set(key, entry);
    this.#enqueue(entry, () => this.#run(entry));
  }

  async #run(entry: TaskEntry): Promise<void> {
    const { record } = entry;
    // The task record is written with TASK_STARTING, atomically, before anything runs.
    await this.#status(entry, { state: "TASK_STARTING" });
    const spec = containerSpec({
      task: record.task,
      frameworkId: record.framework_id.value,
      agentId: this.#agentIdFor(record),
      host: this.#options.advertiseIp,
      workDir: this.#options.workDir,
    });
    try {
      await Deno.mkdir(spec.sandbox, { recursive: true });
      await this.#deps.containerizer.launch(record.container_id, spec);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.#status(entry, {
        state: "TASK_FAILED",
        message,
        reason: "REASON_CONTAINER_LAUNCH_FAILED",
      }, "SOURCE_AGENT");
      return;
    }
    entry.record = { ...record, started_at: this.#deps.clock.now() };
    await this.#status(entry, {
      state: "TASK_RUNNING",
      container_status: {
        container_id: { value: record.container_id },
        network_infos: [{ ip_addresses: [{ ip_address: this.#options.advertiseIp }] }],
      },
    });
    this.#watch(entry);
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
      onKill: (why) =>
        this.#enqueue(entry, () =>
          this.#kill(entry, {
            message: `Task failed its health check: ${why}`,
            reason: "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
            healthy: false,
          })),
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
    for (const member of members) this.#enqueue(member, () => this.#kill(member, cause));
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

  /** Re-sends the latest status of a task, unreliably (no uuid), as RECONCILE asks. */
  #reconcile(frameworkId: string, taskId: string): void {
    const entry = this.#entries.get(streamKey(frameworkId, taskId));
    const latest: TaskStatus = entry
      ? { ...entry.record.status, reason: "REASON_RECONCILIATION", timestamp: this.#now() }
      : this.#fullStatus(taskId, {
        state: "TASK_LOST",
        message: `Task "${taskId}" is unknown to this agent`,
        reason: "REASON_RECONCILIATION",
      }, "SOURCE_AGENT");
    delete latest.uuid;
    if (!this.#agentId) return;
    this.#connection.post({
      type: "UPDATE",
      agent_id: { value: this.#agentId },
      update: { framework_id: { value: frameworkId }, status: latest },
    }).catch((e) =>
      this.#log(`Reconciliation of "${taskId}" not sent: ${e instanceof Error ? e.message : e}`)
    );
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
    await this.#deps.kv.delete(keys.task(record.framework_id.value, record.task.task_id.value));
    this.#entries.delete(streamKey(record.framework_id.value, record.task.task_id.value));
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

  /** Loads the agent's id, tasks and pending updates; settles what changed while it was down. */
  async #recover(): Promise<void> {
    const { kv, containerizer } = this.#deps;
    const saved = await kv.get<string>(keys.agentId());
    if (typeof saved.value === "string") this.#agentId = saved.value;
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
      `Recovered ${this.#entries.size} task(s), ${pending.length} pending status update(s)` +
        (this.#agentId ? ` as agent ${this.#agentId}` : ""),
    );
  }
}
