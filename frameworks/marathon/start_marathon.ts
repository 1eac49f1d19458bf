/**
 * Assembles a running Marathon: KV store, event bus, service, REST API on `Deno.serve`, and
 * the scheduler on a `SchedulerDriver` subscribed to the master. Embeddable (`deno task dev`)
 * or run alone by `main.ts`. `runMarathon` builds the same parts over any `StateStore`, without
 * a server: what an elected Marathon on etcd runs (`ha_marathon.ts`).
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
  Masters,
  privateDir,
  randomIds,
  systemClock,
} from "../../base/mod.ts";
import {
  ClientSecurity,
  type ListeningServer,
  schemeOf,
  serveHttp,
  ServerSecurity,
  type TlsFiles,
} from "../../security/mod.ts";
import { FrameworkKeeper } from "./scheduler/framework_keeper.ts";
import { marathonApi } from "./api/api.ts";
import { Backoff } from "./deployment/backoff.ts";
import { EventBus } from "./events/event_bus.ts";
import { MarathonInstruments, renderMarathonMetrics } from "./metrics.ts";
import { MarathonScheduler } from "./scheduler/marathon_scheduler.ts";
import { MarathonService } from "./service/marathon_service.ts";
import { ServicePortAllocator } from "./placement/service_ports.ts";
import { DEFAULT_SERVICE_PORTS } from "./scheduling_flags.ts";
import { DEFAULT_RECONCILIATION_INTERVAL_MS } from "./scheduler/marathon_scheduler.ts";
import { MarathonStore } from "./store/store.ts";
import { SecretStore } from "./secrets/secret_store.ts";
import { DenoKvStore, type StateStore } from "../../store/mod.ts";

/** How to start Marathon. */
export interface StartMarathonOptions {
  /**
   * The master's base URL (`http://127.0.0.1:5050`), a comma-separated list of masters, or the
   * `Masters` they make (one with an etcd reader for `etcd://…`).
   */
  master: string | Masters;
  /** API port (default 8080; 0 = any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Where the state lives (`<workDir>/marathon.kv`); or give `kvPath` (a path or KV URL). */
  workDir?: string;
  kvPath?: string;
  /** Framework name and user shown to the master (default "marathon", the current user). */
  frameworkName?: string;
  user?: string;
  /** Reconciliation tick (default 1000 ms). */
  tickMs?: number;
  /** Service ports are assigned from this range (`--local-port-min/max`; 10000–20000). */
  servicePorts?: { min: number; max: number };
  /** Task states are reconciled with the master this often (`--reconciliation-interval`; 600 s). */
  reconciliationIntervalMs?: number;
  /**
   * The role the framework registers with (`--mesos-role`, Marathon's `--mesos_role`; default
   * `*`). Resident apps reserve their resources for it, so they need one other than `*`.
   */
  role?: string;
  clock?: Clock;
  ids?: Ids;
  /** Who may call the API, and what each may do (default: off). */
  security?: ServerSecurity;
  /** The realm of the 401 challenge (`--http-realm`, default `Mesosphere`). */
  realm?: string;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsFiles;
  /**
   * The credentials and CA of the calls to the master (with a `master` given as text; a
   * `Masters` brings its own fetch). Its principal is the framework's `principal`.
   */
  client?: ClientSecurity;
  /** First delay before registering again after the master ended the framework (default 1 s). */
  reregisterMs?: number;
  /**
   * Called when another scheduler took the framework over, instead of taking it back (a
   * Marathon among several abdicates: the one that took it leads).
   */
  onFrameworkTakenOver?: (message: string) => void;
  log?: Logger;
  /**
   * The AES-256-GCM key of the secret store (`--secrets-key-file`, see `loadSecretsKey`).
   * Without it `/v2/secrets` answers 503 and an app that declares `secrets` is a 422.
   */
  secretsKey?: CryptoKey;
}

/** A running Marathon. */
export interface RunningMarathon {
  /** Base URL of the REST API. */
  url: string;
  port: number;
  api: Hono;
  store: MarathonStore;
  service: MarathonService;
  scheduler: MarathonScheduler;
  /** The driver now in use (replaced when the master ended the framework). */
  readonly driver: SchedulerDriver;
  /** Keeps the framework registered; `loss` says why it is not, while it is not. */
  framework: FrameworkKeeper;
  events: EventBus;
  /** Stops the API, the scheduler and the driver (the framework stays registered for failover). */
  stop(): Promise<void>;
}

/** Starts Marathon; resolves once the API listens (the driver subscribes in the background). */
export async function startMarathon(options: StartMarathonOptions): Promise<RunningMarathon> {
  const kvPath = options.kvPath ?? `${options.workDir ?? "./.tender/marathon"}/marathon.kv`;
  if (!options.kvPath) {
    await privateDir(options.workDir ?? "./.tender/marathon");
  }
  const kv = await DenoKvStore.open(kvPath);
  const host = options.host ?? "127.0.0.1";
  let port = 0;
  const parts = await runMarathon(kv, {
    ...options,
    self: { hostPort: () => `${host}:${port}`, httpPort: () => port },
  });
  let server: ListeningServer;
  try {
    server = await serveHttp(
      { hostname: host, port: options.port ?? 8080, tls: options.tls },
      parts.api.fetch,
    );
  } catch (e) {
    await parts.stop();
    kv.close();
    throw e;
  }
  port = server.addr.port;
  return {
    api: parts.api,
    store: parts.store,
    service: parts.service,
    scheduler: parts.scheduler,
    framework: parts.framework,
    events: parts.events,
    get driver() {
      return parts.framework.driver;
    },
    url: `${schemeOf(options.tls)}://${host}:${port}`,
    port,
    async stop() {
      await parts.stop();
      await server.shutdown();
      kv.close();
    },
  };
}

