/**
 * Assembles a running jobs framework: its store (Deno KV, or etcd), the core and its runtime,
 * Metronome's API on `Deno.serve`, and the scheduler on a `SchedulerDriver` subscribed to the
 * master. Embeddable (`deno task dev`) or run alone by `main.ts`.
 */
import type { Hono } from "hono";
import { SchedulerDriver } from "../../mod.ts";
import {
  type Clock,
  createLogger,
  currentUserName,
  HttpMetrics,
  type Ids,
  type Logger,
  type Masters,
  privateDir,
  randomIds,
  systemClock,
} from "../../base/mod.ts";
import { DenoKvStore, EtcdConnection, type StateStore } from "../../store/mod.ts";
import { jobsApi } from "./api/api.ts";
import {
  type ClientSecurity,
  type ListeningServer,
  schemeOf,
  serveHttp,
  ServerSecurity,
  type TlsFiles,
} from "../../security/mod.ts";
import { type JobEvent, JobsCore } from "./core/jobs_core.ts";
import { JobsInstruments, renderJobsMetrics } from "./metrics.ts";
import { JobsRuntime } from "./runtime.ts";
import { JobsScheduler } from "./scheduler.ts";
import { JobsStore } from "./store/jobs_store.ts";

/** How to start the jobs framework. */
export interface StartJobsOptions {
  /** The master's base URL, a comma-separated list of masters, or the `Masters` they make. */
  master: string | Masters;
  /** API port (default 9000, Metronome's; 0 = any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Where the state lives (`<workDir>/jobs.kv`). */
  workDir?: string;
  /** Instead of the work dir: a Deno KV path, or etcd (records under `<prefix>/jobs/`). */
  store?: { kind: "deno-kv"; path: string } | { kind: "etcd"; endpoints: string[]; prefix: string };
  /** Framework name shown to the master (default "jobs") and the user tasks run as. */
  frameworkName?: string;
  user?: string;
  /** The longest the runtime sleeps between ticks (default 1000 ms). */
  tickMs?: number;
  clock?: Clock;
  ids?: Ids;
  log?: Logger;
  /** Called with the events of each operation once durable. */
  onEvents?(events: readonly JobEvent[]): void;
  /** Who may call the API, and what each may do to which jobs (default: off). */
  security?: ServerSecurity;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsFiles;
  /**
   * Credentials and CA of the calls to the master (with `master` given as text; a `Masters`
   * brings its own fetch); its principal is the framework's.
   */
  client?: ClientSecurity;
}

/** A running jobs framework. */
export interface RunningJobs {
  /** Base URL of Metronome's API. */
  url: string;
  port: number;
  api: Hono;
  runtime: JobsRuntime;
  driver: SchedulerDriver;
  /** Stops the API, the ticks and the driver (the framework stays registered for failover). */
  stop(): Promise<void>;
}

/** Starts the jobs framework; resolves once the API listens (the driver subscribes meanwhile). */
export async function startJobs(options: StartJobsOptions): Promise<RunningJobs> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const log = options.log ?? createLogger({ component: "jobs" });
  const { kv, close } = await openStore(options);
  const store = new JobsStore(kv);
  let runtime: JobsRuntime;
  const instruments = new JobsInstruments();
  try {
    runtime = await JobsRuntime.start({
      makeCore: () => new JobsCore({ clock, ids }),
      store,
      clock,
      log,
      onEvents: (events) => {
        instruments.observe(events);
        options.onEvents?.(events);
      },
    });
  } catch (e) {
    close();
    throw e;
  }
  const driver = new SchedulerDriver(new JobsScheduler(runtime), {
    master: options.master,
    framework: {
      user: options.user ?? currentUserName(),
      name: options.frameworkName ?? "jobs",
      failover_timeout: 7 * 24 * 3600,
      checkpoint: true,
    },
    ...(runtime.core.frameworkId ? { frameworkId: runtime.core.frameworkId } : {}),
    clock,
    ...(options.client ? { security: options.client } : {}),
  });
  runtime.driver = driver;
  const host = options.host ?? "127.0.0.1";
  let port = 0;
  const http = new HttpMetrics();
  const security = options.security ?? ServerSecurity.off();
  const api = jobsApi({
    runtime,
    hostPort: () => `${host}:${port}`,
    metrics: {
      http,
      render: () => renderJobsMetrics(runtime, instruments, http, security.metrics),
    },
    security,
  });
  let server: ListeningServer;
  try {
    server = await serveHttp(
      { hostname: host, port: options.port ?? 9000, tls: options.tls },
      api.fetch,
    );
  } catch (e) {
    close();
    throw e;
  }
  port = server.addr.port;
  const life = new AbortController();
  const loop = runtime.loop(life.signal, options.tickMs ?? 1000);
  driver.start().catch((e) => {
    if (!life.signal.aborted) log.error("jobs driver", { error: e });
  });
  return {
    url: `${schemeOf(options.tls)}://${host}:${port}`,
    port,
    api,
    runtime,
    driver,
    async stop() {
      life.abort();
      await loop;
      await server.shutdown();
      await driver.stop();
      await runtime.settled();
      close();
    },
  };
}

async function openStore(options: StartJobsOptions): Promise<{ kv: StateStore; close(): void }> {
  const spec = options.store;
  if (spec?.kind === "etcd") {
    const etcd = await EtcdConnection.open(spec);
    return { kv: etcd.store("jobs"), close: () => etcd.close() };
  }
  let path = spec?.path;
  if (path === undefined) {
    const dir = options.workDir ?? "./.tender/jobs";
    await privateDir(dir);
    path = `${dir}/jobs.kv`;
  }
  const kv = await DenoKvStore.open(path);
  return { kv, close: () => kv.close() };
}
