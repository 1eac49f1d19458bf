/** Coalesces bursts of task changes into one catalog update (deriving costs ~4 µs a task). */
import type { Clock } from "../../protocol/mod.ts";
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
    this.#options.clock.sleep(this.#options.delayMs ?? 50, pending.signal)
      .then(() => {
        if (this.#pending === pending) this.flush();
      }, () => {});
  }

  /** Re-derives now (and cancels a scheduled update). */
  flush(): void {
    this.#pending?.abort();
    this.#pending = undefined;
    this.#store.update(this.#tasks());
  }

  /** Cancels a scheduled update. */
  close(): void {
    this.#pending?.abort();
    this.#pending = undefined;
  }
}