/** What `runMarathon` needs beside `StartMarathonOptions`: how this Marathon is reached. */
export interface RunMarathonOptions extends StartMarathonOptions {
  /** This Marathon's `host:port` (`/v2/info`'s leader) and HTTP port, read when asked. */
  self: { hostPort(): string; httpPort(): number };
}

/** A leading Marathon's working parts over one store, without an HTTP server of its own. */
export type MarathonParts = Omit<RunningMarathon, "url" | "port">;

/**
 * Builds Marathon over `kv` and sets it going: the scheduler's loop, and the driver subscribing
 * in the background as the framework the store names (a failover, not a new framework, once
 * one was registered). `stop()` stops both and closes the event streams; the framework stays
 * registered and the store open (it is the caller's).
 */
export async function runMarathon(
  kv: StateStore,
  options: RunMarathonOptions,
): Promise<MarathonParts> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const store = new MarathonStore(kv);
  const events = new EventBus(clock);
  const backoff = new Backoff();
  const servicePorts = options.servicePorts ?? DEFAULT_SERVICE_PORTS;
  const reconciliationIntervalMs = options.reconciliationIntervalMs ??
    DEFAULT_RECONCILIATION_INTERVAL_MS;
  const role = options.role ?? "*";
  const secrets = options.secretsKey ? new SecretStore(kv, options.secretsKey, clock) : undefined;
  const service = new MarathonService({
    store,
    clock,
    ids,
    events,
    servicePorts: new ServicePortAllocator(servicePorts),
    ...(secrets ? { secrets } : {}),
    role,
  });
  const scheduler = new MarathonScheduler({
    store,
    service,
    events,
    clock,
    ids,
    backoff,
    reconciliationIntervalMs,
    ...(secrets ? { secrets } : {}),
    role,
    principal: options.client?.principal,
  });
  const frameworkId = await store.getFrameworkId();
  const log = options.log ?? createLogger({ component: "marathon" });
  const client = options.client;
  // One Masters for every driver: it remembers the leader across re-registrations.
  const master = typeof options.master === "string" && client
    ? new Masters(options.master, { fetch: client.fetch })
    : options.master;
  const instruments = new MarathonInstruments();
  const framework = new FrameworkKeeper(scheduler, {
    frameworkId,
    clock,
    log,
    retryMs: options.reregisterMs,
    ...(options.onFrameworkTakenOver ? { onTakenOver: options.onFrameworkTakenOver } : {}),
    makeDriver: (watched, id) => {
      const driver = new SchedulerDriver(watched, {
        master,
        framework: {
          user: options.user ?? currentUserName(),
          name: options.frameworkName ?? "marathon",
          ...(client?.principal ? { principal: client.principal } : {}),
          failover_timeout: 7 * 24 * 3600,
          checkpoint: true,
          // As Marathon 1.4+: tasks of a lost agent are TASK_UNREACHABLE, not TASK_LOST, so that
          // each app's unreachableStrategy decides when to replace and expunge them. MULTI_ROLE
          // as Marathon 1.9+: offers say their role (`allocation_info`).
          roles: [role],
          capabilities: [{ type: "PARTITION_AWARE" }, { type: "MULTI_ROLE" }],
        },
        ...(id ? { frameworkId: id } : {}),
        clock,
      });
      instruments.watch(driver);
      return driver;
    },
  });
  const http = new HttpMetrics();
  const security = options.security ?? ServerSecurity.off();
  const self = options.self;
  const api = marathonApi({
    service,
    events,
    clock,
    backoff,
    offerReasons: (appId) => scheduler.lastReasons.get(appId),
    metrics: {
      http,
      render: () =>
        renderMarathonMetrics({ store, instruments, http, security: security.metrics, framework }),
    },
    security,
    ...(options.realm ? { realm: options.realm } : {}),
    frameworkLoss: () => framework.loss,
    ...(secrets ? { secrets } : {}),
    info: {
      get leader() {
        return self.hostPort();
      },
      master: typeof options.master === "string" ? options.master : options.master.text,
      config: {
        localPortMin: servicePorts.min,
        localPortMax: servicePorts.max,
        reconciliationIntervalMs,
        role,
      },
      frameworkId: () => framework.driver.frameworkId,
      get httpPort() {
        return self.httpPort();
      },
    },
  });
  const life = new AbortController();
  const loop = scheduler.run(life.signal, options.tickMs ?? 1000);
  // A deployment that starts or reaches its next step wants launches or kills now, not at the
  // next periodic pass (a new app's instances are held until its StartApplication step passed).
  const unlisten = events.listen((e) => {
    if (e.eventType === "deployment_info" || e.eventType === "deployment_step_success") {
      scheduler.tickSoon();
    }
  });
  framework.start();
  return {
    api,
    store,
    service,
    scheduler,
    get driver() {
      return framework.driver;
    },
    framework,
    events,
    async stop() {
      unlisten();
      life.abort();
      await framework.stop();
      await loop;
      await scheduler.settled();
      await scheduler.probesSettled();
      events.close();
    },
  };
}
