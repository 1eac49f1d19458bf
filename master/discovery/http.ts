/**
 * The catalog's HTTP API, as hono routes the master mounts: the list, one service, and an
 * SSE stream of changes (a `snapshot` event, then `changes` events). Unknown services throw
 * `TenderError("not_found")` for the master's `onError`.
 */
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { clientAddress, StreamSlots, TenderError } from "../../base/mod.ts";
import {
  type Catalog,
  type CatalogChange,
  type CatalogTask,
  diffCatalog,
  findService,
  visibleCatalog,
} from "./catalog.ts";
import type { CatalogSource } from "./catalog_store.ts";

/** Options of `discoveryRoutes()`. */
export interface DiscoveryRoutesOptions {
  /** Interval of SSE keep-alive comments, ms. Default 10 000. */
  heartbeatMs?: number;
  /**
   * Ends every open change stream when aborted. Abort it before `server.shutdown()`, which
   * otherwise waits for subscribed routers forever.
   */
  signal?: AbortSignal;
  /**
   * The change streams a client may hold at once (429 past them), shared with the master's other
   * streams; default: slots of the routes' own.
   */
  slots?: StreamSlots;
  /**
   * Which tasks the request's caller may see (the master's view ACLs); undefined: every one.
   * A caller then sees only services holding a task it may see, with those tasks' endpoints
   * (`visibleCatalog()`); a hidden service is answered 404, as a missing one.
   */
  viewer?: (c: Context) => TaskFilter | undefined;
}

/** Whether a caller may see a task of the catalog. */
export type TaskFilter = (task: CatalogTask) => boolean;

/** Body of the `changes` SSE event. */
export interface CatalogChangesEvent {
  version: number;
  changes: CatalogChange[];
}

/** Routes under `/api/v1/services` serving `source`. */
export function discoveryRoutes(source: CatalogSource, options: DiscoveryRoutesOptions = {}): Hono {
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const slots = options.slots ?? new StreamSlots();
  const app = new Hono();
  /** The current catalog as the caller may see it. */
  const current = (filter: TaskFilter | undefined): { catalog: Catalog; version: number } => {
    const { catalog, version } = source.current();
    if (filter === undefined) return { catalog, version };
    return { catalog: visibleCatalog(catalog, (id) => source.tasksOf?.(id), filter), version };
  };

  app.get("/api/v1/services", (c) => {
    const { catalog, version } = current(options.viewer?.(c));
    return c.json({ version, services: catalog.services });
  });

  app.get("/api/v1/services/events", (c) => {
    const filter = options.viewer?.(c);
    const release = slots.acquire(clientAddress(c));
    return streamSSE(c, async (stream) => {
      stream.onAbort(release);
      let chain = Promise.resolve();
      const send = (event: string, data: unknown, id: number) => {
        chain = chain.then(() =>
          stream.writeSSE({ event, data: JSON.stringify(data), id: String(id) })
        ).catch(() => stream.abort());
      };
      // Subscribe before reading the snapshot so no change falls between the two.
      const pending: CatalogChangesEvent[] = [];
      let live = false;
      // A filtered stream sends the differences between what its caller saw and now sees: a
      // service one of its tasks made visible arrives as `added`, one hidden as `removed`.
      let shown: Catalog | undefined;
      const off = source.subscribe((all, version) => {
        let changes = [...all];
        if (filter !== undefined) {
          if (shown === undefined) return; // before the snapshot, which is read just below
          const next = current(filter).catalog;
          changes = diffCatalog(shown, next);
          shown = next;
          if (changes.length === 0) return;
        }
        const event = { version, changes };
        if (live) send("changes", event, version);
        else pending.push(event);
      });
      stream.onAbort(off);
      const { catalog, version } = current(filter);
      if (filter !== undefined) shown = catalog;
      send("snapshot", { version, services: catalog.services }, version);
      for (const event of pending) {
        if (event.version > version) send("changes", event, event.version);
      }
      live = true;
      let wake = () => {};
      const stop = () => wake();
      stream.onAbort(stop);
      options.signal?.addEventListener("abort", stop);
      try {
        while (!stream.aborted && !stream.closed && !options.signal?.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, heartbeatMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          if (stream.aborted || options.signal?.aborted) break;
          chain = chain.then(() => stream.write(": ping\n\n")).then(() => {}).catch(() =>
            stream.abort()
          );
          await chain;
        }
        await chain;
      } finally {
        options.signal?.removeEventListener("abort", stop);
        off();
        release();
      }
    });
  });

  app.get("/api/v1/services/:name", (c) => {
    const name = decodeURIComponent(c.req.param("name"));
    const service = findService(current(options.viewer?.(c)).catalog, name);
    if (service === undefined) {
      throw new TenderError("not_found", `Service "${name}" is not in the catalog`);
    }
    return c.json(service);
  });

  return app;
}
