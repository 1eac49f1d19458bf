/** The live catalog: the last derived catalog, its version, and listeners for its changes. */
import {
  applyChanges,
  type Catalog,
  type CatalogChange,
  type CatalogOptions,
  type CatalogTask,
  deriveCatalogWithTasks,
  diffCatalog,
  EMPTY_CATALOG,
} from "./catalog.ts";

/** Called with each non-empty batch of changes and the version it produced. */
export type CatalogListener = (changes: readonly CatalogChange[], version: number) => void;

/** What the HTTP routes, the DNS server and an embedded router read the catalog from. */
export interface CatalogSource {
  /** The current catalog and its version (bumped on every non-empty change batch). */
  current(): { catalog: Catalog; version: number };
  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: CatalogListener): () => void;
  /**
   * The live tasks behind a service, when this source derived the catalog from tasks (the
   * master's); undefined for an unknown service or a mirrored catalog. Per-caller views use it.
   */
  tasksOf?(serviceId: string): readonly CatalogTask[] | undefined;
}

/** Holds the catalog; the master calls `update(tasks)` whenever a task's state or health changes. */
export class CatalogStore implements CatalogSource {
  #catalog: Catalog = EMPTY_CATALOG;
  #version = 0;
  #listeners = new Set<CatalogListener>();
  #tasks: ReadonlyMap<string, readonly CatalogTask[]> | undefined = new Map();
  readonly #options: CatalogOptions;

  constructor(options: CatalogOptions = {}) {
    this.#options = options;
  }

  /**
   * Re-derives the catalog from every task the master knows; returns what changed. The tasks
   * behind each service are kept even when no service changed, but listeners hear only changes.
   */
  update(tasks: readonly CatalogTask[]): CatalogChange[] {
    const derived = deriveCatalogWithTasks(tasks, this.#options);
    this.#tasks = derived.tasks;
    return this.#replace(derived.catalog);
  }

  /** Replaces the catalog (used by routers that mirror a remote catalog, and by tests). */
  set(next: Catalog): CatalogChange[] {
    this.#tasks = undefined;
    return this.#replace(next);
  }

  tasksOf(serviceId: string): readonly CatalogTask[] | undefined {
    return this.#tasks?.get(serviceId);
  }

  #replace(next: Catalog): CatalogChange[] {
    const changes = diffCatalog(this.#catalog, next);
    if (changes.length === 0) return changes;
    this.#catalog = next;
    this.#version += 1;
    for (const listener of [...this.#listeners]) listener(changes, this.#version);
    return changes;
  }

  /** Applies a batch of changes received from elsewhere (a router following the master). */
  apply(changes: readonly CatalogChange[]): void {
    this.set(applyChanges(this.#catalog, changes));
  }

  current(): { catalog: Catalog; version: number } {
    return { catalog: this.#catalog, version: this.#version };
  }

  subscribe(listener: CatalogListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
