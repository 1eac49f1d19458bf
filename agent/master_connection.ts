/**
 * The agent's one connection to the leading master: SUBSCRIBE, read the RecordIO stream of
 * commands, post a HEARTBEAT once per interval (the pong to the master's pings: none when another
 * call reached the master in that interval), and when the stream breaks or falls silent for three
 * intervals, reconnect with a jittered exponential backoff (Mesos' agent registration backoff:
 * from 1 s, doubling to 1 min) and subscribe again, at whichever master leads by then
 * (`Masters`: 307s are followed, a dead master is passed over).
 */
import {
  type AgentCall,
  type AgentEvent,
  AgentEventSchema,
  decodeRecords,
  fromMesosJson,
} from "../protocol/mod.ts";
import { type Clock, type Masters, TenderError, untilAborted } from "../base/mod.ts";

const AGENT_PATH = "/api/v1/agent";

/** What the connection calls back into. */
export interface MasterConnectionHandlers {
  /** Builds the SUBSCRIBE call afresh for each attempt (the agent's tasks change). */
  subscribeCall: () => Promise<AgentCall> | AgentCall;
  /** Each event of the stream, in order. Must not block for long: queue long work. */
  onEvent: (event: AgentEvent) => Promise<void> | void;
  /** The stream broke (before a reconnection attempt). */
  onDisconnected?: (reason: string) => void;
}

/** Effects the connection uses. */
export interface MasterConnectionDeps {
  clock: Clock;
  /** The masters to find the leader among (their `fetch` is the connection's). */
  masters: Masters;
  /** A number in [0, 1) for jitter. */
  random?: () => number;
  log?: (message: string) => void;
}

/** Timing of the connection. */
export interface MasterConnectionOptions {
  /**
   * First reconnection delay (default 1 s, Mesos' `--registration_backoff_factor`), doubling up
   * to `reconnectMaxMs` (default 1 min, Mesos' cap), each jittered to 50-100%: thousands of
   * agents of a master that is slow or gone do not come back all at once.
   */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How long to wait for SUBSCRIBED after the stream opened (default 15 s). */
  subscribeTimeoutMs?: number;
  /** How often the other masters are asked whether the stream's master still leads (5 s). */
  leaderCheckMs?: number;
}

/** The reconnection delay before attempt `n` (0-based): doubling, capped, jittered to 50-100%. */
export function reconnectDelay(
  attempt: number,
  options: { minMs: number; maxMs: number; random: number },
): number {
  const base = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + options.random / 2));
}

/** The agent's connection to its master. */
export class MasterConnection {
  readonly #deps: MasterConnectionDeps;
  readonly #options: Required<MasterConnectionOptions>;
  readonly #handlers: MasterConnectionHandlers;
  #stop = new AbortController();
  /** The current session: the master it subscribed at, and how to end it. */
  #session: { base: string; end: AbortController } | undefined;
  #loop: Promise<void> | undefined;
  #streamId: string | undefined;
  #agentId: string | undefined;
  #subscribed = false;
  /** When the last call the master answered 2xx was sent (it counts as a heartbeat). */
  #lastHeardAt = -Infinity;

