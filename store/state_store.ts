/**
 * The one store interface of the control plane: master and Marathon keep their records through
 * it, on Deno KV (the embedded default) or on etcd (for several masters). It is the part of
 * Deno KV's API they use — keys as tuples, entries with versionstamps, atomic writes with
 * checks — so both backends give the same records the same atomicity.
 */
import { TenderError } from "../base/mod.ts";

/** One part of a key: a string, or a non-negative integer (ordered numerically). */
export type StoreKeyPart = string | number;
/** A key: its parts, outermost first (`["tasks", frameworkId, taskId]`). */
export type StoreKey = readonly StoreKeyPart[];

/** A stored value with the versionstamp its next change can be checked against. */
export interface StoreEntry<T = unknown> {
  key: StoreKey;
  value: T;
  versionstamp: string;
}

/** A read that may have found nothing (`value` and `versionstamp` null). */
export interface MaybeStoreEntry<T = unknown> {
  key: StoreKey;
  value: T | null;
  versionstamp: string | null;
}

/** The outcome of an atomic write: refused (a check failed) or committed. */
export type CommitResult = { ok: true; versionstamp: string } | { ok: false };

/** Writes that commit together or not at all, after their checks pass. */
export interface AtomicWrite {
  /** The key must still have this versionstamp (null: must not exist) when the write commits. */
  check(...checks: { key: StoreKey; versionstamp: string | null }[]): this;
  set(key: StoreKey, value: unknown): this;
  delete(key: StoreKey): this;
  /**
   * Commits once durable (on etcd: a quorum has it). `{ ok: false }` when a check failed; throws
   * when the store cannot commit (unreachable, no quorum, leadership lost) — then nothing of it is
   * acknowledged.
   */
  commit(): Promise<CommitResult>;
}

/** What one atomic write may hold; a caller with more splits its writes (see `commitInPieces`). */
export interface StoreLimits {
  /** Sets and deletes in one atomic write. */
  maxMutations: number;
  /** Checks in one atomic write. */
  maxChecks: number;
  /** Bytes of JSON values in one atomic write. */
  maxBytes: number;
}

/** A durable, ordered key-value store with atomic writes. */
export interface StateStore {
  /** Where the records live, for messages (`deno-kv:/var/lib/…`, `etcd://h1:2379,…/prefix`). */
  readonly describe: string;
  readonly limits: StoreLimits;
  get<T = unknown>(key: StoreKey): Promise<MaybeStoreEntry<T>>;
  getMany(keys: readonly StoreKey[]): Promise<MaybeStoreEntry[]>;
  /** Every entry under a prefix, in key order; a large prefix is read in pages. */
  list<T = unknown>(prefix: StoreKey): AsyncIterable<StoreEntry<T>>;
  /** One unconditional write (as `atomic().set(key, value).commit()`). */
  set(key: StoreKey, value: unknown): Promise<void>;
  delete(key: StoreKey): Promise<void>;
  atomic(): AtomicWrite;
  close(): void;
}

/** A write refused because this process no longer leads: nothing of it was stored. */
export class LeadershipLostError extends TenderError {
  constructor(what: string) {
    super("unavailable", `${what}: this process is no longer the leader, so it must not write`);
    this.name = "LeadershipLostError";
  }
}

/**
 * Writes `key → value` (null: delete) in as few atomic writes as the store's limits allow, in
 * order; later entries for a key win. Each piece is atomic, the whole is not: callers whose
 * records stand alone (the master's agents, frameworks, tasks) use it for large batches.
 */
export async function commitInPieces(
  store: StateStore,
  entries: readonly { key: StoreKey; value: unknown }[],
): Promise<void> {
  const latest = new Map<string, { key: StoreKey; value: unknown }>();
  for (const entry of entries) {
    const id = JSON.stringify(entry.key);
    latest.delete(id); // keep the write order of the last change
    latest.set(id, entry);
  }
  const { maxMutations, maxBytes } = store.limits;
  let op = store.atomic();
  let count = 0, bytes = 0;
  for (const { key, value } of latest.values()) {
    const size = value === null ? 0 : JSON.stringify(value).length;
    if (count > 0 && (count >= maxMutations || bytes + size > maxBytes)) {
      await commitOrThrow(op, store);
      op = store.atomic();
      count = 0;
      bytes = 0;
    }
    if (value === null) op.delete(key);
    else op.set(key, value);
    count += 1;
    bytes += size;
  }
  if (count > 0) await commitOrThrow(op, store);
}

async function commitOrThrow(op: AtomicWrite, store: StateStore): Promise<void> {
  const result = await op.commit();
  if (!result.ok) throw new Error(`A write to ${store.describe} failed a check`);
}
