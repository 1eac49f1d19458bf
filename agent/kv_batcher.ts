/**
 * Group commit for Deno KV: writes asked for while a commit is in flight go out together in
 * the next atomic operation, so a busy agent pays one durable commit for many updates instead
 * of one each. Each write resolves once the commit that holds it is durable.
 */

interface Pending {
  mutate: (op: Deno.AtomicOperation) => void;
  /** Mutations this write adds (Deno KV caps one atomic operation at 1000). */
  size: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const MAX_MUTATIONS = 500;

/** Batches KV writes into shared atomic commits. */
export class KvBatcher {
  readonly #kv: Deno.Kv;
  #queue: Pending[] = [];
  #flushing = false;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Adds `mutate`'s mutations (at most `size` of them) to the next commit; resolves once durable. */
  write(mutate: (op: Deno.AtomicOperation) => void, size = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ mutate, size, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch: Pending[] = [];
        let size = 0;
        while (
          this.#queue.length > 0 &&
          (batch.length === 0 || size + this.#queue[0]!.size <= MAX_MUTATIONS)
        ) {
          const next = this.#queue.shift()!;
          size += next.size;
          batch.push(next);
        }
        const op = this.#kv.atomic();
        try {
          for (const p of batch) p.mutate(op);
          const result = await op.commit();
          if (!result.ok) throw new Error("KV commit failed a check");
          for (const p of batch) p.resolve();
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
