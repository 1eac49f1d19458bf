/**
 * Assembles a running autoscaler: its sources (Marathon, routers, the master for agents' CPU),
 * the pass loop and its HTTP API (HTTPS with `tls`) on `serveHttp`. Embeddable (`deno task dev`) or run alone by
 * `main.ts`.
 */
import { type Clock, createLogger, type Logger, systemClock } from "../base/mod.ts";
import { Autoscaler } from "./autoscaler.ts";
import { autoscalerApi } from "./http.ts";
import { AgentCpu } from "./sources/agent_cpu.ts";
import { MarathonApps } from "./sources/marathon_apps.ts";
import { RouterRequests } from "./sources/router_requests.ts";
import {
  type ClientSecurity,
  schemeOf,
  serveHttp,
  type ServerSecurity,
  type TlsFiles,
} from "../security/mod.ts";

/** How to start the autoscaler. */
export interface StartAutoscalerOptions {
  /** Marathon's API (`http://127.0.0.1:8080`). */
  marathon: string;
  /** Routers whose counters give requests per second (`http://127.0.0.1:8081`). */
  routers?: string[];
  /** The master, to find agents and read their CPU statistics. */
  master?: string;
  /** Seconds between passes, as ms (default 5000). */
  intervalMs?: number;
  /** API port (default 9090; 0 = any free port). */
  port?: number;
  host?: string;
  clock?: Clock;
  log?: Logger;
  /** Credentials and CA of every call it makes (Marathon, routers, the master and agents). */
  client?: ClientSecurity;
  /** Credentials its own API requires (every route but /ping; default: none). */
  security?: ServerSecurity;
  /** Serve the API over HTTPS with this certificate chain and key (default: plain HTTP). */
  tls?: TlsFiles;
}

/** A running autoscaler. */
export interface RunningAutoscaler {
  url: string;
  autoscaler: Autoscaler;
  stop(): Promise<void>;
}

/** Starts the autoscaler; resolves once its API listens (the first pass runs meanwhile). */
export async function startAutoscaler(
  options: StartAutoscalerOptions,
): Promise<RunningAutoscaler> {
  const clock = options.clock ?? systemClock;
  const calls = options.client ? { fetch: options.client.fetch } : {};
  const autoscaler = new Autoscaler({
    marathon: new MarathonApps(options.marathon, calls),
    ...(options.routers && options.routers.length > 0
      ? { routers: new RouterRequests(options.routers, calls) }
      : {}),
    ...(options.master ? { cpu: new AgentCpu(options.master, calls) } : {}),
    clock,
    log: options.log ?? createLogger({ component: "autoscaler" }),
  });
  const host = options.host ?? "127.0.0.1";
  const server = await serveHttp(
    { hostname: host, port: options.port ?? 9090, tls: options.tls },
    autoscalerApi(autoscaler, options.security).fetch,
  );
  const life = new AbortController();
  const loop = autoscaler.run(life.signal, options.intervalMs ?? 5000);
  return {
    url: `${schemeOf(options.tls)}://${
      host.includes(":") ? `[${host}]` : host
    }:${server.addr.port}`,
    autoscaler,
    async stop() {
      life.abort();
      await loop;
      await server.shutdown();
    },
  };
}
