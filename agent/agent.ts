/**
 * The agent: recovers its tasks, subscribes to the master, hands each command of the stream to
 * the task supervisor, and sends the status updates it produces, reliably.
 */
import {
  type AgentCall,
  type AgentEvent,
  type Attribute,
  reservationViews,
  type Resource,
  Resources,
  type TaskStatus,
} from "../protocol/mod.ts";
import { type Clock, type Ids, Masters } from "../base/mod.ts";
import type { Containerizer, LogOptions } from "./containerizer/containerizer.ts";
import { keys } from "./keys.ts";
import { KvBatcher } from "./kv_batcher.ts";
import { MasterConnection } from "./master_connection.ts";
import { STATUS_UPDATE_RETRY, StatusUpdateManager } from "./status_update_manager.ts";
import { TaskSupervisor } from "./task_supervisor.ts";
import type { Fetcher } from "./fetcher.ts";
import { streamLogFile } from "./containerizer/log_file.ts";
import { DEFAULT_GC_DELAY_MS, sweepSandboxes } from "./sandbox_gc.ts";
import { sandboxPath, taskPorts } from "./task_spec.ts";
import {
  agentTotal,
  loadCheckpointed,
  saveCheckpointed,
  syncVolumeDirs,
} from "./persistent_volumes.ts";

/** What the agent needs from the world. */
export interface AgentDeps {
  kv: Deno.Kv;
  clock: Clock;
  ids: Ids;
  containerizer: Containerizer;
  /** How the agent reaches the masters (built into `Masters` when `master` is a string). */
  fetch?: typeof fetch;
  random?: () => number;
  log?: (message: string) => void;
  /** Sees launches, statuses and acknowledgements (metrics). */
  observer?: AgentObserver;
  /** Fetches tasks' URIs into their sandboxes (default: one caching in the work dir). */
  fetcher?: Fetcher;
}

/** What the agent reports to its metrics. */
export interface AgentObserver {
  launched(taskId: string): void;
  status(status: TaskStatus): void;
  acknowledged(): void;
}

/** How the agent is configured (from its flags). */
export interface AgentOptions {
  /** The masters: `http://m1:5050` or a comma-separated list; the agent follows the leader. */
  master: string | Masters;
  hostname: string;
  port: number;
  /** The address tasks are reached at (HOST, container_status); the master names us by it. */
  advertiseIp: string;
  /** The address task ports are published on (default `advertiseIp`). */
  publishIp?: string;
  workDir: string;
  resources: Resources;
  attributes: Attribute[];
  /** Grace between SIGTERM and SIGKILL when the task names none (default 5 s). */
  killGraceMs?: number;
  /** `https` when the agent's API serves TLS: the master reaches it so (default `http`). */
  scheme?: "http" | "https";
  /** Run tasks as their user (Mesos' `--switch_user`, default true); false: as the agent. */
  switchUser?: boolean;
  /** First status update retry (default 10 s), doubling up to `statusUpdateRetryMaxMs` (10 min). */
  statusUpdateRetryMs?: number;
  statusUpdateRetryMaxMs?: number;
  reconnectMaxMs?: number;
  /** How long a finished task's sandbox stays (Mesos' `--gc_delay`, default one week). */
  gcDelayMs?: number;
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
  /** Whom it runs as, as Mesos decides: `CommandInfo.user`, else `FrameworkInfo.user`. */
  user: string;
}

/** One executor's usage, as Mesos' `GET /monitor/statistics` lists it (a task is its executor). */
export interface ExecutorStatistics {
  executor_id: string;
  executor_name: string;
  framework_id: string;
  source: string;
  statistics: {
    /** Seconds since the epoch. */
    timestamp: number;
    cpus_user_time_secs: number;
    cpus_system_time_secs: number;
    cpus_limit: number;
    mem_rss_bytes?: number;
    mem_limit_bytes: number;
  };
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
  /** By role, as Mesos' agent `/state`: flat, and full `Resource`s with reservations and volumes. */
  reserved_resources?: Record<string, Record<string, number | string>>;
  reserved_resources_full?: Record<string, Resource[]>;
  unreserved_resources?: Record<string, number | string>;
  unreserved_resources_full?: Resource[];
  attributes: Attribute[];
  tasks: TaskView[];
}

