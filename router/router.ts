/**
 * The router: follows the catalog (in-process, or from a master over HTTP), keeps a TCP
 * listener per service port and one HTTP port for virtual hosts, and shows its state at
 * `GET /_router/state` on the HTTP port, and Prometheus text at `GET /metrics` (for hosts that
 * are not a routed virtual host). With credentials (`security`) those two need them (401 with a
 * challenge, realm `router`); proxied traffic is never looked at.
 */
import { Hono } from "hono";
import {
  authenticate,
  type ClientSecurity,
  type ListeningServer,
  serveHttp,
  ServerSecurity,
  type TlsFiles,
} from "../security/mod.ts";
import { type CatalogSource, CatalogStore } from "../master/discovery/mod.ts";
import {
  type Clock,
  httpErrorHandler,
  HttpMetrics,
  Masters,
  plainText,
  PROMETHEUS_CONTENT_TYPE,
  systemClock,
} from "../base/mod.ts";
import { followCatalog, type FollowStatus } from "./catalog_follower.ts";
import { proxyRequest } from "./http_proxy.ts";
import { UpstreamPool } from "./upstream_http.ts";
import { renderRouterMetrics } from "./metrics.ts";
import { type BackendView, Pool } from "./pool.ts";
import { type Route, routingTable } from "./routes.ts";
import { TcpFrontend } from "./tcp_frontend.ts";

/** Options of `startRouter()`. Give `master` or `source`. */
export interface RouterOptions {
  /**
   * The masters whose catalog to follow: a base URL (`http://127.0.0.1:5050`), a comma-separated
   * list of them, or `Masters`; the router follows the leader across failovers.
   */
  master?: string | Masters;
  /** An in-process catalog (the dev cluster's master's `CatalogStore`). */
  source?: CatalogSource;
  /** Address every listener binds. Default 127.0.0.1. */
  hostname?: string;
  /** Virtual-host HTTP port. Default 8081; 0 picks a free one. */
  httpPort?: number;
  /** Catalog poll interval when the master's stream is unavailable, ms. Default 1000. */
  pollMs?: number;
  /** How long a backend that refused a connect is skipped, ms. Default 2000. */
  benchMs?: number;
  /** Connect timeout per backend for TCP routes, ms. Default 2000. */
  connectTimeoutMs?: number;
  /** Backends tried per connection or request. Default 3. */
  maxTries?: number;
  /** How long an HTTP backend may take to send response headers, ms. Default 60 000. */
  headersTimeoutMs?: number;
  /**
   * Route only apps of these groups (marathon-lb's `--group`, matched against `HAPROXY_GROUP`);
   * `*` routes all. Default: every app.
   */
  groups?: readonly string[];
  clock?: Clock;
  /** Credentials its admin endpoints (`/_router/state`, `/metrics`) require (default: none). */
  security?: ServerSecurity;
  /** Credentials and CA of its calls to the master (with `master` given as text). */
  client?: ClientSecurity;
  /**
   * Terminate TLS on the virtual-host HTTP port with this certificate chain and key (as
   * marathon-lb's HAProxy does): app traffic and the admin endpoints over https, backends still
   * reached over plain HTTP with `X-Forwarded-Proto: https`. Service ports stay TCP passthrough.
   * Default: plain HTTP.
   */
  tls?: TlsFiles;
}

/** One route's counters, as `GET /_router/state` lists them. */
export interface RouteState {
  balance: string;
  services: string[];
  requests: number;
  failed: number;
  backends: BackendView[];
}

/** What `GET /_router/state` answers. */
export interface RouterState {
  catalog: { version: number; follow: FollowStatus | "in-process" };
  services: { id: string; appId?: string; endpoints: number }[];
  tcp: (RouteState & { servicePort: number; listening: boolean; error?: string })[];
  vhosts: (RouteState & { host: string })[];
}

/** A running router. */
export interface Router {
  hostname: string;
  httpPort: number;
  /** Service ports with an open listener. */
  servicePorts(): number[];
  state(): RouterState;
  /** Stops following, closes every listener and cuts open connections. */
  close(): Promise<void>;
}

