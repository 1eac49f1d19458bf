/**
 * The etcd backend of `StateStore`: each atomic write is one etcd transaction (its checks are
 * compares on mod revisions, a quorum has it before it resolves), and every write of a leader
 * carries its leadership's fence, so a deposed or paused leader can never write. Lists page
 * through a prefix at one revision; versionstamps are mod revisions.
 */
import {
  type AtomicWrite,
  type CommitResult,
  LeadershipLostError,
  type MaybeStoreEntry,
  type StateStore,
  type StoreEntry,
  type StoreKey,
  type StoreLimits,
} from "../state_store.ts";
import { type EtcdClient, MAX_TXN_OPS } from "./client.ts";
import { decodeKey, encodeKey, prefixRange } from "./key_codec.ts";
import {
  type Compare,
  compareMod,
  compareVersion,
  type KeyValue,
  type Op,
  opDelete,
  opPut,
  opRange,
  text,
} from "./wire.ts";

/** etcd's default request limit is 1.5 MiB; values travel as base64 (4/3) inside JSON. */
const MAX_VALUE_BYTES = 900_000;
const PAGE = 500;

/** How the store is reached and fenced. */
export interface EtcdStoreOptions {
  /** The key prefix every record lives under; ends in `/`. */
  prefix: string;
  /** Put in every write: the write fails with `LeadershipLostError` once it no longer holds. */
  fence?: Compare;
  /** For messages: `etcd://h1:2379,h2:2379/prefix`. */
  describe: string;
}

/** A `StateStore` over an etcd cluster. The client is the caller's to close. */
export class EtcdStateStore implements StateStore {
  readonly describe: string;
  readonly limits: StoreLimits;
  readonly #client: EtcdClient;
  readonly #prefix: string;
  readonly #fence: Compare | undefined;

  constructor(client: EtcdClient, options: EtcdStoreOptions) {
    this.#client = client;
    this.#prefix = options.prefix;
    this.#fence = options.fence;
    this.describe = options.describe;
    const compares = options.fence ? MAX_TXN_OPS - 1 : MAX_TXN_OPS;
    this.limits = { maxMutations: MAX_TXN_OPS, maxChecks: compares, maxBytes: MAX_VALUE_BYTES };
  }

  async get<T = unknown>(key: StoreKey): Promise<MaybeStoreEntry<T>> {
    const { kvs } = await this.#client.range(encodeKey(this.#prefix, key));
    return maybeEntry<T>(key, kvs[0]);
  }

