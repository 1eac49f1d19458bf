/** What `serveHttp` takes and gives, shared by its two TLS servers. */
import type { TlsFiles } from "./tls.ts";
import type { WaitingConnections } from "./waiting_connections.ts";

/** Where and how to serve. */
export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this certificate chain and key. */
  tls?: TlsFiles;
  /** Shuts the server down when aborted. */
  signal?: AbortSignal;
  /**
   * How long a new connection may wait for its first request's headers (default:
   * `--http-header-timeout`, else 10 s; 0: no bound, idle ones included).
   */
  headerTimeoutMs?: number;
  /**
   * How long a kept-alive connection may wait for its next request after a response (default:
   * the larger of the header timeout and 120 s, longer than clients keep idle connections).
   */
  idleTimeoutMs?: number;
  /** How many connections one client address may hold waiting (default 256). */
  waitingPerAddress?: number;
}

/** A listening server: its address, and a graceful stop. */
export interface ListeningServer {
  addr: Deno.NetAddr;
  /** Resolves once the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting, lets requests in flight finish (streams get 5 s), then closes. */
  shutdown(): Promise<void>;
  /** The connections waiting for a request, and how many were closed for waiting. */
  waiting?: WaitingConnections;
}

/** A fetch handler, as `Deno.serve` calls it. */
export type FetchHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** A `Host` that is a plain host[:port]: nothing in it can reach the path. */
export const PLAIN_HOST = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;
