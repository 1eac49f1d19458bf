/** The live catalog: the last derived catalog, its version, and listeners for its changes. */
import {
  applyChanges,
  type Catalog,
  type CatalogChange,
  type CatalogOptions,
  type CatalogTask,
  deriveCatalog,
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
}

/** Holds the catalog; the master calls `update(tasks)` whenever a task's state or health changes. */
export class CatalogStore implements CatalogSource {
  #catalog: Catalog = EMPTY_CATALOG;
  #version = 0;
  #listeners = new Set<CatalogListener>();
  readonly #options: CatalogOptions;

  constructor(options: CatalogOptions = {}) {
    this.#options = options;
  }

  /** Re-derives the catalog from every task the master knows; returns what changed. */
  update(tasks: readonly CatalogTask[]): CatalogChange[] {
    return this.set(deriveCatalog(tasks, this.#options));
  }

  /** Replaces the catalog (used by routers that mirror a remote catalog, and by tests). */
  set(next: Catalog): CatalogChange[] {
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