  async getMany(keys: readonly StoreKey[]): Promise<MaybeStoreEntry[]> {
    const out: MaybeStoreEntry[] = [];
    for (let i = 0; i < keys.length; i += MAX_TXN_OPS) {
      const chunk = keys.slice(i, i + MAX_TXN_OPS);
      const result = await this.#client.txn({
        compare: [],
        success: chunk.map((k) => opRange(encodeKey(this.#prefix, k))),
      });
      chunk.forEach((key, j) => {
        const response = result.responses[j];
        out.push(maybeEntry(key, response?.type === "range" ? response.kvs[0] : undefined));
      });
    }
    return out;
  }

  async *list<T = unknown>(prefix: StoreKey): AsyncIterable<StoreEntry<T>> {
    const { start, end } = prefixRange(this.#prefix, prefix);
    let from = start;
    let revision: number | undefined;
    for (;;) {
      const page = await this.#client.range(from, { rangeEnd: end, limit: PAGE, revision });
      revision ??= page.revision; // every page at the first one's revision: one consistent view
      for (const kv of page.kvs) {
        yield {
          key: decodeKey(this.#prefix, kv.key),
          value: JSON.parse(text(kv.value)) as T,
          versionstamp: stamp(kv.modRevision),
        };
      }
      const last = page.kvs.at(-1);
      if (!page.more || !last) return;
      from = new Uint8Array([...last.key, 0]);
    }
  }

  async set(key: StoreKey, value: unknown): Promise<void> {
    await this.atomic().set(key, value).commit();
  }

  async delete(key: StoreKey): Promise<void> {
    await this.atomic().delete(key).commit();
  }

  atomic(): AtomicWrite {
    return new EtcdAtomicWrite(this);
  }

  close(): void {}

  /**
   * Runs one write: `compares` and `ops` in one transaction when they fit, else in pieces (the
   * first holds the compares it can; the rest of the compares are checked by a read just before).
   */
  async write(compares: Compare[], ops: { op: Op; bytes: number }[]): Promise<CommitResult> {
    const { maxChecks, maxMutations, maxBytes } = this.limits;
    if (compares.length > maxChecks && !(await this.#holds(compares.slice(maxChecks)))) {
      return { ok: false };
    }
    let first = true;
    let revision = 0;
    for (let i = 0; i < ops.length || first;) {
      const piece: Op[] = [];
      let bytes = 0;
      while (i < ops.length && piece.length < maxMutations) {
        const next = ops[i]!;
        if (piece.length > 0 && bytes + next.bytes > maxBytes) break;
        piece.push(next.op);
        bytes += next.bytes;
        i++;
      }
      const result = await this.#txn(first ? compares.slice(0, maxChecks) : [], piece);
      if (!result.ok) return result;
      revision = result.revision;
      first = false;
    }
    return { ok: true, versionstamp: stamp(revision) };
  }

  async #txn(
    compares: Compare[],
    ops: Op[],
  ): Promise<{ ok: true; revision: number } | { ok: false }> {
    const fence = this.#fence;
    const result = await this.#client.txn({
      compare: fence ? [fence, ...compares] : compares,
      success: ops,
      failure: fence ? [opRange(fence.key)] : [],
    });
    if (result.succeeded) return { ok: true, revision: result.revision };
    if (fence) {
      const read = result.responses[0];
      const current = read?.type === "range" ? read.kvs[0] : undefined;
      if (!compareHolds(fence, current)) {
        throw new LeadershipLostError(`A write to ${this.describe}`);
      }
    }
    return { ok: false };
  }

  /** Whether compares (of MOD and VERSION) hold now, read outside a transaction. */
  async #holds(compares: Compare[]): Promise<boolean> {
    for (const c of compares) {
      const { kvs } = await this.#client.range(c.key);
      if (!compareHolds(c, kvs[0])) return false;
    }
    return true;
  }

  encode(key: StoreKey): Uint8Array {
    return encodeKey(this.#prefix, key);
  }
}

class EtcdAtomicWrite implements AtomicWrite {
  readonly #store: EtcdStateStore;
  readonly #compares: Compare[] = [];
  readonly #ops: { op: Op; bytes: number }[] = [];

  constructor(store: EtcdStateStore) {
    this.#store = store;
  }

  check(...checks: { key: StoreKey; versionstamp: string | null }[]): this {
    for (const { key, versionstamp } of checks) {
      const raw = this.#store.encode(key);
      this.#compares.push(
        versionstamp === null
          ? compareVersion(raw, "EQUAL", 0)
          : compareMod(raw, "EQUAL", Number(versionstamp)),
      );
    }
    return this;
  }

  set(key: StoreKey, value: unknown): this {
    const json = JSON.stringify(value);
    this.#ops.push({ op: opPut(this.#store.encode(key), json), bytes: json.length });
    return this;
  }

  delete(key: StoreKey): this {
    this.#ops.push({ op: opDelete(this.#store.encode(key)), bytes: 0 });
    return this;
  }

  commit(): Promise<CommitResult> {
    return this.#store.write(this.#compares, this.#ops);
  }
}

/** Versionstamps are mod revisions, zero-padded so they compare as strings do. */
function stamp(revision: number): string {
  return String(revision).padStart(20, "0");
}

function maybeEntry<T>(key: StoreKey, kv: KeyValue | undefined): MaybeStoreEntry<T> {
  return kv
    ? { key, value: JSON.parse(text(kv.value)) as T, versionstamp: stamp(kv.modRevision) }
    : { key, value: null, versionstamp: null };
}

/** Evaluates an EQUAL compare of VERSION, CREATE or MOD against a key as read. */
function compareHolds(c: Compare, kv: KeyValue | undefined): boolean {
  if (c.result !== "EQUAL") throw new Error(`Unsupported compare result ${c.result}`);
  switch (c.target) {
    case "VERSION":
      return (kv?.version ?? 0) === c.version;
    case "CREATE":
      return (kv?.createRevision ?? 0) === c.createRevision;
    case "MOD":
      return (kv?.modRevision ?? 0) === c.modRevision;
    default:
      throw new Error(`Unsupported compare target ${c.target}`);
  }
}
