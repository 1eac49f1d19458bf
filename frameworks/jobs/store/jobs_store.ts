/**
 * The jobs framework's records in a `StateStore` (Deno KV, or etcd): jobs, active runs,
 * histories, schedule ticks and the framework id. `load()` reads and parses them all once at
 * start; `commit()` writes one operation's changes in one atomic write, each key checked against
 * the versionstamp this store last saw, so a second writer is a conflict, never overwritten.
 */
import { z } from "zod";
import { TenderError } from "../../../base/mod.ts";
import type { StateStore, StoreKey } from "../../../store/mod.ts";
import type { Change, JobsState } from "../core/jobs_core.ts";
import { parseJob } from "../model/job.ts";
import { HistorySchema, RunRecordSchema } from "../model/run.ts";
import { keys } from "./keys.ts";

/** The jobs framework's store. The only writer of its records. */
export class JobsStore {
  readonly #kv: StateStore;
  /** Versionstamps of the keys this store read or wrote (null: known absent). */
  readonly #seen = new Map<string, string | null>();

  constructor(kv: StateStore) {
    this.#kv = kv;
  }

  get describe(): string {
    return this.#kv.describe;
  }

  /** Every record, parsed. Throws naming the key of a record that does not parse. */
  async load(): Promise<JobsState> {
    const state: JobsState = { jobs: [], runs: [], histories: [], ticks: [] };
    for await (const entry of this.#kv.list(keys.root())) {
      this.#seen.set(id(entry.key), entry.versionstamp);
      const [, kind, a, b] = entry.key;
      try {
        if (kind === "framework_id") state.frameworkId = z.string().parse(entry.value);
        else if (kind === "specs") state.jobs.push(parseJob(entry.value));
        else if (kind === "runs") state.runs.push(RunRecordSchema.parse(entry.value));
        else if (kind === "history") state.histories.push(HistorySchema.parse(entry.value));
        else if (kind === "ticks" && typeof a === "string" && typeof b === "string") {
          state.ticks.push({ jobId: a, scheduleId: b, after: z.number().parse(entry.value) });
        }
      } catch (e) {
        throw new Error(
          `Cannot read ${JSON.stringify(entry.key)} in ${this.#kv.describe}: ${
            e instanceof Error ? e.message : e
          }`,
        );
      }
    }
    return state;
  }

  /** Writes `changes` atomically (later changes of a key win). Throws on a conflict. */
  async commit(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const latest = new Map<string, { key: StoreKey; value: unknown }>();
    for (const c of changes) {
      const entry = toEntry(c);
      latest.delete(id(entry.key));
      latest.set(id(entry.key), entry);
    }
    const { maxMutations, maxChecks } = this.#kv.limits;
    const entries = [...latest.values()];
    const size = Math.max(1, Math.min(maxMutations, maxChecks));
    for (let i = 0; i < entries.length; i += size) {
      // One write when it fits the store's limits (always, but for a job deleted with many runs).
      const piece = entries.slice(i, i + size);
      const op = this.#kv.atomic();
      for (const e of piece) {
        const seen = this.#seen.get(id(e.key));
        op.check({ key: e.key, versionstamp: seen ?? null });
        if (e.value === null) op.delete(e.key);
        else op.set(e.key, e.value);
      }
      const result = await op.commit();
      if (!result.ok) {
        throw new TenderError(
          "conflict",
          `Another writer changed the jobs records in ${this.#kv.describe}; ` +
            "only one jobs framework may use a store",
        );
      }
      for (const e of piece) {
        this.#seen.set(id(e.key), e.value === null ? null : result.versionstamp);
      }
    }
  }
}

function toEntry(c: Change): { key: StoreKey; value: unknown } {
  switch (c.kind) {
    case "framework_id":
      return { key: keys.frameworkId(), value: c.value };
    case "job":
      return { key: keys.job(c.id), value: c.value };
    case "run":
      return { key: keys.run(c.jobId, c.runId), value: c.value };
    case "history":
      return { key: keys.history(c.jobId), value: c.value };
    case "tick":
      return { key: keys.tick(c.jobId, c.scheduleId), value: c.value };
  }
}

function id(key: StoreKey): string {
  return JSON.stringify(key);
}
