/**
 * Reliable task status updates, as Mesos' task status update manager gives them: each update
 * is persisted before it is sent, the updates of one task form an ordered stream of which only
 * the head is in flight, and the head is resent with a doubling backoff until an ACKNOWLEDGE
 * names its uuid. Pending updates survive an agent restart.
 *
 * `UpdateStreams` is the pure core (time passed in); `StatusUpdateManager` is the KV shell.
 */
import { z } from "zod";
import type { Clock, Ids } from "../base/mod.ts";
import { FrameworkIdSchema, type TaskStatus, TaskStatusSchema } from "../protocol/mod.ts";
import { keys } from "./keys.ts";
import { KvBatcher } from "./kv_batcher.ts";

/** One reliable update as it is persisted and sent. `status.uuid` is always set. */
export const PendingUpdateSchema = z.object({
  seq: z.number().int().nonnegative(),
  framework_id: FrameworkIdSchema,
  status: TaskStatusSchema,
});
export type PendingUpdate = z.infer<typeof PendingUpdateSchema>;

/** Retry schedule of the head of each stream. */
export interface RetryOptions {
  /** First retry after this long (`STATUS_UPDATE_RETRY.retryMinMs`, 10 s, as Mesos). */
  retryMinMs: number;
  /** The doubling stops here (`STATUS_UPDATE_RETRY.retryMaxMs`, 10 min, as Mesos). */
  retryMaxMs: number;
}

/**
 * The default retry schedule, Mesos' (`--status_update_retry_interval_min` 10 s, doubling to
 * `..._max` 10 min). A shorter first retry feeds itself under load: once acknowledgements take
 * longer than it, every stream resends and the master has more to do (issue 17: 2 s gave 2.6
 * duplicates per task over 10,000 launches).
 */
export const STATUS_UPDATE_RETRY: RetryOptions = { retryMinMs: 10_000, retryMaxMs: 600_000 };

interface Stream {
  updates: PendingUpdate[];
  /** When the head is next due to be sent. */
  nextAt: number;
  /** The delay that follows the next send. */
  backoff: number;
}

/** The key of a task's stream. */
export function streamKey(frameworkId: string, taskId: string): string {
  return JSON.stringify([frameworkId, taskId]);
}

/** Pure bookkeeping of the per-task update streams. */
export class UpdateStreams {
  readonly #streams = new Map<string, Stream>();
  readonly #options: RetryOptions;

  constructor(options: RetryOptions) {
    this.#options = options;
  }