  constructor(
    deps: MasterConnectionDeps,
    options: MasterConnectionOptions,
    handlers: MasterConnectionHandlers,
  ) {
    this.#deps = deps;
    this.#options = {
      reconnectMinMs: options.reconnectMinMs ?? 1_000,
      reconnectMaxMs: options.reconnectMaxMs ?? 60_000,
      subscribeTimeoutMs: options.subscribeTimeoutMs ?? 15_000,
      leaderCheckMs: options.leaderCheckMs ?? 5_000,
    };
    this.#handlers = handlers;
  }

  /** Whether a SUBSCRIBED arrived on the current stream. */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error("agent stopping"));
    await this.#loop;
  }

  /** The base URL of the master the current stream is subscribed at. */
  get master(): string | undefined {
    return this.#session?.base;
  }

  /**
   * Posts a non-SUBSCRIBE call to the leader (following its 307); rejects unless it answers
   * 2xx. A redirect away from the master of the stream ends the stream: that master no longer
   * leads, so the agent subscribes again at the leader.
   */
  async post(call: AgentCall, options: { timeoutMs?: number } = {}): Promise<void> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.#streamId) headers["Mesos-Stream-Id"] = this.#streamId;
    const sentAt = this.#deps.clock.now();
    const res = await this.#deps.masters.fetch(AGENT_PATH, {
      method: "POST",
      headers,
      body: JSON.stringify(call),
      signal: AbortSignal.any([
        this.#stop.signal,
        AbortSignal.timeout(options.timeoutMs ?? 10_000),
      ]),
    });
    const text = await res.text();
    const leader = this.#deps.masters.leader;
    const session = this.#session;
    if (session && leader && leader !== session.base) {
      session.end.abort(new Error(`the master at ${session.base} redirected to ${leader}`));
    }
    if (!res.ok) {
      throw new TenderError(
        "unavailable",
        `Master answered ${call.type} with ${res.status}: ${text.slice(0, 200)}`,
      );
    }
    this.#lastHeardAt = Math.max(this.#lastHeardAt, sentAt);
  }

  async #run(): Promise<void> {
    const { clock } = this.#deps;
    let attempt = 0;
    while (!this.#stop.signal.aborted) {
      let gotSubscribed = false;
      let electing = false;
      await this.#subscription(() => (gotSubscribed = true)).catch((e) => {
        electing = e instanceof ElectionPending;
        if (!this.#stop.signal.aborted) this.#deps.log?.(`Master connection lost: ${message(e)}`);
      });
      this.#subscribed = false;
      if (this.#stop.signal.aborted) break;
      this.#handlers.onDisconnected?.("stream ended");
      if (gotSubscribed) attempt = 0;
      // A live master with no leader yet (an election under way): ask again soon, not later
      // and later — the new leader is there within a lease.
      const delay = reconnectDelay(electing ? 0 : attempt++, {
        minMs: this.#options.reconnectMinMs,
        maxMs: this.#options.reconnectMaxMs,
        random: (this.#deps.random ?? Math.random)(),
      });
      await clock.sleep(delay, this.#stop.signal).catch(() => {});
    }
  }

  /** One subscription; rejects when the stream ends, saying why. */
  async #subscription(onSubscribed: () => void): Promise<never> {
    const { clock } = this.#deps;
    const session = new AbortController();
    const signal = AbortSignal.any([this.#stop.signal, session.signal]);
    let subscribedOnce = false;
    let lastEventAt = clock.now();
    let silenceMs = this.#options.subscribeTimeoutMs;
    // Watchdog: no event (the master sends HEARTBEATs) for three intervals ends the session. It
    // looks every sixth of that (7.5 s at the default 15 s interval), not every second: 10,000
    // simulated agents' watchdogs woke 10,000 times a second.
    const watchdog = (async () => {
      while (!signal.aborted) {
        await clock.sleep(Math.max(10, silenceMs / 6), signal).catch(() => {});
        if (!signal.aborted && clock.now() - lastEventAt > silenceMs) {
          session.abort(new Error(`no event from the master for ${silenceMs} ms`));
        }
      }
    })();
    try {
      const call = await this.#handlers.subscribeCall();
      const { masters } = this.#deps;
      const res = await masters.fetch(AGENT_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(call),
        signal,
      });
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => "");
        const why = `Master ${masters.current} refused SUBSCRIBE with ${res.status}: ${
          text.slice(0, 200)
        }`;
        throw res.status === 503 ? new ElectionPending(why) : new Error(why);
      }
      const base = masters.current;
      this.#session = { base, end: session };
      this.#streamId = res.headers.get("Mesos-Stream-Id") ?? undefined;
      // A paused or cut-off leader keeps the stream open: the other masters tell.
      void masters.deposed(base, { clock, signal, everyMs: this.#options.leaderCheckMs })
        .then((leader) => {
          if (leader) {
            session.abort(new Error(`the master at ${base} no longer leads; ${leader} does`));
          }
        });
      for await (const record of decodeRecords(untilAborted(res.body, signal))) {
        const event = AgentEventSchema.parse(fromMesosJson(AgentEventSchema, JSON.parse(record)));
        lastEventAt = clock.now();
        if (event.type === "SUBSCRIBED") {
          const intervalMs = event.subscribed.heartbeat_interval_seconds * 1000;
          silenceMs = 3 * intervalMs;
          this.#agentId = event.subscribed.agent_id.value;
          this.#subscribed = true;
          if (!subscribedOnce) this.#heartbeats(intervalMs, signal);
          subscribedOnce = true;
          onSubscribed();
        }
        await this.#handlers.onEvent(event);
      }
      throw new Error(`the master at ${base} closed the stream`);
    } catch (e) {
      if (session.signal.aborted) throw session.signal.reason;
      throw e;
    } finally {
      if (this.#session?.end === session) this.#session = undefined;
      session.abort(new Error("session over"));
      await watchdog;
    }
  }

  /**
   * Posts a HEARTBEAT once per interval (the first after a jittered 50-100 % of it), none when
   * another call the master answered was sent within the interval (the master counts any call
   * as a sign of life, and marks the agent unreachable only after `max_agent_ping_timeouts`
   * pings of silence, five by default), and none while the previous one is unanswered: that one
   * is given three intervals, not the 10 s of other calls. A slow master thus gets at most one
   * heartbeat per agent in its queue, served in turn, instead of heartbeats that expire while
   * they wait (thousands of simulated agents share a few hundred connections: their expired
   * heartbeats made agents unreachable, whose re-registrations slowed the master further).
   */
  #heartbeats(intervalMs: number, signal: AbortSignal): void {
    const { clock } = this.#deps;
    (async () => {
      let waitMs = intervalMs * (0.5 + (this.#deps.random ?? Math.random)() / 2);
      let pending = false;
      while (!signal.aborted) {
        await clock.sleep(waitMs, signal).catch(() => {});
        if (signal.aborted || !this.#agentId) break;
        const sinceHeard = clock.now() - this.#lastHeardAt;
        if (sinceHeard < intervalMs) {
          waitMs = intervalMs - sinceHeard;
          continue;
        }
        waitMs = intervalMs;
        if (pending) continue;
        pending = true;
        this.post({ type: "HEARTBEAT", agent_id: { value: this.#agentId } }, {
          timeoutMs: 3 * intervalMs,
        }).catch((e) => this.#deps.log?.(`Heartbeat not sent: ${message(e)}`))
          .finally(() => (pending = false));
      }
    })();
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A master answered 503: no leader is elected yet (standbys say so while a lease runs out). */
class ElectionPending extends Error {}
