/**
 * Serves a fetch handler over HTTP or HTTPS, and bounds connections that never finish a request's
 * headers (`WaitingConnections`: `--http-header-timeout`, default 10 s, and at most 256 waiting
 * connections per client address).
 *
 * Plain HTTP is Deno's own HTTP server run on connections this module accepts itself (Deno 2.9's
 * internal `serveHttpOnConnection`, what `Deno.serve` runs per connection): `Deno.serve` has no
 * header timeout and no connection hook, and stops for good when `accept` fails (EMFILE); here a
 * connection that waits too long is shut down, and a failed `accept` sheds the oldest waiting
 * connection and goes on. Costs about 6 µs a request against `Deno.serve`. Without that internal
 * (another Deno), plain HTTP falls back to `Deno.serve` and the bound is off, with a warning.
 *
 * HTTPS is the same server on a `Deno.listenTls` listener whose socket has `TCP_NODELAY` set
 * (`tcp_sockets.ts`; accepted sockets inherit it on Linux): Deno 2.9 keeps Nagle's algorithm on
 * the TLS sockets it accepts and offers no way to turn it off (`Deno.TlsConn` has no
 * `setNoDelay`), so every response written as more than one TLS record (any body over ~500
 * bytes) waited ~44 ms for the client's delayed ACK. Each connection's handshake is awaited
 * here, within the header timeout; one that never finishes is shut down under Deno (closing a
 * `TlsConn` mid-handshake leaves its socket open). Where the option cannot be set (not Linux, no
 * FFI permission), HTTPS goes through `node:https` (`node_https_server.ts`), ~0.3 ms a request
 * slower. The handler sees the same `Request` and `ServeHandlerInfo` either way.
 */
import { serveNodeHttps } from "./node_https_server.ts";
import {
  type FetchHandler,
  type ListeningServer,
  PLAIN_HOST,
  type ServeOptions,
} from "./serve_types.ts";
import { setListenerNoDelay, shutdownConnection } from "./tcp_sockets.ts";
import type { TlsFiles } from "./tls.ts";
import { WaitingConnections } from "./waiting_connections.ts";

export type { FetchHandler, ListeningServer, ServeOptions } from "./serve_types.ts";

/** How long a connection may take to send a request's headers, unless told otherwise. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

let defaultHeaderTimeoutMs = DEFAULT_HEADER_TIMEOUT_MS;

/**
 * Sets the header timeout of servers started after this in this process (`--http-header-timeout`,
 * read by the server's main once at start; 0 turns the bound off).
 */
export function setDefaultHeaderTimeout(ms: number): void {
  defaultHeaderTimeoutMs = ms;
}

/** Serves `handler`; resolves once it listens. */
export async function serveHttp(
  options: ServeOptions,
  handler: FetchHandler,
): Promise<ListeningServer> {
  const waiting = new WaitingConnections({
    timeoutMs: options.headerTimeoutMs ?? defaultHeaderTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    perAddress: options.waitingPerAddress,
  });
  const serveOn = serveOnConnection();
  if (options.tls) {
    const listener = serveOn && listenTlsNoDelay(options, options.tls);
    if (listener && serveOn) {
      const guarded = originForm(handler, options.hostname);
      return serveConnections({ listener, signal: options.signal }, guarded, serveOn, waiting);
    }
    return await serveNodeHttps(options, options.tls, handler, waiting);
  }
  if (serveOn) {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port });
    return serveConnections({ listener, signal: options.signal }, handler, serveOn, waiting);
  }
  warnNoHeaderTimeout();
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    onListen: () => {},
  }, handler);
  return { addr: server.addr, finished: server.finished, shutdown: () => server.shutdown() };
}

/** What Deno's internal `serveHttpOnConnection` gives back: one connection's server. */
interface ConnectionServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal | undefined,
  handler: FetchHandler,
  onError: (error: unknown) => Response,
  onListen: () => void,
) => ConnectionServer;

/** Deno's per-connection HTTP server, when this Deno has it (2.x keeps it internal). */
function serveOnConnection(): ServeOnConnection | undefined {
  const deno = Deno as unknown as Record<symbol, unknown> & { internal?: symbol };
  const internal = deno.internal === undefined ? undefined : deno[deno.internal];
  const serveOn = (internal as { serveHttpOnConnection?: unknown } | undefined)
    ?.serveHttpOnConnection;
  return typeof serveOn === "function" ? serveOn as ServeOnConnection : undefined;
}

let warned = false;
function warnNoHeaderTimeout(): void {
  if (warned) return;
  warned = true;
  console.warn(
    `warning: Deno ${Deno.version.deno} has no serveHttpOnConnection: plain HTTP is served by ` +
      "Deno.serve without a header timeout (--http-header-timeout has no effect)",
  );
}

// No signal per connection: Deno's server adds an "abort" listener to the one it is given and never
// removes it, so a shared signal collected one per connection ever accepted, and each
// addEventListener scanned them all (28 % of a master's CPU under scale_wire; H19).

