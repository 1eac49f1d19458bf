/**
 * Keeps a local `CatalogStore` equal to the leading master's: follows the SSE stream at
 * `/api/v1/services/events` (a snapshot, then change batches), and falls back to polling
 * `/api/v1/services` every `pollMs` while the stream cannot be had. A gap in versions or a
 * silent stream (no bytes, not even the keep-alive, for `staleMs`) reconnects. Each
 * connection and poll goes to the leader (`Masters`), so after a failover the catalog is
 * followed on the new leader; meanwhile the last catalog stays (routers keep routing).
 */
import { z } from "zod";
import { CatalogChangeSchema, type CatalogStore, ServiceSchema } from "../master/discovery/mod.ts";
import { type Clock, LIMITS, Masters, untilAborted } from "../base/mod.ts";

const SnapshotSchema = z.object({ version: z.number().int(), services: z.array(ServiceSchema) });
const ChangesSchema = z.object({
  version: z.number().int(),
  changes: z.array(CatalogChangeSchema),
});

/** Options of `followCatalog()`. */
export interface FollowOptions {
  /** Master base URL (`http://127.0.0.1:5050`), a comma-separated list of them, or `Masters`. */
  master: string | Masters;
  store: CatalogStore;
  clock: Clock;
  signal: AbortSignal;
  /** Poll interval while the stream is unavailable, ms. Default 1000. */
  pollMs?: number;
  /** A stream silent this long is considered dead, ms. Default 30 000. */
  staleMs?: number;
  /** With several masters, how often the others are asked whether the stream's still leads, ms. Default 5000. */
  leaderCheckMs?: number;
  /** Told about each connection state change (for the router's state page). */
  onStatus?: (status: FollowStatus) => void;
  /** Called after each full catalog (snapshot or poll) is applied. */
  onSynced?: () => void;
}

/** How the follower currently gets the catalog. */
export type FollowStatus = "connecting" | "streaming" | "polling";

async function poll(masters: Masters, options: FollowOptions): Promise<void> {
  const res = await masters.fetch("/api/v1/services", { signal: options.signal });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET /api/v1/services answered ${res.status}`);
  }
  const body = SnapshotSchema.parse(await res.json());
  options.store.set({ services: body.services });
  options.onSynced?.();
}

/** Reads one SSE connection until it ends; throws on protocol errors. */
async function stream(masters: Masters, options: FollowOptions): Promise<void> {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  options.signal.addEventListener("abort", onAbort);
  const staleMs = options.staleMs ?? 30_000;
  let timer = setTimeout(() => abort.abort(), staleMs);
  try {
    const res = await masters.fetch("/api/v1/services/events", {
      signal: abort.signal,
      headers: { accept: "text/event-stream" },
    });
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new Error(`GET /api/v1/services/events answered ${res.status}`);
    }
    options.onStatus?.("streaming");
    // A paused or cut-off leader keeps the stream open: the other masters tell.
    void masters.deposed(masters.current, {
      clock: options.clock,
      signal: abort.signal,
      everyMs: options.leaderCheckMs,
    }).then((leader) => leader && abort.abort());
    const decoder = new TextDecoder();
    let buffer = "";
    let version: number | undefined;
    for await (const chunk of untilAborted(res.body, abort.signal)) {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), staleMs);
      buffer += decoder.decode(chunk, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = block.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (event === "snapshot") {
          const snap = SnapshotSchema.parse(JSON.parse(data));
          options.store.set({ services: snap.services });
          version = snap.version;
          options.onSynced?.();
        } else if (event === "changes") {
          const batch = ChangesSchema.parse(JSON.parse(data));
          if (version === undefined || batch.version !== version + 1) {
            throw new Error(`catalog version gap: had ${version}, got ${batch.version}`);
          }
          options.store.apply(batch.changes);
          version = batch.version;
        }
      }
      // What is left is one unfinished event: a stream that never ends it is cut off.
      if (buffer.length > LIMITS.streamRecordBytes) {
        throw new Error(`catalog event over ${LIMITS.streamRecordBytes} bytes`);
      }
    }
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", onAbort);
    abort.abort();
  }
}

/** Follows the master's catalog into `options.store` until `options.signal` aborts. */
export async function followCatalog(options: FollowOptions): Promise<void> {
  const pollMs = options.pollMs ?? 1000;
  const masters = Masters.from(options.master);
  while (!options.signal.aborted) {
    options.onStatus?.("connecting");
    try {
      await stream(masters, options);
    } catch {
      // Fall through to a poll, so the catalog stays fresh while the stream is down.
    }
    if (options.signal.aborted) return;
    options.onStatus?.("polling");
    try {
      await poll(masters, options);
    } catch {
      // Master unreachable: keep the last catalog (routers keep routing), try again later.
    }
    try {
      await options.clock.sleep(pollMs, options.signal);
    } catch {
      return;
    }
  }
}
