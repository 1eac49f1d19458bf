/**
 * The scheduler driver: speaks the Mesos v1 scheduler HTTP API for a framework. One SUBSCRIBE
 * connection carries events (RecordIO); every other call is its own POST with the stream id.
 */
import {
  type Call,
  type CallType,
  type Clock,
  decodeRecords,
  type Event,
  EventSchema,
  type Filters,
  type FrameworkInfo,
  type Operation,
  systemClock,
  type TaskInfo,
  type TaskStatus,
} from "../protocol/mod.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { type CallbackResult, type Scheduler, SchedulerCallError } from "./scheduler.ts";

/** How a `SchedulerDriver` reaches the master and presents the framework. */
export interface SchedulerDriverOptions {
  /** The master's base URL, e.g. `http://127.0.0.1:5050`. */
  master: string;
  /** user, name, failover_timeout, roles, capabilities, ... (`id` is filled in by the driver). */
  framework: FrameworkInfo;
  /** A framework id from an earlier run, to re-subscribe as that framework after a restart. */
  frameworkId?: string;
  /** Default true: acknowledge each update carrying a uuid after `update()` returned. */
  autoAcknowledge?: boolean;
  clock?: Clock;
  /** Re-subscription backoff; default 250 ms doubling to 10 s, with jitter. */
  backoff?: BackoffOptions;
  /** Source of jitter in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Deadline of each non-SUBSCRIBE call; default 75 s. */
  callTimeoutMs?: number;
  /** The stream counts as dead after this many heartbeat intervals without an event; default 5. */
  missedHeartbeats?: number;
}

const SCHEDULER_PATH = "api/v1/scheduler";
const DEFAULT_HEARTBEAT_SECONDS = 15;
const MAX_REDIRECTS = 5;
const KNOWN_EVENTS: ReadonlySet<string> = new Set(
  EventSchema.options.map((o) => o.shape.type.value),
);

