/**
 * The scheduler driver: speaks the Mesos v1 scheduler HTTP API for a framework. One SUBSCRIBE
 * connection carries events (RecordIO); every other call is its own POST with the stream id.
 */
import {
  type Call,
  decodeRecords,
  type Event,
  type ExecutorInfo,
  type Filters,
  type FrameworkInfo,
  type Operation,
  type TaskInfo,
  type TaskStatus,
} from "../protocol/mod.ts";
import { type Clock, type Masters, systemClock, untilAborted } from "../base/mod.ts";
import type { ClientSecurity } from "../security/mod.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { fromBase64, MasterClient, parseEventRecord, toBase64 } from "./master_client.ts";
import { type CallbackResult, type Scheduler, SchedulerCallError } from "./scheduler.ts";

/** How a `SchedulerDriver` reaches the master and presents the framework. */
export interface SchedulerDriverOptions {
  /**
   * The masters: a base URL (`http://127.0.0.1:5050`), a comma-separated list of them, or a
   * `Masters`. The driver subscribes at the leader; after a failover it subscribes again at the
   * new leader with its framework id (and `Scheduler.subscribed` says `resubscribed`).
   */
  master: string | Masters;
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
  /**
   * With several masters, how often the others are asked whether the subscribed master still
   * leads (a paused or cut-off leader keeps the stream open); default 5 s.
   */
  leaderCheckMs?: number;
  /**
   * Credentials for every call (the subscription stream too) and the CA to verify an `https`
   * master by; its principal becomes `framework.principal` unless that is set. Used when
   * `master` is a string (a `Masters` carries its own `fetch`).
   */
  security?: ClientSecurity;
}

