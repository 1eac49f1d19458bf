/**
 * The master's durable state: agents, frameworks, tasks and removed framework ids, one record
 * per key in a `StateStore` (Deno KV, or etcd for several masters). One master writes a store at
 * a time (the leader; on etcd every write is fenced by its leadership), so records are written
 * whole; a batch of changes goes in as few atomic writes as the store's limits allow.
 */
import { z } from "zod";
import {
  commitInPieces,
  type StateStore,
  type StoreEntry,
  type StoreKey,
} from "../../store/mod.ts";
import type { Change } from "../core/context.ts";
import type { Snapshot } from "../core/master.ts";
import { AgentRecordSchema, FrameworkRecordSchema, TaskRecordSchema } from "../core/records.ts";
import { QuotaRecordSchema, WeightRecordSchema } from "../core/roles.ts";
import { MaintenanceRecordSchema } from "../core/machines.ts";
import { keys } from "./keys.ts";

/** A record the master could not read back, moved aside. */
export interface BadRecord {
  key: StoreKey;
  quarantine: StoreKey;
  reason: string;
}

/** Says loudly, on stderr, that a record was quarantined. */
function logBadRecord(bad: BadRecord): void {
  console.error(JSON.stringify({
    level: "error",
    msg: "master: a stored record is damaged or out of bounds; it was moved aside and is ignored",
    key: bad.key,
    movedTo: bad.quarantine,
    reason: bad.reason,
  }));
}

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

  /**
   * Reads everything back, parsing each record by its schema. A record that does not parse (a
   * damaged store, or one written before a limit existed, such as a resource of Infinity) is
   * moved aside to `["quarantine", …key]` and reported to `onBadRecord`: the master starts
   * without it rather than not at all, and an operator can still read what it held. An agent
   * quarantined so re-registers as new; a task, when its agent reports it again.
   */
  async load(onBadRecord: (bad: BadRecord) => void = logBadRecord): Promise<Snapshot> {
    const read = async <T>(
      prefix: StoreKey,
      schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    ): Promise<T[]> => {
      const out: T[] = [];
      const bad: StoreEntry[] = [];
      for await (const entry of this.#store.list(prefix)) {
        const parsed = schema.safeParse(entry.value);
        if (parsed.success) {
          out.push(parsed.data);
          continue;
        }
        bad.push(entry);
        const issue = parsed.error.issues[0];
        onBadRecord({
          key: entry.key,
          quarantine: keys.quarantined(entry.key),
          reason: issue ? `'${issue.path.join(".")}': ${issue.message}` : "unparseable",
        });
      }
      for (const entry of bad) {
        await this.#store.atomic()
          .check({ key: entry.key, versionstamp: entry.versionstamp })
          .set(keys.quarantined(entry.key), entry.value)
          .delete(entry.key)
          .commit();
      }
      return out;
    };
    const removed: string[] = [];
    for await (const entry of this.#store.list(keys.removedFrameworks)) {
      removed.push(String(entry.key[1]));
    }
    const gone: string[] = [];
    for await (const entry of this.#store.list(keys.goneAgents)) gone.push(String(entry.key[1]));
    return {
      agents: await read(keys.agents, AgentRecordSchema),
      frameworks: await read(keys.frameworks, FrameworkRecordSchema),
      tasks: await read(keys.tasks, TaskRecordSchema),
      removedFrameworks: removed,
      goneAgents: gone,
      quotas: await read(keys.quotas, QuotaRecordSchema),
      weights: await read(keys.weights, WeightRecordSchema),
      maintenance: await this.#maintenance(onBadRecord),
    };
  }

  /** The maintenance record (one key); a damaged one is reported and read as none. */
  async #maintenance(onBadRecord: (bad: BadRecord) => void) {
    const entry = await this.#store.get(keys.maintenance);
    if (entry.value === null || entry.value === undefined) return undefined;
    const parsed = MaintenanceRecordSchema.safeParse(entry.value);
    if (parsed.success) return parsed.data;
    onBadRecord({
      key: keys.maintenance,
      quarantine: keys.quarantined(keys.maintenance),
      reason: parsed.error.issues[0]?.message ?? "unparseable",
    });
    await this.#store.atomic().set(keys.quarantined(keys.maintenance), entry.value)
      .delete(keys.maintenance).commit();
    return undefined;
  }

  /**
   * The cluster this store belongs to: the id it holds, or `proposed`, written now (first start,
   * or a store from before cluster ids). `created` tells which.
   */
  async clusterId(proposed: string): Promise<{ id: string; created: boolean }> {
    const entry = await this.#store.get(keys.cluster);
    const held = z.object({ id: z.string().min(1) }).safeParse(entry.value);
    if (held.success) return { id: held.data.id, created: false };
    const write = await this.#store.atomic()
      .check({ key: keys.cluster, versionstamp: entry.versionstamp })
      .set(keys.cluster, { id: proposed })
      .commit();
    if (!write.ok) return await this.clusterId(proposed); // another writer was first: take theirs
    return { id: proposed, created: true };
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
    case "gone_agent":
      return { key: keys.goneAgent(change.id), value: true };
    case "quota":
      return { key: keys.quota(change.role), value: change.value };
    case "weight":
      return { key: keys.weight(change.role), value: change.value };
    case "maintenance":
      return { key: keys.maintenance, value: change.value };
  }
}