interface VhostRoute {
  pool: Pool;
  services: string[];
}

interface TcpRoute extends VhostRoute {
  frontend?: TcpFrontend;
  error?: string;
}

function routeState(pool: Pool, services: string[]): RouteState {
  return {
    balance: pool.balance,
    services,
    requests: pool.requests,
    failed: pool.failed,
    backends: pool.view(),
  };
}

/** Starts a router. */
export async function startRouter(options: RouterOptions): Promise<Router> {
  const hostname = options.hostname ?? "127.0.0.1";
  const clock = options.clock ?? systemClock;
  const stop = new AbortController();
  let follow: FollowStatus | "in-process" = "in-process";
  let source: CatalogSource;
  let following: Promise<void> = Promise.resolve();
  let synced: Promise<void> = Promise.resolve();
  if (options.source) {
    source = options.source;
  } else if (options.master) {
    const store = new CatalogStore();
    source = store;
    follow = "connecting";
    let onSynced = () => {};
    synced = new Promise((resolve) => onSynced = resolve);
    following = followCatalog({
      master: typeof options.master === "string" && options.client
        ? new Masters(options.master, { fetch: options.client.fetch })
        : options.master,
      store,
      clock,
      signal: stop.signal,
      pollMs: options.pollMs,
      onStatus: (s) => follow = s,
      onSynced: () => onSynced(),
    });
  } else {
    throw new Error("startRouter() needs a master URL or a catalog source");
  }

  const tcp = new Map<number, TcpRoute>();
  const upstream = new UpstreamPool();
  const vhosts = new Map<string, VhostRoute>();
  const remembered = new Map<string, Set<number>>();
  /** The entry for `key` in `routes` (a new one when missing), brought up to `route`. */
  const refresh = <K, E extends VhostRoute>(
    routes: Map<K, E>,
    key: K,
    route: Route,
    make: (base: VhostRoute) => E,
  ): E => {
    let entry = routes.get(key);
    if (entry === undefined) {
      const pool = new Pool({ balance: route.balance, benchMs: options.benchMs });
      entry = make({ pool, services: route.services });
      routes.set(key, entry);
    }
    entry.services = route.services;
    entry.pool.balance = route.balance;
    entry.pool.setEndpoints(route.endpoints);
    return entry;
  };

  const sync = () => {
    const table = routingTable(source.current().catalog, remembered, { groups: options.groups });
    for (const [port, route] of table.tcp) {
      const entry = refresh(tcp, port, route, (base): TcpRoute => base);
      if (entry.frontend === undefined) {
        try {
          entry.frontend = TcpFrontend.open({
            hostname,
            port,
            pool: entry.pool,
            clock,
            connectTimeoutMs: options.connectTimeoutMs,
            maxTries: options.maxTries,
          });
          delete entry.error;
        } catch (e) {
          entry.error = `Cannot listen on ${hostname}:${port}: ${String(e)}`;
        }
      }
    }
    for (const [port, entry] of tcp) {
      if (table.tcp.has(port)) continue;
      entry.pool.setEndpoints([]);
      entry.frontend?.stop();
      tcp.delete(port);
    }
    for (const [host, route] of table.vhosts) refresh(vhosts, host, route, (base) => base);
    for (const [host, entry] of vhosts) {
      if (table.vhosts.has(host)) continue;
      entry.pool.setEndpoints([]);
      if (entry.pool.empty) vhosts.delete(host);
    }
    upstream.retain(
      new Set(
        [...table.vhosts.values()].flatMap((r) => r.endpoints.map((e) => `${e.ip}:${e.port}`)),
      ),
    );
  };
  const unsubscribe = source.subscribe(sync);
  sync();

  const state = (): RouterState => {
    const { catalog, version } = source.current();
    return {
      catalog: { version, follow },
      services: catalog.services.map((s) => ({
        id: s.id,
        ...(s.appId === undefined ? {} : { appId: s.appId }),
        endpoints: s.endpoints.length,
      })),
      tcp: [...tcp].sort(([a], [b]) => a - b).map(([servicePort, e]) => ({
        servicePort,
        listening: e.frontend !== undefined,
        ...(e.error === undefined ? {} : { error: e.error }),
        ...routeState(e.pool, e.services),
      })),
      vhosts: [...vhosts].sort(([a], [b]) => a < b ? -1 : 1).map(([host, e]) => ({
        host,
        ...routeState(e.pool, e.services),
      })),
    };
  };

  const closeRoutes = async () => {
    stop.abort();
    unsubscribe();
    await following;
    await Promise.all([...tcp.values()].map((e) => e.frontend?.close()));
  };

  const http = new HttpMetrics();
  const security = options.security ?? ServerSecurity.off();
  const admin = new Hono();
  admin.onError(httpErrorHandler("router", plainText));
  admin.use(authenticate(security, { realm: "router", required: () => true }));
  admin.get("/_router/state", (c) => c.json(state()));
  admin.get("/metrics", () =>
    new Response(renderRouterMetrics(state(), http, security.metrics), {
      headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE },
    }));
  // allowHost: backends see the Host the client asked for, as behind HAProxy.
  const client = Deno.createHttpClient({ allowHost: true });
  let server: Deno.HttpServer<Deno.NetAddr> | ListeningServer;
  try {
    // Plain HTTP stays on Deno.serve directly (the benchmarked path); TLS goes through
    // serveHttp, whose HTTPS turns Nagle's algorithm off.
    server = options.tls
      ? await serveHttp(
        { hostname, port: options.httpPort ?? 8081, tls: options.tls },
        handle,
      )
      : Deno.serve({
        hostname,
        port: options.httpPort ?? 8081,
        onListen: () => {},
      }, handle);
  } catch (e) {
    client.close();
    await closeRoutes();
    throw e;
  }

  async function handle(req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) {
    const start = performance.now();
    const { route, response } = answer(req, info);
    const res = await response;
    http.durations.observe((performance.now() - start) / 1000, {
      route,
      method: req.method,
      status: String(res.status),
    });
    return res;
  }

  /** Answers one request on the HTTP port; `route` labels its duration. */
  function answer(
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): { route: string; response: Response | Promise<Response> } {
    // Deno builds the URL from the Host header as sent: a host no URL can hold is the client's
    // mistake (400), not a crash of the handler (500).
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return {
        route: "invalid",
        response: new Response("Bad request: the Host header is not a valid host\n", {
          status: 400,
        }),
      };
    }
    if (url.pathname === "/_router/state" && req.method === "GET") {
      return { route: url.pathname, response: admin.fetch(req, info) };
    }
    const host = (req.headers.get("host") ?? "").toLowerCase().replace(/:\d+$/, "");
    const route = vhosts.get(host);
    // A routed virtual host keeps its own /metrics.
    if (url.pathname === "/metrics" && req.method === "GET" && route === undefined) {
      return { route: url.pathname, response: admin.fetch(req, info) };
    }
    if (route === undefined) {
      return {
        route: "unmatched",
        response: new Response(`No service for virtual host "${host}"\n`, { status: 503 }),
      };
    }
    return {
      route: `vhost:${host}`,
      response: proxyRequest(req, {
        pool: route.pool,
        clock,
        maxTries: options.maxTries,
        clientIp: info.remoteAddr.hostname,
        headersTimeoutMs: options.headersTimeoutMs,
        client,
        upstream,
      }),
    };
  }

  // Start with the master's routes when it answers quickly; otherwise they follow.
  const waited = new AbortController();
  await Promise.race([synced, clock.sleep(2000, waited.signal).catch(() => {})]);
  waited.abort();

  return {
    hostname,
    httpPort: server.addr.port,
    servicePorts: () =>
      [...tcp].filter(([, e]) => e.frontend !== undefined).map(([p]) => p).sort((a, b) => a - b),
    state,
    async close() {
      await closeRoutes();
      await server.shutdown();
      client.close();
      upstream.close();
    },
  };
}
