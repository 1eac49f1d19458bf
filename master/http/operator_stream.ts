/**
 * The operator API's SUBSCRIBE (Mesos v1, JSON RecordIO): SUBSCRIBED with the state, then
 * TASK_ADDED, TASK_UPDATED, AGENT_ADDED, AGENT_REMOVED, FRAMEWORK_ADDED, FRAMEWORK_UPDATED,
 * FRAMEWORK_REMOVED, and HEARTBEAT (sent by the runtime's heartbeat timer).
 *
 * Events are derived in one place: from each batch of changes the runtime has just made durable
 * (`runtime.onCommit`), in commit order, by comparing each record with what the previous batches
 * left. Each subscriber sees what its view ACLs let it (as GET_STATE).
 */
import { isTerminalState, type TaskState } from "../../protocol/mod.ts";
import type { Change } from "../core/context.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "../core/records.ts";
import type { MasterService } from "../runtime.ts";
import { agentPid, operatorView, v1Task, VERSION, type Visibility } from "./state_json.ts";

/** The operator event streams of one runtime: who sees what, and what is known so far. */
export class OperatorEvents {
  readonly #runtime: MasterService;
  readonly #views = new Map<string, Visibility>();
  /** Durable state as of the last commit: agents and frameworks known, tasks' states. */
  readonly #agents = new Set<string>();
  readonly #frameworks = new Set<string>();
  readonly #tasks = new Map<string, TaskState>();

  constructor(runtime: MasterService) {
    this.#runtime = runtime;
    const ctx = runtime.view;
    for (const id of ctx.agents.keys()) this.#agents.add(id);
    for (const id of ctx.frameworks.keys()) this.#frameworks.add(id);
    for (const t of ctx.tasks.values()) this.#tasks.set(key(t), t.state);
    runtime.onCommit((changes) => this.#publish(changes));
  }

  /**
   * Opens a subscriber's stream: SUBSCRIBED (the state it may see) first, then events. The
   * stream ends when the client goes away or the runtime stops (leadership lost).
   */
  async subscribe(view: Visibility): Promise<ReadableStream<Uint8Array>> {
    const runtime = this.#runtime;
    const streamId = crypto.randomUUID();
    const subscribed = await runtime.read((m) => ({
      type: "SUBSCRIBED",
      subscribed: {
        get_state: (operatorView(m, "GET_STATE", view) as { get_state: unknown }).get_state,
        heartbeat_interval_seconds: m.options.heartbeatIntervalMs / 1000,
      },
    }));
    const body = runtime.operators.open(streamId, () => this.#views.delete(streamId));
    runtime.operators.bind(streamId, streamId);
    this.#views.set(streamId, view);
    runtime.operators.send(streamId, subscribed);
    return body;
  }

  #publish(changes: readonly Change[]): void {
    const ctx = this.#runtime.view;
    for (const change of changes) {
      if (change.kind === "agent") {
        if (change.value && !this.#agents.has(change.id)) {
          this.#agents.add(change.id);
          this.#send(() => true, {
            type: "AGENT_ADDED",
            agent_added: { agent: v1Agent(change.value!) },
          });
        } else if (!change.value && this.#agents.delete(change.id)) {
          this.#send(() => true, {
            type: "AGENT_REMOVED",
            agent_removed: { agent_id: { value: change.id } },
          });
        }
      } else if (change.kind === "framework") {
        const f = change.value;
        if (f) {
          const added = !this.#frameworks.has(f.id);
          this.#frameworks.add(f.id);
          const framework = v1Framework(f, ctx.frameworkConnections.has(f.id));
          this.#send(
            (v) => v.framework(f),
            added
              ? { type: "FRAMEWORK_ADDED", framework_added: { framework } }
              : { type: "FRAMEWORK_UPDATED", framework_updated: { framework } },
          );
        } else if (this.#frameworks.delete(change.id)) {
          const last = ctx.completedFrameworks.findLast((c) => c.framework.id === change.id);
          this.#send((v) => last === undefined || v.framework(last.framework), {
            type: "FRAMEWORK_REMOVED",
            framework_removed: {
              framework_info: last?.framework.info ?? { id: { value: change.id } },
            },
          });
        }
      } else if (change.kind === "task") {
        const id = `${change.frameworkId}/${change.taskId}`;
        const before = this.#tasks.get(id);
        const task = change.value;
        if (task) this.#tasks.set(id, task.state);
        else this.#tasks.delete(id);
        if (this.#views.size === 0) continue;
        if (task && before === undefined) {
          this.#send((v) => v.task(task), {
            type: "TASK_ADDED",
            task_added: { task: v1Task(task) },
          });
        } else if (task && before !== task.state && !isTerminalState(before!)) {
          this.#send((v) => v.task(task), taskUpdated(task));
        } else if (!task && before !== undefined && !isTerminalState(before)) {
          // Ended and forgotten in one step (its agent lost or gone, its framework torn down):
          // its final record is among the completed ones.
          const last = ctx.completedTasks.findLast((t) =>
            t.frameworkId === change.frameworkId && t.info.task_id.value === change.taskId
          );
          if (last) this.#send((v) => v.task(last), taskUpdated(last));
        }
        // Otherwise: a status with the same state, or an acknowledged terminal task leaving the
        // books — nothing an operator sees changes.
      }
    }
  }

  #send(visible: (view: Visibility) => boolean, event: unknown): void {
    for (const [streamId, view] of this.#views) {
      if (visible(view)) this.#runtime.operators.send(streamId, event);
    }
  }
}

function taskUpdated(task: TaskRecord) {
  return {
    type: "TASK_UPDATED",
    task_updated: {
      framework_id: { value: task.frameworkId },
      state: task.state,
      status: task.statuses.at(-1),
    },
  };
}

function key(t: TaskRecord): string {
  return `${t.frameworkId}/${t.info.task_id.value}`;
}

function v1Agent(a: AgentRecord) {
  return {
    agent_info: a.info,
    pid: agentPid(a),
    active: !a.deactivated,
    deactivated: a.deactivated,
    version: VERSION,
    registered_time: { nanoseconds: a.registeredTime * 1e6 },
    total_resources: a.info.resources,
  };
}

function v1Framework(f: FrameworkRecord, connected: boolean) {
  return {
    framework_info: f.info,
    active: connected,
    connected,
    recovered: false,
    registered_time: { nanoseconds: f.registeredTime * 1e6 },
  };
}