function internalError(error: unknown): Response {
  console.error(error);
  return new Response("Internal Server Error", { status: 500 });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed, or handed over to the HTTP server */ }
}

/**
 * A TLS listener whose connections have Nagle's algorithm off, or undefined where that cannot be
 * set (then `node:https` serves TLS). A connection completed between `listenTls` and the
 * `setsockopt`, within the same synchronous step, would keep Nagle: at most one or two at start.
 */
function listenTlsNoDelay(options: ServeOptions, tls: TlsFiles): Deno.TlsListener | undefined {
  const listener = Deno.listenTls({
    hostname: options.hostname,
    port: options.port,
    cert: tls.cert,
    key: tls.key,
  });
  if (setListenerNoDelay(listener.addr.port)) return listener;
  listener.close();
  return undefined;
}

/**
 * Deno builds a request's URL as scheme, `Host` (or an absolute-form target's authority) and
 * target, unchecked: `Host: evil/admin` on `GET /echo` reaches the routes as `/admin/echo`. As
 * the `node:https` server does, such a `Host` is replaced by the address served, and an
 * absolute-form target naming another authority is a 400.
 */
function originForm(handler: FetchHandler, hostname: string): FetchHandler {
  const served = hostname.includes(":") ? `[${hostname}]` : hostname;
  return (request, info) => {
    const host = request.headers.get("host");
    if (host === null) return handler(request, info); // HTTP/1.0: Deno used the address served
    const url = request.url;
    const prefix = `https://${host}`;
    const ours = url.startsWith(prefix) && url.charCodeAt(prefix.length) === 47; // "/"
    if (ours && PLAIN_HOST.test(host)) return handler(request, info);
    if (!ours) return new Response("Bad Request", { status: 400 });
    return handler(new Request(`https://${served}${url.slice(prefix.length)}`, request), info);
  };
}

/** A listener and the signal that shuts its server down. */
interface Listening {
  listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr> | Deno.TlsListener;
  signal?: AbortSignal;
}

/**
 * HTTP or HTTPS on connections accepted here, each served by Deno's HTTP server. A TLS
 * connection's handshake happens inside it, within the header timeout.
 */
function serveConnections(
  { listener, signal }: Listening,
  handler: FetchHandler,
  serveOn: ServeOnConnection,
  waiting: WaitingConnections,
): ListeningServer {
  const servers = new Set<ConnectionServer>();
  const handshaking = new Set<Deno.TlsConn>();
  let closing = false;
  const accepting = (async () => {
    let failures = 0;
    while (!closing) {
      let conn: Deno.TcpConn | Deno.TlsConn;
      try {
        conn = await listener.accept();
        failures = 0;
      } catch (e) {
        if (closing || e instanceof Deno.errors.BadResource) break;
        // Out of file descriptors (EMFILE) or the like: Deno.serve stops for good here. Free
        // the oldest waiting connection and try again shortly.
        if (failures++ % 100 === 0) console.error(`accept failed: ${(e as Error).message}`);
        waiting.shed();
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const slot = waiting.open(conn.remoteAddr.hostname, () => close());
      let close = () => closeQuietly(conn);
      const serve = (conn: Deno.Conn) => {
        const server = serveOn(
          conn,
          undefined,
          (request, info) => {
            slot.busy();
            info.completed.then(slot.idle, slot.idle);
            return handler(request, info);
          },
          internalError,
          () => {},
        );
        close = () => void server.shutdown().catch(() => {});
        servers.add(server);
        const ended = () => {
          slot.gone();
          servers.delete(server);
        };
        server.finished.then(ended, ended);
      };
      if ("setNoDelay" in conn) {
        conn.setNoDelay(true);
        serve(conn);
        continue;
      }
      // TLS (TCP_NODELAY set on the listener): the handshake first, here, so that a client that
      // never finishes it is closed at the header timeout (Deno's server would keep it) and a
      // failed one costs no log line.
      handshaking.add(conn);
      const tls = conn;
      tls.handshake().then(
        () => {
          if (!handshaking.delete(tls)) return; // closed meanwhile
          serve(tls);
        },
        () => {
          handshaking.delete(tls);
          slot.gone();
          closeQuietly(tls);
        },
      );
      close = () => {
        // Closing alone would leave the socket to the pending handshake.
        if (handshaking.delete(tls)) shutdownConnection(listener.addr.port, tls.remoteAddr);
        closeQuietly(tls);
      };
    }
  })();
  const { promise: finished, resolve: done } = Promise.withResolvers<void>();
  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    stopped ??= (async () => {
      closing = true;
      listener.close();
      await accepting;
      for (const conn of handshaking) {
        shutdownConnection(listener.addr.port, conn.remoteAddr);
        closeQuietly(conn);
      }
      handshaking.clear();
      await Promise.allSettled([...servers].map((s) => s.shutdown()));
      done();
    })();
  signal?.addEventListener("abort", () => void shutdown(), { once: true });
  return { addr: listener.addr, finished, shutdown, waiting };
}
