/**
 * The master's durable state: agents, frameworks, tasks and removed framework ids, one record
 * per key in a `StateStore` (Deno KV, or etcd for several masters). One master writes a store at
 * a time (the leader; on etcd every write is fenced by its leadership), so records are written
 * whole; a batch of changes goes in as few atomic writes as the store's limits allow.
 */
import { z } from "zod";
import { commitInPieces, type StateStore, type StoreKey } from "../../store/mod.ts";
import type { Change } from "../core/context.ts";
import type { Snapshot } from "../core/master.ts";
import { AgentRecordSchema, FrameworkRecordSchema, TaskRecordSchema } from "../core/records.ts";
import { keys } from "./keys.ts";

/** Master state in a `StateStore`. */
export class MasterStore {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Where the records live, for messages. */
  get describe(): string {
    return this.#store.describe;
  }

  /** Reads everything back, parsing each record by its schema. */
  async load(): Promise<Snapshot> {
    const read = async <T>(
      prefix: StoreKey,
      schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    ): Promise<T[]> => {
      const out: T[] = [];
      for await (const entry of this.#store.list(prefix)) {
        const parsed = schema.safeParse(entry.value);
        if (!parsed.success) {
          throw new Error(
            `Corrupt record at ${JSON.stringify(entry.key)}: ${parsed.error.message}`,
          );
        }
        out.push(parsed.data);
      }
      return out;
    };
    const removed: string[] = [];
    for await (const entry of this.#store.list(keys.removedFrameworks)) {
      removed.push(String(entry.key[1]));
    }
    return {
      agents: await read(keys.agents, AgentRecordSchema),
      frameworks: await read(keys.frameworks, FrameworkRecordSchema),
      tasks: await read(keys.tasks, TaskRecordSchema),
      removedFrameworks: removed,
    };
  }

  /** Writes a batch of changes; resolves once they are durable. Later changes to a key win. */
  async commit(changes: readonly Change[]): Promise<void> {
    await commitInPieces(this.#store, changes.map(toEntry));
  }

  close(): void {
    this.#store.close();
  }
}

function toEntry(change: Change): { key: StoreKey; value: unknown } {
  switch (change.kind) {
    case "agent":
      return { key: keys.agent(change.id), value: change.value };
    case "framework":
      return { key: keys.framework(change.id), value: change.value };
    case "task":
      return { key: keys.task(change.frameworkId, change.taskId), value: change.value };
    case "removed_framework":
      return { key: keys.removedFramework(change.id), value: true };
  }
}