/** Drives one framework: subscribes, re-subscribes with backoff, sends calls, runs callbacks. */
export class SchedulerDriver {
  readonly #scheduler: Scheduler;
  readonly #framework: FrameworkInfo;
  readonly #clock: Clock;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;
  readonly #autoAck: boolean;
  readonly #callTimeoutMs: number;
  readonly #missedHeartbeats: number;
  readonly #life = new AbortController();
  #endpoint: URL;
  #frameworkId: string | undefined;
  #streamId: string | undefined;
  #subscribedOnce = false;
  /** Set by stop()/teardown(): queued events are dropped, the loop ends. */
  #closing = false;
  /** Set when the master made the driver give up (ERROR event, refused re-subscription). */
  #halted = false;
  #loop: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #startWaiter: { resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(scheduler: Scheduler, options: SchedulerDriverOptions) {
    this.#scheduler = scheduler;
    this.#framework = options.framework;
    this.#frameworkId = options.frameworkId ?? options.framework.id?.value;
    this.#clock = options.clock ?? systemClock;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
    this.#autoAck = options.autoAcknowledge ?? true;
    this.#callTimeoutMs = options.callTimeoutMs ?? 75_000;
    this.#missedHeartbeats = options.missedHeartbeats ?? 5;
    const base = options.master.endsWith("/") ? options.master : `${options.master}/`;
    this.#endpoint = new URL(SCHEDULER_PATH, base);
  }

  /** The framework id, once the master assigned one (or the one given to re-subscribe). */
  get frameworkId(): string | undefined {
    return this.#frameworkId;
  }

  /** True from start() until stop(), teardown(), or the master made the driver give up. */
  get running(): boolean {
    return this.#loop !== undefined && !this.#life.signal.aborted;
  }

  /**
   * Subscribes, retrying with backoff while the master is unreachable or answers 5xx.
   * Resolves once SUBSCRIBED arrived; rejects on a 4xx answer (it will not heal) or stop().
   */
  start(): Promise<void> {
    if (this.#loop) return Promise.reject(new Error("SchedulerDriver.start() was already called"));
    return new Promise<void>((resolve, reject) => {
      this.#startWaiter = { resolve, reject };
      this.#loop = this.#run();
    });
  }

  /** Closes the event stream and stops re-subscribing; `teardown` first removes the framework. */
  async stop(options: { teardown?: boolean } = {}): Promise<void> {
    if (options.teardown && this.#streamId && !this.#halted) return await this.teardown();
    this.#closing = true;
    this.#life.abort(new Error("driver stopped"));
    this.#settleStart(new Error("SchedulerDriver stopped before it subscribed"));
    await this.#loop;
  }

  /** ACCEPT: applies operations to the offers; what they leave unused counts as declined. */
  accept(offerIds: string[], operations: Operation[], filters?: Filters): Promise<void> {
    return this.#send((framework_id) => ({
      type: "ACCEPT",
      framework_id,
      accept: { offer_ids: offerIds.map(id), operations, ...(filters ? { filters } : {}) },
    }));
  }

  /** ACCEPT with one LAUNCH of `tasks`. */
  launch(offerIds: string[], tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept(offerIds, [{ type: "LAUNCH", launch: { task_infos: tasks } }], filters);
  }

  /** DECLINE: gives the offers back; `filters.refuse_seconds` keeps them away that long. */
  decline(offerIds: string[], filters?: Filters): Promise<void> {
    return this.#send((framework_id) => ({
      type: "DECLINE",
      framework_id,
      decline: { offer_ids: offerIds.map(id), ...(filters ? { filters } : {}) },
    }));
  }

  /** KILL a task, optionally overriding its grace period. */
  kill(taskId: string, agentId?: string, gracePeriodMs?: number): Promise<void> {
    return this.#send((framework_id) => ({
      type: "KILL",
      framework_id,
      kill: {
        task_id: id(taskId),
        ...(agentId ? { agent_id: id(agentId) } : {}),
        ...(gracePeriodMs !== undefined
          ? { kill_policy: { grace_period: { nanoseconds: Math.round(gracePeriodMs * 1e6) } } }
          : {}),
      },
    }));
  }

  /** ACKNOWLEDGE a status update; it must carry a uuid and an agent id. */
  acknowledge(status: TaskStatus): Promise<void> {
    const { uuid, agent_id } = status;
    if (!uuid || !agent_id) {
      return Promise.reject(
        new SchedulerCallError({
          callType: "ACKNOWLEDGE",
          message: `Cannot acknowledge the update of task "${status.task_id.value}": ` +
            `it carries no ${uuid ? "agent id" : "uuid"}`,
        }),
      );
    }
    return this.#send((framework_id) => ({
      type: "ACKNOWLEDGE",
      framework_id,
      acknowledge: { agent_id, task_id: status.task_id, uuid },
    }));
  }

  /** RECONCILE the given tasks (explicit), or all the master knows when none are given. */
  reconcile(tasks: { taskId: string; agentId?: string }[] = []): Promise<void> {
    return this.#send((framework_id) => ({
      type: "RECONCILE",
      framework_id,
      reconcile: {
        tasks: tasks.map((t) => ({
          task_id: id(t.taskId),
          ...(t.agentId ? { agent_id: id(t.agentId) } : {}),
        })),
      },
    }));
  }

  /** REVIVE: offers again for these roles (all when none), and clear decline filters. */
  revive(roles?: string[]): Promise<void> {
    return this.#send((framework_id) => ({
      type: "REVIVE",
      framework_id,
      revive: roles ? { roles } : {},
    }));
  }

  /** SUPPRESS: no more offers for these roles (all when none) until `revive`. */
  suppress(roles?: string[]): Promise<void> {
    return this.#send((framework_id) => ({
      type: "SUPPRESS",
      framework_id,
      suppress: roles ? { roles } : {},
    }));
  }

  /** MESSAGE: sends data to an executor (unreliable). */
  message(agentId: string, executorId: string, data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.#send((framework_id) => ({
      type: "MESSAGE",
      framework_id,
      message: { agent_id: id(agentId), executor_id: id(executorId), data: toBase64(bytes) },
    }));
  }

  /** SHUTDOWN an executor on an agent. */
  shutdown(executorId: string, agentId: string): Promise<void> {
    return this.#send((framework_id) => ({
      type: "SHUTDOWN",
      framework_id,
      shutdown: { executor_id: id(executorId), agent_id: id(agentId) },
    }));
  }

  /** TEARDOWN: the master kills every task and forgets the framework; the driver then stops. */
  async teardown(): Promise<void> {
    this.#closing = true;
    try {
      await this.#send((framework_id) => ({ type: "TEARDOWN", framework_id }));
    } finally {
      this.#life.abort(new Error("driver torn down"));
      this.#settleStart(new Error("SchedulerDriver torn down before it subscribed"));
      await this.#loop;
    }
  }

  // --- the subscription loop ---------------------------------------------------------------

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#life.signal.aborted) {
      let outcome: { subscribed: boolean; reason: string };
      try {
        outcome = await this.#subscribeOnce();
      } catch (e) {
        if (this.#life.signal.aborted) break;
        if (e instanceof SchedulerCallError && isPermanent(e.httpStatus)) {
          this.#halt(e);
          break;
        }
        outcome = { subscribed: false, reason: errorText(e) };
      }
      this.#streamId = undefined;
      if (this.#life.signal.aborted) break;
      if (outcome.subscribed) {
        attempt = 0;
        const reason = outcome.reason;
        this.#enqueue("disconnected", () => this.#scheduler.disconnected?.(this, reason));
      }
      try {
        await this.#clock.sleep(
          backoffDelay(attempt++, this.#backoff, this.#random),
          this.#life.signal,
        );
      } catch {
        break;
      }
    }
  }

  /** One SUBSCRIBE connection, read to its end. Returns why it ended. */
  async #subscribeOnce(): Promise<{ subscribed: boolean; reason: string }> {
    const connection = new AbortController();
    const signal = AbortSignal.any([this.#life.signal, connection.signal]);
    const frameworkId = this.#frameworkId;
    const call: Call = {
      type: "SUBSCRIBE",
      ...(frameworkId ? { framework_id: id(frameworkId) } : {}),
      subscribe: {
        framework_info: {
          ...this.#framework,
          ...(frameworkId ? { id: id(frameworkId) } : {}),
        },
      },
    };
    let subscribed = false;
    let lastEventAt = this.#clock.now();
    let deadMs = this.#missedHeartbeats * DEFAULT_HEARTBEAT_SECONDS * 1000;
    let rearm = new AbortController(); // wakes the watchdog when deadMs changes
    const watchdog = async () => {
      while (!signal.aborted) {
        const wait = lastEventAt + deadMs - this.#clock.now();
        if (wait <= 0) {
          return connection.abort(
            new Error(`no event (heartbeat included) for ${deadMs / 1000} s: stream is dead`),
          );
        }
        await this.#clock.sleep(wait, AbortSignal.any([signal, rearm.signal])).catch(() => {});
      }
    };
    void watchdog();
    try {
      const response = await this.#post(call, { signal });
      const streamId = response.headers.get("Mesos-Stream-Id");
      if (!streamId || !response.body) {
        await response.body?.cancel();
        throw new SchedulerCallError({
          callType: "SUBSCRIBE",
          httpStatus: response.status,
          message: "SUBSCRIBE answer carries no Mesos-Stream-Id header or no body",
        });
      }
      this.#streamId = streamId;
      for await (const text of decodeRecords(response.body)) {
        lastEventAt = this.#clock.now();
        const event = this.#parseEvent(text);
        if (!event || event.type === "HEARTBEAT") continue;
        if (event.type === "SUBSCRIBED") {
          subscribed = true;
          const info = event.subscribed;
          const resubscribed = this.#subscribedOnce;
          this.#subscribedOnce = true;
          this.#frameworkId = info.framework_id.value;
          deadMs = this.#missedHeartbeats *
            (info.heartbeat_interval_seconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000;
          const previous = rearm;
          rearm = new AbortController();
          previous.abort();
          this.#enqueue("subscribed", () =>
            this.#scheduler.subscribed?.(this, {
              frameworkId: info.framework_id.value,
              ...(info.heartbeat_interval_seconds !== undefined
                ? { heartbeatIntervalSeconds: info.heartbeat_interval_seconds }
                : {}),
              resubscribed,
            }));
          this.#settleStart();
          continue;
        }
        if (event.type === "ERROR") {
          this.#halt(new Error(`master sent ERROR: ${event.error.message}`), event.error.message);
          return { subscribed, reason: event.error.message };
        }
        this.#enqueue(event.type.toLowerCase(), () => this.#dispatch(event));
      }
      return { subscribed, reason: "the master closed the event stream" };
    } catch (e) {
      if (connection.signal.aborted && !this.#life.signal.aborted) {
        return { subscribed, reason: errorText(connection.signal.reason) };
      }
      if (subscribed) return { subscribed, reason: `event stream failed: ${errorText(e)}` };
      throw e;
    } finally {
      connection.abort(new Error("connection closed"));
    }
  }

  #parseEvent(text: string): Event | undefined {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#enqueue(
        "error",
        () => this.#report(`Ignoring an event that is not JSON: ${text.slice(0, 80)}`),
      );
      return undefined;
    }
    const type = typeof json === "object" && json !== null && "type" in json
      ? json.type
      : undefined;
    if (typeof type !== "string" || !KNOWN_EVENTS.has(type)) return undefined; // newer event kinds
    const parsed = EventSchema.safeParse(json);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    this.#enqueue("error", () =>
      this.#report(
        `Ignoring an invalid ${type} event: ${issue?.path.join(".")}: ${issue?.message}`,
      ));
    return undefined;
  }

  async #dispatch(event: Event): Promise<void> {
    const s = this.#scheduler;
    switch (event.type) {
      case "OFFERS":
        return await s.offers?.(this, event.offers.offers);
      case "RESCIND":
        return await s.rescind?.(this, event.rescind.offer_id.value);
      case "UPDATE": {
        const status = event.update.status;
        await s.update?.(this, status);
        if (this.#autoAck && status.uuid && status.agent_id && !this.#closing) {
          await this.acknowledge(status).catch((e) => this.#report(errorText(e)));
        }
        return;
      }
      case "MESSAGE": {
        const m = event.message;
        return await s.message?.(this, {
          agentId: m.agent_id.value,
          executorId: m.executor_id.value,
          data: fromBase64(m.data),
        });
      }
      case "FAILURE": {
        const f = event.failure;
        return await s.failure?.(this, {
          ...(f.agent_id ? { agentId: f.agent_id.value } : {}),
          ...(f.executor_id ? { executorId: f.executor_id.value } : {}),
          ...(f.status !== undefined ? { status: f.status } : {}),
        });
      }
    }
  }

  /** The master made further work pointless: stop re-subscribing and tell the framework. */
  #halt(error: Error, message = error.message): void {
    if (this.#halted) return;
    this.#halted = true;
    this.#life.abort(error);
    if (this.#startWaiter) this.#settleStart(error);
    else this.#enqueue("error", () => this.#scheduler.error?.(this, message));
  }

  #settleStart(error?: unknown): void {
    const waiter = this.#startWaiter;
    this.#startWaiter = undefined;
    if (!waiter) return;
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  /** Runs callbacks one at a time, in order; a throwing callback is reported, not fatal. */
  #enqueue(name: string, task: () => CallbackResult): void {
    this.#queue = this.#queue.then(async () => {
      if (this.#closing) return;
      try {
        await task();
      } catch (e) {
        await this.#report(`Scheduler.${name}() threw: ${errorText(e)}`);
      }
    });
  }

  async #report(message: string): Promise<void> {
    try {
      if (this.#scheduler.error) return await this.#scheduler.error(this, message);
    } catch (e) {
      message = `${message} (and Scheduler.error() threw: ${errorText(e)})`;
    }
    console.error(`SchedulerDriver: ${message}`);
  }

  // --- calls -------------------------------------------------------------------------------

  async #send(build: (frameworkId: { value: string }) => Call): Promise<void> {
    const frameworkId = this.#frameworkId;
    const streamId = this.#streamId;
    const call = build({ value: frameworkId ?? "" });
    if (!frameworkId || !streamId) {
      throw new SchedulerCallError({
        callType: call.type,
        message:
          `Cannot send ${call.type}: the driver is not subscribed to ${this.#endpoint.origin}`,
      });
    }
    const timeout = new AbortController();
    void this.#clock.sleep(this.#callTimeoutMs, timeout.signal).then(
      () => timeout.abort(new Error(`no answer within ${this.#callTimeoutMs} ms`)),
      () => {},
    );
    try {
      const response = await this.#post(call, {
        signal: AbortSignal.any([this.#life.signal, timeout.signal]),
        streamId,
      });
      await response.body?.cancel();
    } finally {
      timeout.abort();
    }
  }

  /** POSTs a call, following 307s to the leading master; throws on any other non-2xx. */
  async #post(call: Call, options: { signal: AbortSignal; streamId?: string }): Promise<Response> {
    const type: CallType = call.type;
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Accept": "application/json",
      ...(options.streamId ? { "Mesos-Stream-Id": options.streamId } : {}),
    };
    const body = JSON.stringify(call);
    for (let hop = 0;; hop++) {
      const url = this.#endpoint;
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers,
          body,
          redirect: "manual",
          signal: options.signal,
        });
      } catch (e) {
        const why = options.signal.aborted ? errorText(options.signal.reason) : errorText(e);
        throw new SchedulerCallError({
          callType: type,
          message: `${type} to ${url} failed: ${why}`,
        });
      }
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get("Location");
        await response.body?.cancel();
        if (!location || hop >= MAX_REDIRECTS) {
          throw new SchedulerCallError({
            callType: type,
            httpStatus: response.status,
            message: `${type} to ${url}: ${
              location ? "too many redirects" : "redirect without Location"
            }`,
          });
        }
        this.#endpoint = new URL(location, url); // `//host:port/path` keeps the scheme
        continue;
      }
      if (!response.ok) {
        const text = await response.text().catch(() => "");
        throw new SchedulerCallError({
          callType: type,
          httpStatus: response.status,
          body: text,
          message: `Master refused ${type} with ${response.status}: ${
            text.trim() || response.statusText
          }`,
        });
      }
      return response;
    }
  }
}

/** A 4xx SUBSCRIBE answer will be the same next time (except timeouts and rate limits). */
function isPermanent(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function id(value: string): { value: string } {
  return { value };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
