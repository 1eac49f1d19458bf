/** The embedded backend: a Deno KV file (SQLite), one process at a time. */
import { openPrivateKv } from "../base/mod.ts";
import type {
  AtomicWrite,
  CommitResult,
  MaybeStoreEntry,
  StateStore,
  StoreEntry,
  StoreKey,
  StoreLimits,
} from "./state_store.ts";

/** KV allows 1000 mutations and 800 KB per commit; stay well inside them. */
const KV_LIMITS: StoreLimits = { maxMutations: 400, maxChecks: 100, maxBytes: 400_000 };

/** A `StateStore` over a Deno KV handle it owns. */
export class DenoKvStore implements StateStore {
  readonly describe: string;
  readonly limits = KV_LIMITS;
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv, describe = "deno-kv") {
    this.#kv = kv;
    this.describe = describe;
  }

  /**
   * Opens (creating if needed) the KV file at `path` (or `:memory:`), readable by its owner only
   * (0600, its `-wal` and `-shm` files too): it holds task environments.
   */
  static async open(path: string): Promise<DenoKvStore> {
    const kv = await openPrivateKv(path);
    return new DenoKvStore(kv, `deno-kv:${path}`);
  }

  async get<T = unknown>(key: StoreKey): Promise<MaybeStoreEntry<T>> {
    const e = await this.#kv.get<T>(key);
    return { key, value: e.value, versionstamp: e.versionstamp };
  }

  async getMany(keys: readonly StoreKey[]): Promise<MaybeStoreEntry[]> {
    const out: MaybeStoreEntry[] = [];
    // KV reads at most 10 keys per getMany.
    for (let i = 0; i < keys.length; i += 10) {
      const chunk = keys.slice(i, i + 10);
      const entries = await this.#kv.getMany(chunk);
      entries.forEach((e, j) =>
        out.push({ key: chunk[j]!, value: e.value, versionstamp: e.versionstamp })
      );
    }
    return out;
  }

  async *list<T = unknown>(prefix: StoreKey): AsyncIterable<StoreEntry<T>> {
    for await (const e of this.#kv.list<T>({ prefix: [...prefix] })) {
      yield { key: e.key.map(keyPart), value: e.value, versionstamp: e.versionstamp };
    }
  }

  async set(key: StoreKey, value: unknown): Promise<void> {
    await this.#kv.set(key, value);
  }

  async delete(key: StoreKey): Promise<void> {
    await this.#kv.delete(key);
  }

  atomic(): AtomicWrite {
    return new KvAtomicWrite(this.#kv.atomic());
  }

  close(): void {
    this.#kv.close();
  }
}

class KvAtomicWrite implements AtomicWrite {
  readonly #op: Deno.AtomicOperation;

  constructor(op: Deno.AtomicOperation) {
    this.#op = op;
  }

  check(...checks: { key: StoreKey; versionstamp: string | null }[]): this {
    this.#op.check(...checks);
    return this;
  }

  set(key: StoreKey, value: unknown): this {
    this.#op.set(key, value);
    return this;
  }

  delete(key: StoreKey): this {
    this.#op.delete(key);
    return this;
  }

  async commit(): Promise<CommitResult> {
    const result = await this.#op.commit();
    return result.ok ? { ok: true, versionstamp: result.versionstamp } : { ok: false };
  }
}

/** Our stores only write string and integer key parts. */
function keyPart(part: Deno.KvKeyPart): string | number {
  if (typeof part === "string" || typeof part === "number") return part;
  throw new Error(`Unexpected key part ${String(part)} in a Tender store`);
}
