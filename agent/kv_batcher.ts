/**
 * Group commit for Deno KV (`GroupCommit`, base/group_commit.ts): writes asked for while a commit
 * is in flight go out together in the next atomic operation, so a busy agent pays one durable
 * commit for many updates instead of one each. Each write resolves once the commit that holds it
 * is durable.
 */
import { GroupCommit } from "../base/mod.ts";

interface Pending {
  mutate: (op: Deno.AtomicOperation) => void;
  /** Mutations this write adds (Deno KV caps one atomic operation at 1000). */
  size: number;
}

const MAX_MUTATIONS = 500;

/** Batches KV writes into shared atomic commits. */
export class KvBatcher {
  readonly #commits: GroupCommit<Pending>;

  constructor(kv: Deno.Kv) {
    this.#commits = new GroupCommit<Pending>({
      commit: async (batch) => {
        const op = kv.atomic();
        for (const p of batch) p.mutate(op);
        const result = await op.commit();
        if (!result.ok) throw new Error("KV commit failed a check");
      },
      weight: (p) => p.size,
      maxWeight: MAX_MUTATIONS,
    });
  }

  /** Adds `mutate`'s mutations (at most `size` of them) to the next commit; resolves once durable. */
  write(mutate: (op: Deno.AtomicOperation) => void, size = 1): Promise<void> {
    return this.#commits.add({ mutate, size });
  }
}
