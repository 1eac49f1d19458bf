/**
 * One agent's view of a store shared by many: every key is put under `prefix`. A simulated
 * agent each with a Deno KV of its own costs a thread and about 230 KB per agent (measured:
 * 300 in-memory stores, 300 threads), too much for 10,000 agents in one process; this view
 * lets each keep its real store code over one shared KV.
 *
 * It does what the agent uses (get, set, delete, list, atomic set/delete/check); queues,
 * watches and getMany throw.
 */

type Key = Deno.KvKey;

/** A `Deno.Kv` that keeps its keys under a prefix of a shared one. */
export class PrefixedKv implements Deno.Kv {
  readonly #kv: Deno.Kv;
  readonly #prefix: Key;

  constructor(kv: Deno.Kv, prefix: Key) {
    this.#kv = kv;
    this.#prefix = prefix;
  }

  #key(key: Key): Key {
    return [...this.#prefix, ...key];
  }

  #strip(key: Key): Key {
    return key.slice(this.#prefix.length);
  }

  async get<T = unknown>(
    key: Key,
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<Deno.KvEntryMaybe<T>> {
    const entry = await this.#kv.get<T>(this.#key(key), options);
    return { ...entry, key };
  }

  getMany<T extends readonly unknown[]>(
    _keys: readonly [...{ [K in keyof T]: Key }],
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    return Promise.reject(unsupported("getMany"));
  }

  set(key: Key, value: unknown, options?: { expireIn?: number }): Promise<Deno.KvCommitResult> {
    return this.#kv.set(this.#key(key), value, options);
  }

  delete(key: Key): Promise<void> {
    return this.#kv.delete(this.#key(key));
  }

  list<T = unknown>(
    selector: Deno.KvListSelector,
    options?: Deno.KvListOptions,
  ): Deno.KvListIterator<T> {
    const scoped: Deno.KvListSelector = "prefix" in selector
      ? {
        prefix: this.#key(selector.prefix),
        ...("start" in selector ? { start: this.#key(selector.start) } : {}),
        ...("end" in selector ? { end: this.#key(selector.end) } : {}),
      }
      : { start: this.#key(selector.start), end: this.#key(selector.end) };
    return new PrefixedListIterator(this.#kv.list<T>(scoped, options), (k) => this.#strip(k));
  }

  enqueue(): Promise<Deno.KvCommitResult> {
    return Promise.reject(unsupported("enqueue"));
  }

  listenQueue(): Promise<void> {
    return Promise.reject(unsupported("listenQueue"));
  }

  atomic(): Deno.AtomicOperation {
    return new PrefixedAtomic(this.#kv.atomic(), (k) => this.#key(k));
  }

  watch<T extends readonly unknown[]>(
    _keys: readonly [...{ [K in keyof T]: Key }],
  ): ReadableStream<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    throw unsupported("watch");
  }

  /** The shared store stays open: its owner closes it. */
  close(): void {}

  commitVersionstamp(): symbol {
    return this.#kv.commitVersionstamp();
  }

  [Symbol.dispose](): void {}
}

class PrefixedListIterator<T> implements Deno.KvListIterator<T> {
  readonly #inner: Deno.KvListIterator<T>;
  readonly #strip: (key: Key) => Key;

  constructor(inner: Deno.KvListIterator<T>, strip: (key: Key) => Key) {
    this.#inner = inner;
    this.#strip = strip;
  }

  get cursor(): string {
    return this.#inner.cursor;
  }

  async next(): Promise<IteratorResult<Deno.KvEntry<T>, undefined>> {
    const result = await this.#inner.next();
    if (result.done) return result;
    return { done: false, value: { ...result.value, key: this.#strip(result.value.key) } };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Deno.KvEntry<T>> {
    return this;
  }
}

class PrefixedAtomic implements Deno.AtomicOperation {
  readonly #op: Deno.AtomicOperation;
  readonly #key: (key: Key) => Key;

  constructor(op: Deno.AtomicOperation, key: (key: Key) => Key) {
    this.#op = op;
    this.#key = key;
  }

  check(...checks: Deno.AtomicCheck[]): this {
    this.#op.check(...checks.map((c) => ({ ...c, key: this.#key(c.key) })));
    return this;
  }

  mutate(...mutations: Deno.KvMutation[]): this {
    this.#op.mutate(...mutations.map((m) => ({ ...m, key: this.#key(m.key) })));
    return this;
  }

  sum(key: Key, n: bigint): this {
    this.#op.sum(this.#key(key), n);
    return this;
  }

  min(key: Key, n: bigint): this {
    this.#op.min(this.#key(key), n);
    return this;
  }

  max(key: Key, n: bigint): this {
    this.#op.max(this.#key(key), n);
    return this;
  }

  set(key: Key, value: unknown, options?: { expireIn?: number }): this {
    this.#op.set(this.#key(key), value, options);
    return this;
  }

  delete(key: Key): this {
    this.#op.delete(this.#key(key));
    return this;
  }

  enqueue(): this {
    throw unsupported("enqueue");
  }

  commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    return this.#op.commit();
  }
}

function unsupported(what: string): Error {
  return new Error(`A simulated agent's store does not support ${what}`);
}
