/**
 * Coalesces bursts of task changes into one catalog update (deriving costs ~4 µs a task). The
 * wait grows with the cost of deriving (ten times the last derivation's, at least `delayMs`),
 * so a large cluster under a burst of launches spends at most about a tenth of the master's
 * time on its catalog: re-deriving 10,000 tasks every 50 ms took most of it (issue 17).
 */
import type { Clock } from "../../base/mod.ts";
import type { CatalogTask } from "./catalog.ts";
import type { CatalogStore } from "./catalog_store.ts";

/** Options of `CatalogUpdater`. */
export interface CatalogUpdaterOptions {
  clock: Clock;
  /** How long changes are gathered before one update, ms. Default 50 (routers follow in ~1 s). */
  delayMs?: number;
}

/** Calls `store.update(tasks())` at most once per `delayMs` after `changed()`. */
export class CatalogUpdater {
  readonly #store: CatalogStore;
  readonly #tasks: () => readonly CatalogTask[];
  readonly #options: CatalogUpdaterOptions;
  #pending: AbortController | undefined;
  /** How long the last derivation took, ms. */
  #lastCostMs = 0;

  constructor(
    store: CatalogStore,
    tasks: () => readonly CatalogTask[],
    options: CatalogUpdaterOptions,
  ) {
    this.#store = store;
    this.#tasks = tasks;
    this.#options = options;
  }

  /** Says that some task changed; the catalog is re-derived after the delay. */
  changed(): void {
    if (this.#pending) return;
    const pending = new AbortController();
    this.#pending = pending;
    this.#options.clock.sleep(this.delayMs(), pending.signal)
      .then(() => {
        if (this.#pending === pending) this.flush();
      }, () => {});
  }

  /** The wait before the next update: `delayMs`, or ten times the last derivation if longer. */
  delayMs(): number {
    return Math.max(this.#options.delayMs ?? 50, 10 * this.#lastCostMs);
  }

  /** Re-derives now (and cancels a scheduled update). */
  flush(): void {
    this.#pending?.abort();
    this.#pending = undefined;
    const { clock } = this.#options;
    const started = clock.now();
    this.#store.update(this.#tasks());
    this.#lastCostMs = clock.now() - started;
  }

  /** Cancels a scheduled update. */
  close(): void {
    this.#pending?.abort();
    this.#pending = undefined;
  }
}