const DEFAULT_HEARTBEAT_SECONDS = 15;
const MAX_ACKS_IN_FLIGHT = 64;

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
  readonly #leaderCheckMs: number;
  readonly #life = new AbortController();
  readonly #client: MasterClient;
  #frameworkId: string | undefined;
  #streamId: string | undefined;
  #subscribedOnce = false;
  /** Set by stop()/teardown(): queued events are dropped, the loop ends. */
  #closing = false;
  /** Set when the master made the driver give up (ERROR event, refused re-subscription). */
  #halted = false;
  #loop: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #acks = new Set<Promise<void>>();
  #startWaiter: { resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(scheduler: Scheduler, options: SchedulerDriverOptions) {
    this.#scheduler = scheduler;
    const principal = options.security?.principal;
    this.#framework = principal !== undefined && options.framework.principal === undefined
      ? { ...options.framework, principal }
      : options.framework;
    this.#frameworkId = options.frameworkId ?? options.framework.id?.value;
    this.#clock = options.clock ?? systemClock;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
    this.#autoAck = options.autoAcknowledge ?? true;
    this.#callTimeoutMs = options.callTimeoutMs ?? 75_000;
    this.#missedHeartbeats = options.missedHeartbeats ?? 5;
    this.#leaderCheckMs = options.leaderCheckMs ?? 5_000;
    this.#client = new MasterClient(options.master, { security: options.security });
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
    if (this.#loop || this.#life.signal.aborted) {
      return Promise.reject(new Error("SchedulerDriver.start() was already called, or stop()"));
    }
    return new Promise<void>((resolve, reject) => {
      this.#startWaiter = { resolve, reject };
      this.#loop = this.#run();
    });
  }

  /**
   * Closes the event stream and stops re-subscribing. With `teardown`, first removes the
   * framework (see `teardown()`); that throws, after stopping, when the driver is disconnected.
   */
  async stop(options: { teardown?: boolean } = {}): Promise<void> {
    if (options.teardown && this.#frameworkId && !this.#halted) return await this.teardown();
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

  /** ACCEPT with one LAUNCH_GROUP: `tasks` start together under one executor, all or none. */
  launchGroup(
    offerIds: string[],
    group: { executor: ExecutorInfo; tasks: TaskInfo[] },
    filters?: Filters,
  ): Promise<void> {
    return this.accept(offerIds, [{
      type: "LAUNCH_GROUP",
      launch_group: { executor: group.executor, task_group: { tasks: group.tasks } },
    }], filters);
  }

  /** DECLINE: gives the offers back; `filters.refuse_seconds` keeps them away that long. */
  decline(offerIds: string[], filters?: Filters): Promise<void> {
    return this.#send((framework_id) => ({
      type: "DECLINE",
      framework_id,
      decline: { offer_ids: offerIds.map(id), ...(filters ? { filters } : {}) },
    }));
  }

  /**
   * ACCEPT_INVERSE_OFFERS: the framework agrees to give those agents back by their
   * unavailability (it has moved, or will move, what it runs there).
   */
  acceptInverseOffers(inverseOfferIds: string[], filters?: Filters): Promise<void> {
    return this.#send((framework_id) => ({
      type: "ACCEPT_INVERSE_OFFERS",
      framework_id,
      accept_inverse_offers: {
        inverse_offer_ids: inverseOfferIds.map(id),
        ...(filters ? { filters } : {}),
      },
    }));
  }

  /** DECLINE_INVERSE_OFFERS: the framework cannot give those agents back in time. */
  declineInverseOffers(inverseOfferIds: string[], filters?: Filters): Promise<void> {
    return this.#send((framework_id) => ({
      type: "DECLINE_INVERSE_OFFERS",
      framework_id,
      decline_inverse_offers: {
        inverse_offer_ids: inverseOfferIds.map(id),
        ...(filters ? { filters } : {}),
      },
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
        // A live master with no leader yet (503: an election under way): ask again soon.
        if (e instanceof SchedulerCallError && e.httpStatus === 503) attempt = 0;
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
      const response = await this.#client.post(call, { signal });
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
      const masters = this.#client.masters;
      const base = masters.current;
      void masters.deposed(base, { clock: this.#clock, signal, everyMs: this.#leaderCheckMs })
        .then((leader) => {
          if (leader) {
            connection.abort(new Error(`the master at ${base} no longer leads; ${leader} does`));
          }
        });
      for await (const text of decodeRecords(untilAborted(response.body, signal))) {
        lastEventAt = this.#clock.now();
        const record = parseEventRecord(text);
        if (record.kind === "invalid") {
          this.#enqueue("error", () => this.#report(`Ignoring ${record.message}`));
        }
        if (record.kind !== "event") continue;
        const event = record.event;
        if (event.type === "HEARTBEAT") continue;
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

  async #dispatch(event: Event): Promise<void> {
    const s = this.#scheduler;
    switch (event.type) {
      case "OFFERS":
        return await s.offers?.(this, event.offers.offers);
      case "RESCIND":
        return await s.rescind?.(this, event.rescind.offer_id.value);
      case "INVERSE_OFFERS": {
        const inverse = event.inverse_offers.inverse_offers;
        if (s.inverseOffers) return await s.inverseOffers(this, inverse);
        // No hook: accept, as a framework with nothing to move would (Mesos leaves them unanswered).
        if (inverse.length > 0 && !this.#closing) {
          await this.acceptInverseOffers(inverse.map((o) => o.id.value));
        }
        return;
      }
      case "RESCIND_INVERSE_OFFER":
        return await s.rescindInverseOffer?.(
          this,
          event.rescind_inverse_offer.inverse_offer_id.value,
        );
      case "UPDATE": {
        const status = event.update.status;
        await s.update?.(this, status);
        if (this.#autoAck && status.uuid && status.agent_id && !this.#closing) {
          await this.#autoAcknowledge(status);
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

  /**
   * Sends the ACKNOWLEDGE without holding up the next callback (the agent sends a task's next
   * update only after this one's ack, so acks of different tasks are independent), with at
   * most MAX_ACKS_IN_FLIGHT outstanding. A failed ack is reported in callback order.
   */
  async #autoAcknowledge(status: TaskStatus): Promise<void> {
    while (this.#acks.size >= MAX_ACKS_IN_FLIGHT) await Promise.race(this.#acks);
    const ack: Promise<void> = this.acknowledge(status)
      .catch((e) => this.#enqueue("acknowledge", () => this.#report(errorText(e))))
      .finally(() => this.#acks.delete(ack));
    this.#acks.add(ack);
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
          `Cannot send ${call.type}: the driver is not subscribed to ${this.#client.endpoint.origin}`,
      });
    }
    const timeout = new AbortController();
    void this.#clock.sleep(this.#callTimeoutMs, timeout.signal).then(
      () => timeout.abort(new Error(`no answer within ${this.#callTimeoutMs} ms`)),
      () => {},
    );
    try {
      const response = await this.#client.post(call, {
        signal: AbortSignal.any([this.#life.signal, timeout.signal]),
        streamId,
      });
      await response.body?.cancel();
    } finally {
      timeout.abort();
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