  /** Appends an update to its task's stream; a new head is due at once. */
  add(update: PendingUpdate, now: number): void {
    const key = streamKey(update.framework_id.value, update.status.task_id.value);
    const stream = this.#streams.get(key);
    if (stream) stream.updates.push(update);
    else {this.#streams.set(key, {
        updates: [update],
        nextAt: now,
        backoff: this.#options.retryMinMs,
      });}
  }

  /**
   * Acknowledges the head of a task's stream. Returns the acknowledged update, or undefined
   * when `uuid` is not the head's (a stale or duplicate ack, ignored as Mesos ignores it).
   */
  acknowledge(
    frameworkId: string,
    taskId: string,
    uuid: string,
    now: number,
  ): PendingUpdate | undefined {
    const key = streamKey(frameworkId, taskId);
    const stream = this.#streams.get(key);
    const head = stream?.updates[0];
    if (!stream || !head || head.status.uuid !== uuid) return undefined;
    stream.updates.shift();
    if (stream.updates.length === 0) this.#streams.delete(key);
    else {
      stream.nextAt = now;
      stream.backoff = this.#options.retryMinMs;
    }
    return head;
  }

  /** The heads due at `now`, each rescheduled after its backoff, which then doubles. */
  takeDue(now: number): PendingUpdate[] {
    const due: PendingUpdate[] = [];
    for (const stream of this.#streams.values()) {
      const head = stream.updates[0];
      if (!head || stream.nextAt > now) continue;
      due.push(head);
      stream.nextAt = now + stream.backoff;
      stream.backoff = Math.min(stream.backoff * 2, this.#options.retryMaxMs);
    }
    return due;
  }

  /** Makes every head due at once, with a fresh backoff (after a (re)subscription). */
  resendAll(now: number): void {
    for (const stream of this.#streams.values()) {
      stream.nextAt = now;
      stream.backoff = this.#options.retryMinMs;
    }
  }

  /** When the earliest head is due; undefined when nothing is pending. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const s of this.#streams.values()) {
      next = next === undefined ? s.nextAt : Math.min(next, s.nextAt);
    }
    return next;
  }

  /** Every pending update, each task's in order. */
  pending(): PendingUpdate[] {
    return [...this.#streams.values()].flatMap((s) => s.updates);
  }

  /** The pending updates of one task, in order. */
  pendingFor(frameworkId: string, taskId: string): readonly PendingUpdate[] {
    return this.#streams.get(streamKey(frameworkId, taskId))?.updates ?? [];
  }
}

/** A Mesos status uuid: the 16 bytes of a UUID, base64. */
export function statusUuid(ids: Ids): string {
  const hex = ids.uuid().replaceAll("-", "");
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return btoa(String.fromCharCode(...bytes));
}

/** What the manager needs from the world. */
export interface StatusUpdateManagerDeps {
  kv: Deno.Kv;
  clock: Clock;
  ids: Ids;
  /** Posts one update to the master; rejects when it could not (it is retried later). */
  send: (update: PendingUpdate) => Promise<void>;
  log?: (message: string) => void;
  /** Shares group commits with other writers of the same store (default: its own). */
  batcher?: KvBatcher;
  /** Sees each new status as it is queued (metrics). */
  observe?: (status: TaskStatus) => void;
}

/** The reason the send loop is woken with (see `#kick`). */
const WAKE = "wake";

/** The KV-backed shell around `UpdateStreams`: persists, sends and retries. */
export class StatusUpdateManager {
  readonly #deps: StatusUpdateManagerDeps;
  readonly #streams: UpdateStreams;
  readonly #batcher: KvBatcher;
  #seq = 0;
  #running = false;
  #wake: AbortController = new AbortController();
  #loop: Promise<void> | undefined;
  /** The uuids whose POST has not been answered yet: not sent again until it is. */
  readonly #inFlight = new Set<string>();

  constructor(deps: StatusUpdateManagerDeps, options: RetryOptions) {
    this.#deps = deps;
    this.#streams = new UpdateStreams(options);
    this.#batcher = deps.batcher ?? new KvBatcher(deps.kv);
  }

  /** Loads the updates left pending by a previous run, in order; they are sent once started. */
  async load(): Promise<PendingUpdate[]> {
    const loaded: PendingUpdate[] = [];
    for await (const entry of this.#deps.kv.list({ prefix: keys.updates() })) {
      const update = PendingUpdateSchema.parse(entry.value);
      loaded.push(update);
    }
    loaded.sort((a, b) => a.seq - b.seq);
    for (const u of loaded) {
      this.#streams.add(u, this.#deps.clock.now());
      this.#seq = Math.max(this.#seq, u.seq + 1);
    }
    return loaded;
  }

  /**
   * Gives `status` a uuid, persists it (in one atomic operation with whatever `alsoWrite`
   * adds) and queues it. Resolves with the status as it will be sent.
   */
  async update(
    frameworkId: string,
    status: TaskStatus,
    alsoWrite?: (op: Deno.AtomicOperation) => void,
  ): Promise<TaskStatus> {
    const withUuid: TaskStatus = { ...status, uuid: statusUuid(this.#deps.ids) };
    const update: PendingUpdate = {
      seq: this.#seq++,
      framework_id: { value: frameworkId },
      status: withUuid,
    };
    await this.#batcher.write((op) => {
      op.set(keys.update(frameworkId, status.task_id.value, update.seq), update);
      alsoWrite?.(op);
    }, 2);
    this.#streams.add(update, this.#deps.clock.now());
    this.#deps.observe?.(withUuid);
    this.#kick();
    return withUuid;
  }

  /**
   * Handles an ACKNOWLEDGE: the stream's next update is released at once (synchronously);
   * resolves with the acknowledged update once its deletion is durable, undefined when stale.
   */
  async acknowledge(
    frameworkId: string,
    taskId: string,
    uuid: string,
  ): Promise<PendingUpdate | undefined> {
    const acked = this.#streams.acknowledge(frameworkId, taskId, uuid, this.#deps.clock.now());
    if (!acked) {
      this.#deps.log?.(`Ignoring an acknowledgement of task "${taskId}" for unknown uuid ${uuid}`);
      return undefined;
    }
    this.#kick();
    await this.#batcher.write((op) => op.delete(keys.update(frameworkId, taskId, acked.seq)));
    return acked;
  }

  /** Sends every pending head now (called after each (re)subscription). */
  resendNow(): void {
    this.#streams.resendAll(this.#deps.clock.now());
    this.#kick();
  }

  /** Every pending update. */
  pending(): PendingUpdate[] {
    return this.#streams.pending();
  }

  /** The pending updates of one task, in order. */
  pendingFor(frameworkId: string, taskId: string): readonly PendingUpdate[] {
    return this.#streams.pendingFor(frameworkId, taskId);
  }

  /** Starts the send-and-retry loop. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops the loop; pending updates stay persisted. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake.abort();
    await this.#loop;
  }

  #kick(): void {
    // With a reason of its own, abort() builds no DOMException (with its stack trace): one per
    // update and acknowledgement was ~2 % of the agent's CPU during a burst of launches.
    this.#wake.abort(WAKE);
  }

  async #run(): Promise<void> {
    const { clock } = this.#deps;
    while (this.#running) {
      this.#wake = new AbortController();
      for (const update of this.#streams.takeDue(clock.now())) {
        // A post the master has not answered yet is not sent again: a duplicate would only
        // queue behind it, and under load resends would add to the load they wait on.
        const uuid = update.status.uuid ?? "";
        if (this.#inFlight.has(uuid)) continue;
        this.#inFlight.add(uuid);
        this.#deps.send(update).catch((e) => {
          this.#deps.log?.(
            `Status update ${update.status.state} of task "${update.status.task_id.value}" not sent: ${
              e instanceof Error ? e.message : String(e)
            }`,
          );
        }).finally(() => this.#inFlight.delete(uuid));
      }
      const next = this.#streams.nextDueAt();
      const wake = this.#wake.signal;
      const woken = wake.aborted
        ? Promise.resolve()
        : new Promise<void>((resolve) =>
          wake.addEventListener("abort", () => resolve(), { once: true })
        );
      const waits: Promise<void>[] = [woken];
      if (next !== undefined) {
        waits.push(clock.sleep(Math.max(0, next - clock.now()), wake).catch(() => {}));
      }
      await Promise.race(waits);
    }
  }
}
