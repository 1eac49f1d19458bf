/**
 * Group commit: writes asked for while a commit is in flight wait, and go out together in the
 * next one, so a burst pays one durable commit per round instead of one per write. Each write
 * resolves once the commit that holds it is durable and rejects if that commit fails. The one
 * home of the idea: the master's runtime commits its operations' changes through it (and sends
 * their events after), the agent its Deno KV writes (`agent/kv_batcher.ts`).
 *
 * ```ts
 * const commits = new GroupCommit<string>({ commit: (batch) => store.write(batch) });
 * await Promise.all([commits.add("a"), commits.add("b")]); // "a" alone, then "b"
 * ```
 */

/** How a `GroupCommit` makes a batch durable, and how much one commit takes. */
export interface GroupCommitOptions<T> {
  /**
   * Makes `batch` (oldest first) durable; a throw or rejection fails every write of it. Never
   * called while another call is in flight.
   */
  commit(batch: readonly T[]): Promise<void>;
  /** What one write weighs against `maxWeight` (default 1). */
  weight?(item: T): number;
  /** The most weight one commit takes (default: no bound); a heavier write goes alone. */
  maxWeight?: number;
}

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Commits writes in rounds: one commit in flight, the writes asked for meanwhile in the next. */
export class GroupCommit<T> {
  readonly #options: GroupCommitOptions<T>;
  #queue: Waiting<T>[] = [];
  #inFlight: readonly T[] = [];
  #flushing: Promise<void> | undefined;

  constructor(options: GroupCommitOptions<T>) {
    this.#options = options;
  }

  /** Adds `item` to the next commit; resolves once that commit is durable. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Whether a write not yet durable (in flight or waiting) satisfies `test`. */
  someUnsettled(test: (item: T) => boolean): boolean {
    return this.#inFlight.some(test) || this.#queue.some((w) => test(w.item));
  }

  /** Resolves once no write is in flight or waiting; never rejects. */
  settled(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight = batch.map((w) => w.item);
      try {
        await this.#options.commit(this.#inFlight);
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      } finally {
        this.#inFlight = [];
      }
    }
    this.#flushing = undefined;
  }

  /** The oldest waiting writes up to `maxWeight` (at least one). */
  #take(): Waiting<T>[] {
    const { weight, maxWeight = Infinity } = this.#options;
    if (!weight && maxWeight === Infinity) return this.#queue.splice(0);
    let taken = 0;
    let total = 0;
    for (const w of this.#queue) {
      const next = weight ? weight(w.item) : 1;
      if (taken > 0 && total + next > maxWeight) break;
      total += next;
      taken++;
    }
    return this.#queue.splice(0, taken);
  }
}
