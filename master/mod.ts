/**
 * The Tender master: agents, frameworks, the DRF allocator and resource offers, over the
 * Mesos v1 scheduler API, the agent API and the operator endpoints.
 *
 * @module
 * @example
 * ```ts
 * import { startMaster } from "./master/mod.ts";
 * const master = await startMaster({ port: 0, workDir: await Deno.makeTempDir() });
 * console.log(master.url);
 * await master.stop();
 * ```
 */
import { Hono } from "hono";
import type { Clock, Ids } from "../base/mod.ts";
import { randomIds, StreamSlots, systemClock } from "../base/mod.ts";
import { DEFAULT_MASTER_OPTIONS, type MasterOptions } from "./core/context.ts";
import { feedCatalog } from "./catalog_feed.ts";
import { discoveryRoutes, startDnsServer } from "./discovery/mod.ts";
import { marathonApps, metronomeJobs, mountDashboard } from "./dashboard/mod.ts";
import { masterApp } from "./http/app.ts";
import { HttpMetrics, mountMasterMetrics } from "./metrics/mod.ts";
import { MasterRuntime, type MasterService } from "./runtime.ts";
import { MasterStore } from "./store/master_store.ts";
import { DenoKvStore } from "../store/mod.ts";
import {
  ClientSecurity,
  principalOf,
  schemeOf,
  serveHttp,
  ServerSecurity,
  type TlsFiles,
} from "../security/mod.ts";
import { type AuthenticationSwitches, masterAuthentication } from "./http/auth.ts";
import { catalogViewer } from "./http/catalog_view.ts";

export { Master, type Snapshot } from "./core/master.ts";
export { agentTimeoutMs, DEFAULT_MASTER_OPTIONS, type MasterOptions } from "./core/context.ts";
export { MasterRuntime, type MasterService } from "./runtime.ts";
export type { MasterView } from "./core/master_view.ts";
export { type AuthenticationSwitches, credentialsRequired, MASTER_REALM } from "./http/auth.ts";

/** How to start a master. Durations in milliseconds. */
export interface StartMasterOptions extends Partial<MasterOptions> {
  /** Where the master keeps its state (`<workDir>/master.kv`), or a KV path/URL via `kvPath`. */
  workDir: string;
  kvPath?: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  clock?: Clock;
  ids?: Ids;
  /** The Marathon API, whose apps the dashboard shows. */
  marathonUrl?: string;
  /** The jobs framework's API (Metronome's), whose jobs and runs the dashboard shows. */
  jobsUrl?: string;
  /** Serve DNS for the catalog on this port (UDP and TCP); off when undefined. */
  dnsPort?: number;
  /**
   * The address DNS listens on (default `host`). DNS cannot authenticate: it answers anyone who
   * reaches it, so a master serving its API to the network may keep DNS on a private address.
   */
  dnsHost?: string;
  /** Routes mounted beside the master's own; default `/metrics` and the dashboard. */
  mount?: Mount;
  /** Credentials and ACLs (`--credentials`, `--acls`); default: off. */
  security?: ServerSecurity;
  /** Which routes need credentials (Mesos' switches); each needs credentials in `security`. */
  authenticate?: AuthenticationSwitches;
  /** Serve HTTPS with this certificate chain and key (`--tls-cert`, `--tls-key`). */
  tls?: TlsFiles;
  /** Credentials and CA for the master's own calls to agents (the dashboard's log proxy). */
  client?: ClientSecurity;
}

/** What a mount gets besides the app: the master's request timer, and its lifetime. */
export interface MountExtras {
  http: HttpMetrics;
  /** Aborted when the master stops: long-lived streams must end then. */
  signal: AbortSignal;
  /** The master's authentication and ACLs (its counters go into `/metrics`). */
  security: ServerSecurity;
  /** How the master calls agents. */
  client: ClientSecurity;
  /** The long-lived streams each client holds on this master (catalog, dashboard, logs). */
  slots: StreamSlots;
}

/** Adds routes to the master's app; the runtime reads the books read-only. */
export type Mount = (app: Hono, runtime: MasterService, extras: MountExtras) => void;

/** `/metrics` (Prometheus text) and the dashboard at `/`. */
export function standardMount(marathonUrl?: string, jobsUrl?: string): Mount {
  return (app, runtime, { http, signal, security, client, slots }) => {
    const { instruments } = mountMasterMetrics(app, runtime, {
      http,
      securityMetrics: security.metrics,
      frameworkViewer: (c) => (f) =>
        security.acls.allows("view_frameworks", principalOf(c), f.info.user),
    });
    runtime.onAllocation((seconds) => instruments.observeAllocation(seconds));
    mountDashboard(app, runtime, {
      signal,
      slots,
      security,
      fetch: client.fetch,
      // The master's client credentials and CA: Marathon and the jobs API may ask for them.
      apps: marathonUrl ? marathonApps(marathonUrl, { fetch: client.fetch }) : undefined,
      jobs: jobsUrl ? metronomeJobs(jobsUrl, { fetch: client.fetch }) : undefined,
    });
  };
}

