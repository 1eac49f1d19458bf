/**
 * `JournaledStore`: a `StateStore` over another that lifts the backend's limits on one atomic write
 * (mutations, checks, bytes) and on one value, while keeping what readers see atomic.
 *
 * - A value larger than the backend takes in one record is cut into chunks stored under
 *   `[...root, "chunks", <key as JSON>, gen]`, and its key holds a manifest naming the chunks' `gen`
 *   and count. The manifest is written in the same write as its chunks (or last, see below), so a
 *   reader that finds it finds every chunk; reads give back the whole value.
 * - A write that does not fit one backend commit goes through a journal: its mutations are written
 *   first as journal pieces (which no reader looks at), then one small commit flips the journal's
 *   head (`[...root, "journal_head"]`) with as many of the write's checks as fit (the rest are read
 *   and compared just before, while nothing else of this store runs). The flip is the moment the
 *   write is acknowledged: the journal is then applied in pieces and removed. A process that finds
 *   a head on first use (its predecessor died while applying) applies that journal before it
 *   answers anything, so nothing acknowledged is lost; and while a journal is applied this store
 *   runs no read and no other write, so no reader of it sees half of a write.
 *
 * Its contract beyond `StateStore`'s: this process is the only writer of the keys it serves (one
 * Marathon per KV file; on etcd the elected leader, whose writes are fenced), and a caller never
 * commits while it iterates a `list()` (a large write waits for the iteration to end). A journaled
 * write's versionstamp is its flip's: keys it wrote carry later ones, so a checked change of them
 * reads them again first.
 */
import type {
  AtomicWrite,
  CommitResult,
  MaybeStoreEntry,
  StateStore,
  StoreEntry,
  StoreKey,
  StoreLimits,
} from "./state_store.ts";
import { commitInPieces } from "./state_store.ts";

/** Characters of JSON per chunk: a chunk of two-byte characters stays under Deno KV's 64 KiB. */
const CHUNK = 30_000;
/** The manifest's one field. */
const MANIFEST = "$tenderChunks";

interface Manifest {
  gen: string;
  count: number;
}

/** Mutations as backend writes, and what to remember of their chunks once they commit. */
interface Expanded {
  writes: { key: StoreKey; value?: unknown; bytes: number }[];
  learn(): void;
}

interface Mutation {
  key: StoreKey;
  /** Undefined: delete. */
  value?: unknown;
}

/** How a `JournaledStore` is laid out. */
export interface JournaledStoreOptions {
  /** Where its chunks and journal live, beside the records it serves (`["marathon", "_store"]`). */
  root: StoreKey;
  /** Characters of JSON per chunk (tests make it small); default 30,000. */
  chunkChars?: number;
}

/** A `StateStore` without the backend's per-write and per-value limits (see the module doc). */
export class JournaledStore implements StateStore {
  readonly describe: string;
  /**
   * The backend's: what one write holds without a journal. A larger atomic write still commits
   * whole (journaled, so slower); `commitInPieces` keeps to these and so never journals.
   */
  readonly limits: StoreLimits;
  readonly #backend: StateStore;
  readonly #root: StoreKey;
  readonly #chunkChars: number;
  readonly #lock = new ReadWriteLock();
  #ready: Promise<void> | undefined;
  /** The keys this store knows to hold a manifest (every one, once ready). */
  readonly #chunked = new Map<string, Manifest>();
  #gen = 0;

  constructor(backend: StateStore, options: JournaledStoreOptions) {
    this.#backend = backend;
    this.#root = options.root;
    this.#chunkChars = options.chunkChars ?? CHUNK;
    this.describe = backend.describe;
    this.limits = backend.limits;
  }

  /** How many journaled (large) writes this store has made, for tests and metrics. */
  journaled = 0;

