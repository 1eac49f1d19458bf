/**
 * The master's shell: runs core operations one at a time, persists what each changed before
 * anything is acknowledged or sent, delivers events to the streams, and drives the timers.
 */
import type { AgentCall, Call } from "../protocol/mod.ts";
import type { Clock, Ids } from "../base/mod.ts";
import type { Authorizer, Change, MasterOptions, Outgoing } from "./core/context.ts";
import { Master, type MasterOperations } from "./core/master.ts";
import type { MasterView } from "./core/master_view.ts";
import { ClusterMismatchError } from "./core/agents.ts";
import { StreamHub } from "./http/streams.ts";
import type { MasterStore } from "./store/master_store.ts";
import { agentFilesWarning, GroupCommit, openFilesLimit } from "../base/mod.ts";

/**
 * A runtime as the HTTP, dashboard and metrics layers hold it: the books read-only (`view`,
 * `read()`), every change through a core operation (`operator()`, the scheduler and agent
 * calls). Only `main`-style assembly and tests reach `core`.
 */
export type MasterService = Omit<MasterRuntime, "core">;

/** An operation run but not yet durable: its changes, and the events they release. */
interface Unsettled {
  changes: Change[];
  outbox: Outgoing[];
}

/** A running master: its core, store, streams and timers. */
export class MasterRuntime {
  /** The core itself: for assembly and tests; the serving layers get a `MasterService`. */
  readonly core: Master;
  /**
   * The cluster the store belongs to; `created` when this start began it on an empty store — a
   * first start, or a store that was lost (then agents of the old cluster are refused loudly).
   */
  cluster: { id: string; created: boolean } = { id: "", created: false };
  readonly frameworks = new StreamHub();
  readonly agents = new StreamHub();
  /** Operator SUBSCRIBE streams (owned by their own stream id); closed when the runtime stops. */
  readonly operators = new StreamHub();
  readonly #store: MasterStore;
  readonly #clock: Clock;
  readonly #ids: Ids;
  /**
   * Group commit: operations queued while a commit is in flight go out together in the next
   * one, so a burst (50 launches, their updates and acknowledgements) pays one durable commit
   * per round instead of one per operation. Events are delivered in operation order, after the
   * commit that holds their changes (`#commit`).
   */
  readonly #commits = new GroupCommit<Unsettled>({ commit: (batch) => this.#commit(batch) });
  #timers: ReturnType<typeof setInterval>[] = [];
  #allocationQueued = false;
  readonly #listeners: ((changes: readonly Change[]) => void)[] = [];
  readonly #allocationListeners: ((seconds: number) => void)[] = [];
  #closed = false;
  /** The open-files limit (read once) and whether the master warned it is near. */
  readonly #fileLimit = openFilesLimit();
  #warnedFiles = false;

  private constructor(
    deps: { store: MasterStore; clock: Clock; ids: Ids; authorizer?: Authorizer },
    options: MasterOptions,
  ) {
    this.core = new Master(
      { clock: deps.clock, ids: deps.ids, authorizer: deps.authorizer },
      options,
    );
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
  }

  /** Recovers the master's books from the store and starts its timers. */
  static async start(
    deps: { store: MasterStore; clock: Clock; ids: Ids; authorizer?: Authorizer },
    options: MasterOptions,
  ): Promise<MasterRuntime> {
    const runtime = new MasterRuntime(deps, options);
    const snapshot = await deps.store.load();
    runtime.core.recover(snapshot);
    const cluster = await deps.store.clusterId(options.clusterId ?? runtime.core.id);
    runtime.core.ctx.clusterId = cluster.id;
    const empty = snapshot.agents.length + snapshot.frameworks.length + snapshot.tasks.length === 0;
    runtime.cluster = { id: cluster.id, created: cluster.created && empty };
    if (cluster.created && !empty) {
      console.error(JSON.stringify({
        level: "warn",
        msg: "master: the store had records but no cluster id; it now belongs to this cluster",
        clusterId: cluster.id,
        store: deps.store.describe,
      }));
    }
    runtime.#timers.push(
      setInterval(() => runtime.#background(() => runtime.core.tick({ batch: false })), 250),
      setInterval(
        () => runtime.#background(() => runtime.#timed(() => runtime.core.tick({ batch: true }))),
        options.allocationIntervalMs,
      ),
      setInterval(() => {
        runtime.frameworks.broadcast({ type: "HEARTBEAT" });
        runtime.agents.broadcast({ type: "HEARTBEAT" });
        runtime.operators.broadcast({ type: "HEARTBEAT" });
      }, options.heartbeatIntervalMs),
    );
    return runtime;
  }