/** A master serving HTTP. */
export interface RunningMaster {
  url: string;
  port: number;
  /** The DNS port, when DNS is served. */
  dnsPort?: number;
  runtime: MasterRuntime;
  stop(): Promise<void>;
}

/** Recovers state from the work dir, then serves the master's API. */
export async function startMaster(options: StartMasterOptions): Promise<RunningMaster> {
  checkSecurityOptions(options);
  await Deno.mkdir(options.workDir, { recursive: true, mode: 0o700 });
  const store = new MasterStore(
    await DenoKvStore.open(options.kvPath ?? `${options.workDir}/master.kv`),
  );
  const host = options.host ?? "127.0.0.1";
  const settings = masterSettings(options);
  const leading = await lead(store, settings, options);
  const server = await serveHttp(
    { hostname: host, port: options.port ?? 5050, tls: options.tls },
    leading.app.fetch,
  );
  const port = server.addr.port;
  settings.port = port;
  return {
    url: `${schemeOf(options.tls)}://${host}:${port}`,
    port,
    dnsPort: leading.dnsPort,
    runtime: leading.runtime,
    async stop() {
      await leading.stop();
      await server.shutdown();
      store.close();
    },
  };
}

/**
 * Refuses switches that cannot work: each authentication switch needs a credentials file, as
 * in Mesos (`--authenticate_frameworks` without `--credentials` stops the master).
 */
export function checkSecurityOptions(options: StartMasterOptions): void {
  if (options.security?.authenticating) return;
  const names: Record<keyof AuthenticationSwitches, string> = {
    frameworks: "--authenticate-frameworks",
    agents: "--authenticate-agents",
    httpReadwrite: "--authenticate-http-readwrite",
    httpReadonly: "--authenticate-http-readonly",
  };
  for (const [key, flag] of Object.entries(names)) {
    if (options.authenticate?.[key as keyof AuthenticationSwitches]) {
      throw new Error(`${flag} needs --credentials FILE (whom to authenticate against)`);
    }
  }
}

/** The master's settings: the defaults, overridden by what `options` sets. */
export function masterSettings(options: StartMasterOptions): MasterOptions {
  return {
    ...DEFAULT_MASTER_OPTIONS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    hostname: options.hostname ?? options.host ?? "127.0.0.1",
  };
}

/** A leading master's parts: its books, routes and DNS, but not the server they are served by. */
export interface Leading {
  app: Hono;
  runtime: MasterRuntime;
  dnsPort?: number;
  /** Stops the runtime, the streams and DNS (not the store). */
  stop(): Promise<void>;
}

/** Recovers the books from `store` and builds the leader's routes. */
export async function lead(
  store: MasterStore,
  settings: MasterOptions,
  options: StartMasterOptions & { self?: string },
): Promise<Leading> {
  const clock = options.clock ?? systemClock;
  const security = options.security ?? ServerSecurity.off();
  const switches = options.authenticate ?? {};
  const runtime = await MasterRuntime.start(
    { store, clock, ids: options.ids ?? randomIds, authorizer: security },
    settings,
  );
  const http = new HttpMetrics();
  // One count per client of every long-lived stream the master serves (as Marathon's /v2/events).
  const slots = new StreamSlots();
  const app = masterApp(runtime, {
    middleware: [http.middleware(), masterAuthentication(security, switches)],
    self: options.self,
    auth: { security, switches },
    slots,
  });
  const streams = new AbortController();
  const catalog = feedCatalog(runtime, clock);
  app.route(
    "/",
    discoveryRoutes(catalog, { signal: streams.signal, slots, viewer: catalogViewer(security) }),
  );
  let dns;
  try {
    dns = options.dnsPort === undefined ? undefined : await startDnsServer({
      source: catalog,
      hostname: options.dnsHost ?? options.host ?? "127.0.0.1",
      port: options.dnsPort,
    });
  } catch (e) {
    await runtime.stop();
    throw e;
  }
  (options.mount ?? standardMount(options.marathonUrl, options.jobsUrl))(app, runtime, {
    http,
    signal: streams.signal,
    security,
    client: options.client ?? ClientSecurity.anonymous(),
    slots,
  });
  return {
    app,
    runtime,
    dnsPort: dns?.port,
    async stop() {
      streams.abort();
      await dns?.close();
      await runtime.stop();
    },
  };
}