/** The agent. `start()` recovers and connects; `stop()` leaves tasks running. */
export class Agent {
  readonly #deps: AgentDeps;
  readonly #options: AgentOptions;
  readonly #stopping = new AbortController();
  readonly #updates: StatusUpdateManager;
  readonly #tasks: TaskSupervisor;
  readonly #connection: MasterConnection;
  readonly #masters: Masters;
  #agentId: string | undefined;
  #clusterId: string | undefined;
  /** `--resources` with the checkpointed reservations and volumes applied (set by `start`). */
  #total: Resources;
  #checkpointed = Resources.empty();

  constructor(deps: AgentDeps, options: AgentOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#total = options.resources;
    const batcher = new KvBatcher(deps.kv);
    this.#updates = new StatusUpdateManager({
      kv: deps.kv,
      batcher,
      clock: deps.clock,
      ids: deps.ids,
      log: deps.log,
      observe: (status) => deps.observer?.status(status),
      send: (u) => {
        // Not connected: nothing to send to. The update stays pending and goes out again
        // after the next SUBSCRIBED (`resendNow`), so there is no point in logging a failure.
        if (!this.#connection.subscribed || !this.#agentId) return Promise.resolve();
        return this.#connection.post({
          type: "UPDATE",
          agent_id: { value: this.#agentId },
          update: { framework_id: u.framework_id, status: u.status },
        });
      },
    }, {
      retryMinMs: options.statusUpdateRetryMs ?? STATUS_UPDATE_RETRY.retryMinMs,
      retryMaxMs: options.statusUpdateRetryMaxMs ?? STATUS_UPDATE_RETRY.retryMaxMs,
    });
    this.#tasks = new TaskSupervisor({
      kv: deps.kv,
      clock: deps.clock,
      ids: deps.ids,
      containerizer: deps.containerizer,
      updates: this.#updates,
      batcher,
      agentId: () => this.#agentId,
      log: deps.log,
      fetcher: deps.fetcher,
    }, {
      advertiseIp: options.advertiseIp,
      publishIp: options.publishIp,
      workDir: options.workDir,
      killGraceMs: options.killGraceMs,
      switchUser: options.switchUser,
    });
    this.#masters = Masters.from(options.master, { fetch: deps.fetch });
    this.#connection = new MasterConnection(
      { clock: deps.clock, masters: this.#masters, random: deps.random, log: deps.log },
      { reconnectMaxMs: options.reconnectMaxMs },
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
    const saved = await this.#deps.kv.get<string>(keys.agentId());
    if (typeof saved.value === "string") this.#agentId = saved.value;
    const cluster = await this.#deps.kv.get<string>(keys.clusterId());
    if (typeof cluster.value === "string") this.#clusterId = cluster.value;
    this.#checkpointed = await loadCheckpointed(this.#deps.kv);
    this.#total = agentTotal(this.#options.resources, this.#checkpointed);
    for (
      const line of await syncVolumeDirs(
        this.#options.workDir,
        Resources.empty(),
        this.#checkpointed,
      )
    ) {
      this.#log(line);
    }
    // The engine may be down (a Docker restart): wait for it rather than report tasks wrongly.
    for (let attempt = 0;; attempt++) {
      try {
        await this.#tasks.recover();
        break;
      } catch (e) {
        const delay = Math.min(250 * 2 ** attempt, 5_000);
        this.#deps.log?.(`Recovery failed (${(e as Error).message}); retrying in ${delay} ms`);
        await this.#deps.clock.sleep(delay);
      }
    }
    this.#updates.start();
    this.#connection.start();
    void this.#collectSandboxes();
  }

  /** Disconnects and stops retrying; tasks keep running, state stays in the store. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#connection.stop();
    await this.#updates.stop();
    await this.#tasks.stop();
  }

  /** What `GET /state` shows. */
  state(): AgentState {
    const o = this.#options;
    return {
      id: this.#agentId ?? null,
      hostname: o.hostname,
      port: o.port,
      master: this.#masters.text,
      connected: this.connected,
      containerizer: this.containerizer,
      resources: this.#total.toFlat(),
      ...reservationViews(this.#total),
      attributes: o.attributes,
      tasks: this.tasks(),
    };
  }

  /** Every task the agent holds (until its terminal update is acknowledged). */
  tasks(): TaskView[] {
    return this.#tasks.records().map((record) => ({
      id: record.task.task_id.value,
      name: record.task.name,
      framework_id: record.framework_id.value,
      state: record.status.state,
      ...(record.status.healthy !== undefined ? { healthy: record.status.healthy } : {}),
      container_id: record.container_id,
      ports: taskPorts(record.task),
      user: record.task.command?.user ?? record.framework_info.user,
    }));
  }

  /**
   * CPU time and memory of every running task's container, in Mesos' `/monitor/statistics`
   * shape; tasks whose containerizer cannot tell are left out.
   */
  async statistics(): Promise<ExecutorStatistics[]> {
    const stats = this.#deps.containerizer.stats?.bind(this.#deps.containerizer);
    if (!stats) return [];
    const running = this.#tasks.records().filter((r) => r.status.state === "TASK_RUNNING");
    const out = await Promise.all(running.map(async (record) => {
      const usage = await stats(record.container_id).catch(() => undefined);
      if (!usage) return [];
      const taskId = record.task.task_id.value;
      const limits = Resources.fromMesos(record.task.resources);
      return [{
        executor_id: taskId,
        executor_name: `Command Executor (Task: ${taskId})`,
        framework_id: record.framework_id.value,
        source: taskId,
        statistics: {
          timestamp: this.#deps.clock.now() / 1000,
          cpus_user_time_secs: usage.cpuUserSeconds,
          cpus_system_time_secs: usage.cpuSystemSeconds,
          cpus_limit: limits.scalar("cpus"),
          ...(usage.memRssBytes !== undefined ? { mem_rss_bytes: usage.memRssBytes } : {}),
          mem_limit_bytes: limits.scalar("mem") * 1024 * 1024,
        },
      }];
    }));
    return out.flat();
  }

  /** How many status updates wait for the master's acknowledgement. */
  pendingUpdates(): number {
    return this.#updates.pending().length;
  }

  /**
   * A task's output: from its container while the agent tracks the task, afterwards from the
   * `stdout`/`stderr` files its sandbox keeps (the newest sandbox of that task id, whatever the
   * framework); undefined when neither exists.
   */
  async logs(taskId: string, options: LogOptions): Promise<ReadableStream<Uint8Array> | undefined> {
    const record = this.#tasks.find(taskId);
    if (record) return this.#deps.containerizer.logs(record.container_id, options);
    const sandbox = await newestSandbox(this.#options.workDir, taskId);
    if (!sandbox) return undefined;
    return streamLogFile(`${sandbox}/${options.stream}`, {
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      follow: options.follow ?? false,
      ended: () => true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Resolves once every queued task operation has run (for tests). */
  async settled(): Promise<void> {
    await this.#tasks.settled();
  }

  /** Sweeps old sandboxes of forgotten tasks every `gcDelayMs` (at most every 10 minutes). */
  async #collectSandboxes(): Promise<void> {
    const delayMs = this.#options.gcDelayMs ?? DEFAULT_GC_DELAY_MS;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        await this.#deps.clock.sleep(Math.min(delayMs, 600_000), signal);
      } catch {
        return;
      }
      const live = this.#tasks.liveDirs();
      const now = this.#deps.clock.now();
      try {
        for (const path of await sweepSandboxes(this.#options.workDir, live, delayMs, now)) {
          this.#log(`Removed the sandbox ${path} (older than the gc delay)`);
        }
      } catch (e) {
        this.#log(`Sandbox collection failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  #log(message: string): void {
    this.#deps.log?.(message);
  }

  #subscribeCall(): AgentCall {
    const o = this.#options;
    return {
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          ...(this.#agentId ? { id: { value: this.#agentId } } : {}),
          hostname: o.hostname,
          port: o.port,
          resources: this.#total.toMesos(),
          attributes: o.attributes,
        },
        ...(this.#clusterId ? { cluster_id: this.#clusterId } : {}),
        advertise_ip: o.advertiseIp,
        ...(o.scheme === "https" ? { scheme: "https" as const } : {}),
        tasks: this.#tasks.records().map((record) => ({
          framework_id: record.framework_id,
          framework_info: record.framework_info,
          task: record.task,
          ...(record.group ? { executor_id: { value: record.group } } : {}),
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
        // The first master's cluster is ours from now on: a master of another cluster (one
        // whose store was lost) refuses us instead of silently adopting our tasks.
        const cluster = event.subscribed.cluster_id;
        if (cluster !== undefined && this.#clusterId === undefined) {
          this.#clusterId = cluster;
          await this.#deps.kv.set(keys.clusterId(), cluster);
        }
        this.#log(
          `Subscribed to master ${event.subscribed.master_id} at ${
            this.#connection.master ?? this.#masters.current
          } as agent ${id}`,
        );
        this.#updates.resendNow();
        return;
      }
      case "LAUNCH": {
        const { framework_id, framework_info, task } = event.launch;
        this.#deps.observer?.launched(task.task_id.value);
        return this.#tasks.launch(framework_id.value, framework_info, task);
      }
      case "LAUNCH_GROUP": {
        const { framework_id, framework_info, tasks, executor } = event.launch_group;
        for (const task of tasks) this.#deps.observer?.launched(task.task_id.value);
        this.#tasks.launchGroup(framework_id.value, {
          frameworkInfo: framework_info,
          executor,
          tasks,
        });
        return;
      }
      case "KILL": {
        const { framework_id, task_id, kill_policy } = event.kill;
        return this.#tasks.kill(framework_id.value, task_id.value, kill_policy);
      }
      case "SHUTDOWN_FRAMEWORK":
        return this.#tasks.shutdownFramework(event.shutdown_framework.framework_id.value);
      case "ACKNOWLEDGE": {
        const { framework_id, task_id, uuid } = event.acknowledge;
        // Not awaited: the stream goes on while the deletion commits.
        this.#updates.acknowledge(framework_id.value, task_id.value, uuid).then(
          (acked) => {
            if (!acked) return;
            this.#deps.observer?.acknowledged();
            return this.#tasks.acknowledged(acked);
          },
          (e) => this.#log(`Acknowledgement of "${task_id.value}" not recorded: ${e}`),
        );
        return;
      }
      case "RECONCILE": {
        // An empty list asks for every task the agent holds (implicit reconciliation).
        const named = event.reconcile.tasks.length > 0
          ? event.reconcile.tasks
          : this.#tasks.records().map((r) => ({
            framework_id: r.framework_id,
            task_id: r.task.task_id,
          }));
        for (const { framework_id, task_id } of named) {
          this.#reconcile(framework_id.value, task_id.value);
        }
        return;
      }
      case "CHECKPOINT_RESOURCES":
        return await this.#checkpoint(Resources.fromMesos(event.checkpoint_resources.resources));
      case "HEARTBEAT":
        return;
      case "ERROR":
        this.#log(`The master sent an error: ${event.error.message}`);
        return;
    }
  }

  /**
   * Takes the master's new checkpointed resources (Mesos' CheckpointResourcesMessage): volume
   * directories made or removed, then kept in the store, so that a restart and the next
   * SUBSCRIBE report the same total. Handled before the next event of the stream (a LAUNCH on
   * a new volume finds its directory).
   */
  async #checkpoint(checkpointed: Resources): Promise<void> {
    let total: Resources;
    try {
      total = agentTotal(this.#options.resources, checkpointed);
    } catch (e) {
      this.#log(`Checkpointed resources refused: ${e instanceof Error ? e.message : e}`);
      return;
    }
    for (
      const line of await syncVolumeDirs(this.#options.workDir, this.#checkpointed, checkpointed)
    ) {
      this.#log(line);
    }
    await saveCheckpointed(this.#deps.kv, checkpointed);
    this.#checkpointed = checkpointed;
    this.#total = total;
  }

  /** Re-sends the latest status of a task, unreliably (no uuid), as RECONCILE asks. */
  #reconcile(frameworkId: string, taskId: string): void {
    if (!this.#agentId) return;
    const status = this.#tasks.latestStatus(frameworkId, taskId);
    this.#connection.post({
      type: "UPDATE",
      agent_id: { value: this.#agentId },
      update: { framework_id: { value: frameworkId }, status },
    }).catch((e) =>
      this.#log(`Reconciliation of "${taskId}" not sent: ${e instanceof Error ? e.message : e}`)
    );
  }
}

/** The most recently changed sandbox of a task id under any framework, if one is left. */
async function newestSandbox(workDir: string, taskId: string): Promise<string | undefined> {
  let newest: { path: string; mtime: number } | undefined;
  try {
    for await (const framework of Deno.readDir(`${workDir}/sandboxes`)) {
      const path = sandboxPath(workDir, framework.name, taskId);
      const stat = await Deno.stat(path).catch(() => undefined);
      const mtime = stat?.mtime?.getTime() ?? 0;
      if (stat?.isDirectory && (!newest || mtime > newest.mtime)) newest = { path, mtime };
    }
  } catch {
    // No sandboxes yet.
  }
  return newest?.path;
}