  /**
   * Opens a scheduler's event stream for a SUBSCRIBE call (from `principal`, when the request
   * authenticated); resolves once it is durable.
   */
  async subscribeFramework(
    call: Extract<Call, { type: "SUBSCRIBE" }>,
    principal?: string,
  ): Promise<{ streamId: string; body: ReadableStream<Uint8Array> }> {
    const streamId = this.#ids.uuid();
    const body = this.frameworks.open(streamId, (owner) => {
      if (owner) this.#background(() => this.core.frameworkDisconnected(owner, streamId));
    });
    try {
      await this.#run(() => {
        const id = this.core.subscribeFramework(call, streamId, principal);
        this.frameworks.bind(streamId, id);
      });
    } catch (e) {
      this.frameworks.close("", { streamId });
      throw e;
    }
    return { streamId, body };
  }

  /** A scheduler call other than SUBSCRIBE; resolves once its effects are durable. */
  schedulerCall(
    call: Exclude<Call, { type: "SUBSCRIBE" }>,
    streamId: string | null,
    principal?: string,
  ): Promise<void> {
    return this.#run(() => this.core.schedulerCall(call, streamId, principal));
  }

  /** Opens an agent's command stream for its SUBSCRIBE call. */
  async subscribeAgent(
    call: Extract<AgentCall, { type: "SUBSCRIBE" }>,
    ip?: string,
    principal?: string,
  ): Promise<{ streamId: string; body: ReadableStream<Uint8Array> }> {
    const streamId = this.#ids.uuid();
    const body = this.agents.open(streamId, (owner) => {
      if (owner) this.#background(() => this.core.agentDisconnected(owner, streamId));
    });
    try {
      await this.#run(() => {
        const id = this.core.subscribeAgent(call, streamId, ip, principal);
        this.agents.bind(streamId, id);
      });
      const warning = this.#warnedFiles
        ? undefined
        : agentFilesWarning(this.core.ctx.agentConnections.size, this.#fileLimit);
      if (warning) {
        this.#warnedFiles = true;
        console.error(JSON.stringify({ level: "warn", msg: warning }));
      }
    } catch (e) {
      this.agents.close("", { streamId });
      if (e instanceof ClusterMismatchError) {
        console.error(JSON.stringify({ level: "error", msg: e.message, from: ip }));
      }
      throw e;
    }
    return { streamId, body };
  }

  /** An agent's UPDATE or HEARTBEAT; resolves once durable. */
  agentCall(call: Exclude<AgentCall, { type: "SUBSCRIBE" }>, principal?: string): Promise<void> {
    return this.#run(() => this.core.agentCall(call, principal));
  }

  /** Calls `listen` with each batch of changes once it is durable (the catalog follows tasks so). */
  onCommit(listen: (changes: readonly Change[]) => void): void {
    this.#listeners.push(listen);
  }

  /** Calls `listen` with the duration of each allocation run, in seconds (for metrics). */
  onAllocation(listen: (seconds: number) => void): void {
    this.#allocationListeners.push(listen);
  }

  #timed(allocation: () => void): void {
    const start = performance.now();
    allocation();
    const seconds = (performance.now() - start) / 1000;
    for (const listen of this.#allocationListeners) listen(seconds);
  }

  /** An operator call that changes state (DRAIN_AGENT, REACTIVATE_AGENT); resolves once durable. */
  operator(op: (master: MasterOperations) => void): Promise<void> {
    return this.#run(() => op(this.core));
  }

  /** The books as they are now, read-only (metrics, streams that follow commits). */
  get view(): MasterView {
    return this.core.view;
  }

  /** Reads the books (for state endpoints) after pending work has settled. */
  async read<T>(fn: (view: MasterView) => T): Promise<T> {
    await this.#commits.settled();
    return fn(this.core.view);
  }

  /** Stops timers and closes every stream. The store is the caller's to close. */
  async stop(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#commits.settled();
    this.frameworks.closeAll();
    this.agents.closeAll();
    this.operators.closeAll();
  }

  /**
   * Runs one core operation now (synchronously, so operations never interleave), then
   * persists its changes and delivers its events in order, after those of earlier
   * operations. Resolves when its changes are durable (at once when it has none); rejects if
   * the operation throws.
   */
  #run(op: () => void): Promise<void> {
    if (this.#closed) return Promise.resolve();
    try {
      op();
    } finally {
      this.#queueAllocation();
    }
    const { changes, outbox } = this.core.drain();
    // Nothing to persist (a HEARTBEAT, an allocation's OFFERS): nothing to wait for behind
    // earlier commits, unless an event of theirs to the same stream is still held — streams
    // see their events in operation order.
    if (changes.length === 0 && !this.#holdsEventsFor(outbox)) {
      this.#deliver(outbox);
      return Promise.resolve();
    }
    return this.#commits.add({ changes, outbox });
  }

  /**
   * Runs an operation no caller waits for (a timer's tick, a stream's disconnection, a queued
   * allocation). Its failed commit is logged by `#commit`; it must not end the process as an
   * unhandled rejection (a leader that lost its lease fails every commit while it stops).
   */
  #background(op: () => void): void {
    this.#run(op).catch(() => {});
  }

  /** Makes a batch's changes durable, then tells the listeners and delivers its events. */
  async #commit(batch: readonly Unsettled[]): Promise<void> {
    const changes = batch.flatMap((p) => p.changes);
    try {
      await this.#store.commit(changes);
    } catch (e) {
      console.error(
        JSON.stringify({ level: "error", msg: "master persist failed", error: String(e) }),
      );
      throw e;
    }
    if (changes.length > 0) { for (const listen of this.#listeners) listen(changes); }
    for (const p of batch) this.#deliver(p.outbox);
  }

  /** Whether an operation not yet delivered holds an event for a stream `outbox` writes to. */
  #holdsEventsFor(outbox: readonly Outgoing[]): boolean {
    if (outbox.length === 0) return false;
    const streams = new Set(outbox.map(streamOf));
    return this.#commits.someUnsettled((p) => p.outbox.some((o) => streams.has(streamOf(o))));
  }

  #deliver(outbox: readonly Outgoing[]): void {
    for (const out of outbox) {
      if (out.to === "framework") this.frameworks.send(out.frameworkId, out.event);
      else if (out.to === "agent") this.agents.send(out.agentId, out.event);
      else {
        const hub = out.to === "close_framework" ? this.frameworks : this.agents;
        const owner = out.to === "close_framework" ? out.frameworkId : out.agentId;
        hub.close(owner, {
          streamId: out.streamId,
          last: out.error ? { type: "ERROR", error: { message: out.error } } : undefined,
        });
      }
    }
  }

  /** Event-triggered allocation, coalesced: one run serves every change made meanwhile. */
  #queueAllocation(): void {
    const ctx = this.core.ctx;
    if (this.#allocationQueued || (!ctx.allocateAll && ctx.allocationCandidates.size === 0)) return;
    this.#allocationQueued = true;
    setTimeout(() => {
      this.#allocationQueued = false;
      this.#background(() => this.#timed(() => this.core.allocatePending()));
    }, 0);
  }

  get clock(): Clock {
    return this.#clock;
  }
}

/** The stream an outgoing event goes to (or closes). */
function streamOf(out: Outgoing): string {
  return out.to === "framework" || out.to === "close_framework"
    ? `framework:${out.frameworkId}`
    : `agent:${out.agentId}`;
}
