/**
 * FakeMaster: a small test peer that speaks the agent protocol (protocol/agent_api.ts) over
 * real HTTP on 127.0.0.1, so agent tests need no real master. It records every call, lets the
 * test push events on the agent's stream, and can acknowledge updates by itself.
 */
import {
  type AgentCall,
  AgentCallSchema,
  type AgentEvent,
  encodeRecord,
  type TaskState,
  type TaskStatus,
} from "../../protocol/mod.ts";

type Subscribe = Extract<AgentCall, { type: "SUBSCRIBE" }>;
type Update = Extract<AgentCall, { type: "UPDATE" }>;

/** Options of a `FakeMaster`. */
export interface FakeMasterOptions {
  /** The id given to an agent that subscribes without one. */
  agentId?: string;
  heartbeatIntervalSeconds?: number;
  /** Acknowledge every reliable update as it arrives (default true). */
  autoAck?: boolean;
}

/** A fake master on a real socket. */
export class FakeMaster {
  readonly subscriptions: Subscribe[] = [];
  readonly updates: Update[] = [];
  heartbeats = 0;
  autoAck: boolean;
  /** While true the current stream stays open but carries nothing (a hung master). */
  muted = false;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #options: Required<FakeMasterOptions>;
  #stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  #streamCount = 0;
  #heartbeatTimer: ReturnType<typeof setInterval>;

  constructor(options: FakeMasterOptions = {}) {
    this.#options = { agentId: "agent-1", heartbeatIntervalSeconds: 1, autoAck: true, ...options };
    this.autoAck = this.#options.autoAck;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.#heartbeatTimer = setInterval(
      () => this.send({ type: "HEARTBEAT" }),
      this.#options.heartbeatIntervalSeconds * 1000,
    );
  }

  /** The master's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** How many SUBSCRIBE streams were opened. */
  get streams(): number {
    return this.#streamCount;
  }

  /** Pushes an event on the current agent stream (dropped when no agent is subscribed). */
  send(event: AgentEvent): void {
    if (this.muted) return;
    try {
      this.#stream?.enqueue(encodeRecord(event));
    } catch {
      this.#stream = undefined;
    }
  }

  /** Closes the current agent stream, as a master failover or network break would. */
  dropStream(): void {
    try {
      this.#stream?.close();
    } catch { /* already closed */ }
    this.#stream = undefined;
  }

  /** Acknowledges an update as the framework would. */
  ack(status: TaskStatus, frameworkId = "fw-1"): void {
    if (!status.uuid) throw new Error("an update without uuid needs no ack");
    this.send({
      type: "ACKNOWLEDGE",
      acknowledge: {
        framework_id: { value: frameworkId },
        task_id: status.task_id,
        uuid: status.uuid,
      },
    });
  }

  /** Every status received for a task, in arrival order. */
  statusesOf(taskId: string): TaskStatus[] {
    return this.updates.filter((u) => u.update.status.task_id.value === taskId).map((u) =>
      u.update.status
    );
  }

  /** The states received for a task, in arrival order. */
  statesOf(taskId: string): TaskState[] {
    return this.statusesOf(taskId).map((s) => s.state);
  }

  /** Waits until a status of the task in `state` arrives; resolves with it. */
  async waitForState(taskId: string, state: TaskState, timeoutMs = 15_000): Promise<TaskStatus> {
    let found: TaskStatus | undefined;
    await waitFor(
      () => (found = this.statusesOf(taskId).find((s) => s.state === state)) !== undefined,
      {
        timeoutMs,
        what: `task "${taskId}" to reach ${state} (saw ${
          this.statesOf(taskId).join(", ") || "nothing"
        })`,
      },
    );
    return found!;
  }

  /** Stops serving. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeatTimer);
    this.dropStream();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/api/v1/agent") {
      return new Response("not found", { status: 404 });
    }
    const parsed = AgentCallSchema.safeParse(await req.json());
    if (!parsed.success) return new Response(parsed.error.message, { status: 400 });
    const call = parsed.data;
    if (call.type === "SUBSCRIBE") {
      this.subscriptions.push(call);
      this.dropStream();
      this.muted = false;
      this.#streamCount++;
      const id = call.subscribe.agent_info.id?.value ?? this.#options.agentId;
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.#stream = controller;
          controller.enqueue(encodeRecord({
            type: "SUBSCRIBED",
            subscribed: {
              agent_id: { value: id },
              master_id: "fake-master",
              heartbeat_interval_seconds: this.#options.heartbeatIntervalSeconds,
            },
          }));
        },
        cancel: () => {
          this.#stream = undefined;
        },
      });
      return new Response(body, {
        headers: {
          "Content-Type": "application/json",
          "Mesos-Stream-Id": `s-${this.#streamCount}`,
        },
      });
    }
    if (call.type === "UPDATE") {
      this.updates.push(call);
      const status = call.update.status;
      if (this.autoAck && status.uuid) this.ack(status, call.update.framework_id.value);
    } else this.heartbeats++;
    return new Response(null, { status: 202 });
  }
}

/** Polls `predicate` until it holds, failing after the deadline with `what` in the message. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what?: string; pollMs?: number } = {},
): Promise<void> {
  const until = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await predicate())) {
    if (Date.now() > until) {
      throw new Error(`Timed out waiting for ${options.what ?? "a condition"}`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 25));
  }
}
