/**
 * The master's durable state in Deno KV: agents, frameworks, tasks and removed framework ids.
 * One master writes a store at a time (it is the leader), so records are written whole; a
 * batch of changes goes in as few atomic commits as KV's limits allow.
 */
import { z } from "zod";
import type { Change } from "../core/context.ts";
import type { Snapshot } from "../core/master.ts";
import { AgentRecordSchema, FrameworkRecordSchema, TaskRecordSchema } from "../core/records.ts";
import { keys } from "./keys.ts";

/** KV's per-commit limits are 1000 mutations and 800 KB; stay well inside them. */
const MAX_MUTATIONS = 400;
const MAX_BYTES = 400_000;

/** Master state in a Deno KV store. */
export class MasterStore {
  readonly #kv: Deno.Kv;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Opens (creating if needed) the store at a path or KV URL. */
  static async open(path: string): Promise<MasterStore> {
    return new MasterStore(await Deno.openKv(path));
  }

  /** Reads everything back, parsing each record by its schema. */
  async load(): Promise<Snapshot> {
    const read = async <T>(
      prefix: readonly string[],
      schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    ): Promise<T[]> => {
      const out: T[] = [];
      for await (const entry of this.#kv.list({ prefix: [...prefix] })) {
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
    for await (const entry of this.#kv.list({ prefix: [...keys.removedFrameworks] })) {
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
    if (changes.length === 0) return;
    const latest = new Map<string, { key: Deno.KvKey; value: unknown }>();
    for (const change of changes) {
      const { key, value } = toEntry(change);
      const id = JSON.stringify(key);
      latest.delete(id); // keep write order of the last change
      latest.set(id, { key, value });
    }
    let op = this.#kv.atomic();
    let count = 0, bytes = 0;
    for (const { key, value } of latest.values()) {
      const size = value === null ? 0 : JSON.stringify(value).length;
      if (count > 0 && (count >= MAX_MUTATIONS || bytes + size > MAX_BYTES)) {
        await commitOrThrow(op);
        op = this.#kv.atomic();
        count = 0;
        bytes = 0;
      }
      if (value === null) op.delete(key);
      else op.set(key, value);
      count += 1;
      bytes += size;
    }
    await commitOrThrow(op);
  }

  close(): void {
    this.#kv.close();
  }
}

function toEntry(change: Change): { key: Deno.KvKey; value: unknown } {
  switch (change.kind) {
    case "agent":
      return { key: [...keys.agent(change.id)], value: change.value };
    case "framework":
      return { key: [...keys.framework(change.id)], value: change.value };
    case "task":
      return { key: [...keys.task(change.frameworkId, change.taskId)], value: change.value };
    case "removed_framework":
      return { key: [...keys.removedFramework(change.id)], value: true };
  }
}

async function commitOrThrow(op: Deno.AtomicOperation): Promise<void> {
  const result = await op.commit();
  if (!result.ok) throw new Error("KV commit failed a check");
}
