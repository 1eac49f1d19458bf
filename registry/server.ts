/** Opens the registry's stores under a work dir and serves the API with `Deno.serve`. */
import { join } from "node:path";
import { type Clock, type Ids, openPrivateKv, randomIds, systemClock } from "../base/mod.ts";
import { schemeOf, serveHttp, type TlsFiles } from "../security/mod.ts";
import { createApp } from "./app.ts";
import { Authenticator, type AuthOptions } from "./auth.ts";
import { BlobStore } from "./blob_store.ts";
import type { GcOptions } from "./gc.ts";
import { Metadata } from "./metadata.ts";
import { RegistryMetrics } from "./metrics.ts";
import { Registry } from "./registry.ts";

/** How to run a registry. */
export interface RegistryOptions {
  /** Holds `registry.kv` and `blobs/`. */
  workDir: string;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Default 5000; 0 picks a free port. */
  port?: number;
  /** Leave out for an open registry. */
  auth?: AuthOptions;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: TlsFiles;
  /** Closes the registry when aborted. */
  signal?: AbortSignal;
  /** Collection settings, for the periodic run and `POST /admin/gc`. */
  gc?: GcOptions & { intervalMs?: number };
  clock?: Clock;
  ids?: Ids;
}

/** A registry that is listening. */
export interface RunningRegistry {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** The registry's stores, opened. */
export interface OpenedRegistry {
  registry: Registry;
  close(): void;
}

/** Opens the KV store and blob directories under `workDir`. */
export async function openRegistry(
  options: { workDir: string; clock?: Clock; ids?: Ids },
): Promise<OpenedRegistry> {
  await Deno.mkdir(options.workDir, { recursive: true, mode: 0o700 });
  const store = new BlobStore(options.workDir);
  await store.init();
  const kv = await openPrivateKv(join(options.workDir, "registry.kv"));
  store.startWriter();
  const meta = new Metadata(kv);
  const registry = new Registry({
    store,
    meta,
    clock: options.clock ?? systemClock,
    ids: options.ids ?? randomIds,
  });
  return {
    registry,
    close: () => {
      store.close();
      kv.close();
    },
  };
}

/** Starts a registry server; resolves once it listens. */
export async function serveRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const clock = options.clock ?? systemClock;
  const opened = await openRegistry({ workDir: options.workDir, clock, ids: options.ids });
  const auth = new Authenticator(options.auth ?? {}, () => clock.now());
  const metrics = new RegistryMetrics();
  const app = createApp({ registry: opened.registry, auth, gc: options.gc, metrics });
  metrics.security = auth.security.metrics;
  const hostname = options.hostname ?? "127.0.0.1";
  const server = await serveHttp(
    { hostname, port: options.port ?? 5000, tls: options.tls },
    app.fetch,
  );
  const port = server.addr.port;
  // Without a collection schedule, abandoned uploads are still purged every ten minutes.
  const timer = options.gc?.intervalMs
    ? setInterval(() => void opened.registry.gc(options.gc).catch(() => {}), options.gc.intervalMs)
    : setInterval(
      () => void opened.registry.gc({ ...options.gc, uploadsOnly: true }).catch(() => {}),
      10 * 60 * 1000,
    );
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      clearInterval(timer);
      await server.shutdown();
      opened.close();
    })();
    return closed;
  };
  options.signal?.addEventListener("abort", () => void close(), { once: true });
  return {
    port,
    url: `${schemeOf(options.tls)}://${
      hostname.includes(":") ? `[${hostname}]` : hostname
    }:${port}`,
    close,
  };
}