  async get<T = unknown>(key: StoreKey): Promise<MaybeStoreEntry<T>> {
    await this.#prepare();
    return await this.#lock.shared(async () => {
      const e = await this.#backend.get(key);
      return {
        key,
        value: await this.#resolve(key, e.value) as T | null,
        versionstamp: e.versionstamp,
      };
    });
  }

  async getMany(keys: readonly StoreKey[]): Promise<MaybeStoreEntry[]> {
    await this.#prepare();
    return await this.#lock.shared(async () => {
      const entries = await this.#backend.getMany(keys);
      const out: MaybeStoreEntry[] = [];
      for (const e of entries) out.push({ ...e, value: await this.#resolve(e.key, e.value) });
      return out;
    });
  }

  async *list<T = unknown>(prefix: StoreKey): AsyncIterable<StoreEntry<T>> {
    await this.#prepare();
    const release = await this.#lock.acquireShared();
    try {
      for await (const e of this.#backend.list(prefix)) {
        yield { ...e, value: await this.#resolve(e.key, e.value) as T };
      }
    } finally {
      release();
    }
  }

  async set(key: StoreKey, value: unknown): Promise<void> {
    await this.atomic().set(key, value).commit();
  }

  async delete(key: StoreKey): Promise<void> {
    await this.atomic().delete(key).commit();
  }

  atomic(): AtomicWrite {
    return new JournaledWrite((checks, mutations) => this.#commit(checks, mutations));
  }

  /** Closes the backend. */
  close(): void {
    this.#backend.close();
  }

  /** First use: finish a journal a predecessor left, learn the chunked keys, drop stray chunks. */
  #prepare(): Promise<void> {
    if (this.#ready) return this.#ready;
    const ready = this.#lock.exclusive(async () => {
      const head = await this.#backend.get<{ id: string; pieces: number }>(this.#headKey());
      if (head.value !== null) await this.#apply(head.value.id, head.value.pieces);
      else await this.#dropJournal();
      await this.#learnChunks();
    });
    this.#ready = ready;
    ready.catch(() => {
      if (this.#ready === ready) this.#ready = undefined;
    });
    return ready;
  }

  async #learnChunks(): Promise<void> {
    const stray: StoreKey[] = [];
    const byKey = new Map<string, { gen: string; keys: StoreKey[] }[]>();
    for await (const e of this.#backend.list(this.#chunksRoot())) {
      const id = String(e.key[this.#root.length + 1]);
      const gen = String(e.key[this.#root.length + 2]);
      const gens = byKey.get(id) ?? [];
      byKey.set(id, gens);
      let g = gens.find((x) => x.gen === gen);
      if (!g) gens.push(g = { gen, keys: [] });
      g.keys.push(e.key);
    }
    const manifests = await this.#backend.getMany(
      [...byKey.keys()].map((id) => JSON.parse(id) as StoreKey),
    );
    [...byKey.entries()].forEach(([id, gens], i) => {
      const manifest = manifestOf(manifests[i]?.value);
      for (const g of gens) {
        if (manifest?.gen === g.gen) this.#chunked.set(id, manifest);
        else stray.push(...g.keys);
      }
    });
    await commitInPieces(this.#backend, stray.map((key) => ({ key, value: null })));
  }

  /** The value a stored one stands for: itself, or the value its manifest's chunks hold. */
  async #resolve(key: StoreKey, stored: unknown): Promise<unknown> {
    const manifest = manifestOf(stored);
    if (!manifest) return stored;
    this.#chunked.set(JSON.stringify(key), manifest);
    const parts: string[] = [];
    for await (const e of this.#backend.list<string>(this.#chunkPrefix(key, manifest.gen))) {
      parts.push(e.value);
    }
    if (parts.length !== manifest.count) {
      throw new Error(
        `${this.describe}: the value at ${JSON.stringify(key)} has ${parts.length} of its ` +
          `${manifest.count} chunks`,
      );
    }
    return JSON.parse(parts.join(""));
  }

  async #commit(
    checks: readonly { key: StoreKey; versionstamp: string | null }[],
    mutations: readonly Mutation[],
  ): Promise<CommitResult> {
    await this.#prepare();
    const expanded = this.#expand(mutations);
    const { maxMutations, maxChecks, maxBytes } = this.#backend.limits;
    const bytes = expanded.writes.reduce((n, w) => n + w.bytes, 0);
    if (
      expanded.writes.length <= maxMutations && checks.length <= maxChecks && bytes <= maxBytes
    ) {
      return await this.#lock.shared(async () => {
        const op = this.#backend.atomic().check(...checks);
        for (const w of expanded.writes) {
          if (w.value === undefined) op.delete(w.key);
          else op.set(w.key, w.value);
        }
        const result = await op.commit();
        if (result.ok) expanded.learn();
        return result;
      });
    }
    return await this.#lock.exclusive(() => this.#journal(checks, expanded));
  }

  /** Mutations as backend writes: large values as chunks and a manifest; old chunks deleted. */
  #expand(mutations: readonly Mutation[]): Expanded {
    const latest = new Map<string, Mutation>();
    for (const m of mutations) {
      const id = JSON.stringify(m.key);
      latest.delete(id);
      latest.set(id, m);
    }
    const writes: Expanded["writes"] = [];
    const learned = new Map<string, Manifest | undefined>();
    for (const [id, m] of latest) {
      const old = this.#chunked.get(id);
      if (old) {
        for (let i = 0; i < old.count; i++) {
          writes.push({ key: [...this.#chunkPrefix(m.key, old.gen), i], bytes: 0 });
        }
        learned.set(id, undefined);
      }
      if (m.value === undefined) {
        writes.push({ key: m.key, bytes: 0 });
        continue;
      }
      const json = JSON.stringify(m.value);
      if (json.length <= this.#chunkChars) {
        writes.push({ key: m.key, value: m.value, bytes: json.length });
        continue;
      }
      const manifest: Manifest = { gen: this.#nextGen(), count: 0 };
      for (let i = 0; i < json.length; i += this.#chunkChars) {
        const chunk = json.slice(i, i + this.#chunkChars);
        writes.push({
          key: [...this.#chunkPrefix(m.key, manifest.gen), manifest.count++],
          value: chunk,
          bytes: chunk.length,
        });
      }
      // The manifest last: a write applied in pieces shows it only once every chunk is there.
      writes.push({ key: m.key, value: { [MANIFEST]: manifest }, bytes: 100 });
      learned.set(id, manifest);
    }
    const learn = () => {
      for (const [id, manifest] of learned) {
        if (manifest) this.#chunked.set(id, manifest);
        else this.#chunked.delete(id);
      }
    };
    return { writes, learn };
  }

  /** A write too large for one backend commit (see the module doc); runs under the exclusive lock. */
  async #journal(
    checks: readonly { key: StoreKey; versionstamp: string | null }[],
    expanded: Expanded,
  ): Promise<CommitResult> {
    const { maxChecks } = this.#backend.limits;
    const inFlip = checks.slice(0, Math.max(0, maxChecks - 1));
    const rest = checks.slice(inFlip.length);
    if (rest.length > 0) {
      const read = await this.#backend.getMany(rest.map((c) => c.key));
      if (read.some((e, i) => e.versionstamp !== rest[i]!.versionstamp)) return { ok: false };
    }
    const id = this.#nextGen();
    const json = JSON.stringify(expanded.writes.map((w) => [w.key, w.value ?? null]));
    const pieces: { key: StoreKey; value: unknown }[] = [];
    for (let i = 0; i < json.length; i += this.#chunkChars) {
      pieces.push({
        key: [...this.#journalRoot(), id, pieces.length],
        value: json.slice(i, i + this.#chunkChars),
      });
    }
    await commitInPieces(this.#backend, pieces);
    const flip = await this.#backend.atomic().check(...inFlip)
      .check({ key: this.#headKey(), versionstamp: null })
      .set(this.#headKey(), { id, pieces: pieces.length })
      .commit();
    if (!flip.ok) {
      await this.#dropJournal();
      return flip;
    }
    this.journaled += 1;
    await this.#apply(id, pieces.length);
    expanded.learn();
    return flip;
  }

  /** Applies journal `id` (after its flip), then removes it and its head. */
  async #apply(id: string, count: number): Promise<void> {
    const parts: string[] = [];
    for await (const e of this.#backend.list<string>([...this.#journalRoot(), id])) {
      parts.push(e.value);
    }
    if (parts.length !== count) {
      throw new Error(`${this.describe}: journal ${id} has ${parts.length} of its ${count} pieces`);
    }
    const writes = JSON.parse(parts.join("")) as [StoreKey, unknown][];
    await commitInPieces(this.#backend, writes.map(([key, value]) => ({ key, value })));
    await this.#dropJournal();
  }

  /** Removes every journal piece (an applied one's, or a refused or interrupted write's) and the head. */
  async #dropJournal(): Promise<void> {
    const gone: { key: StoreKey; value: null }[] = [];
    for await (const e of this.#backend.list(this.#journalRoot())) {
      gone.push({ key: e.key, value: null });
    }
    await commitInPieces(this.#backend, gone);
    await this.#backend.delete(this.#headKey());
  }

  #nextGen(): string {
    return `${(this.#gen++).toString(36)}-${crypto.randomUUID()}`;
  }

  #headKey(): StoreKey {
    return [...this.#root, "journal_head"];
  }

  #journalRoot(): StoreKey {
    return [...this.#root, "journal"];
  }

  #chunksRoot(): StoreKey {
    return [...this.#root, "chunks"];
  }

  #chunkPrefix(key: StoreKey, gen: string): StoreKey {
    return [...this.#chunksRoot(), JSON.stringify(key), gen];
  }
}

function manifestOf(value: unknown): Manifest | undefined {
  if (value === null || typeof value !== "object" || !(MANIFEST in value)) return undefined;
  const m = (value as Record<string, unknown>)[MANIFEST];
  if (m === null || typeof m !== "object") return undefined;
  const { gen, count } = m as Record<string, unknown>;
  return typeof gen === "string" && typeof count === "number" ? { gen, count } : undefined;
}

class JournaledWrite implements AtomicWrite {
  readonly #checks: { key: StoreKey; versionstamp: string | null }[] = [];
  readonly #mutations: Mutation[] = [];
  readonly #commit: JournaledCommit;

  constructor(commit: JournaledCommit) {
    this.#commit = commit;
  }

  check(...checks: { key: StoreKey; versionstamp: string | null }[]): this {
    for (const { key, versionstamp } of checks) this.#checks.push({ key, versionstamp });
    return this;
  }

  set(key: StoreKey, value: unknown): this {
    this.#mutations.push({ key, value });
    return this;
  }

  delete(key: StoreKey): this {
    this.#mutations.push({ key });
    return this;
  }

  commit(): Promise<CommitResult> {
    return this.#commit(this.#checks, this.#mutations);
  }
}

type JournaledCommit = (
  checks: readonly { key: StoreKey; versionstamp: string | null }[],
  mutations: readonly Mutation[],
) => Promise<CommitResult>;

/** Many shared holders or one exclusive; a waiting exclusive holder keeps new shared ones out. */
class ReadWriteLock {
  #shared = 0;
  #exclusive: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  async acquireShared(): Promise<() => void> {
    while (this.#exclusive) await this.#exclusive;
    this.#shared += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#shared -= 1;
      if (this.#shared === 0) this.#drained?.();
    };
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquireShared();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let release!: () => void;
    this.#exclusive = new Promise<void>((resolve) => release = resolve);
    try {
      if (this.#shared > 0) await new Promise<void>((resolve) => this.#drained = resolve);
      this.#drained = undefined;
      return await fn();
    } finally {
      this.#exclusive = undefined;
      release();
    }
  }
}
