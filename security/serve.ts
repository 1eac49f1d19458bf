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
 * HTTPS goes through `node:https` with `noDelay`: Deno 2.9's `Deno.serve` keeps Nagle's algorithm
 * on the TLS sockets it accepts and offers no way to turn it off (`Deno.TlsConn` has no
 * `setNoDelay`), so every response written as more than one TLS record (in Deno 2.9.6, any
 * body over ~500 bytes in HTTP/1.1, ~1 KB in HTTP/2, buffered or not) waited ~44 ms for the
 * client's delayed ACK (tests/bench/security_overhead.ts). A body that is whole at once is
 * written with its headers in one write. The handler sees the same `Request` (aborted when the
 * client goes away) and `ServeHandlerInfo` either way.
 */
import { createServer, type Server as HttpsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { setListenerNoDelay, shutdownConnection } from "./tcp_sockets.ts";
import type { TlsFiles } from "./tls.ts";
import { type ConnectionSlot, WaitingConnections } from "./waiting_connections.ts";

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
    return await serveHttps(options, options.tls, handler, waiting);
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

/** A `Host` that is a plain host[:port]: nothing in it can reach the path. */
const PLAIN_HOST = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

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

async function serveHttps(
  options: ServeOptions,
  tls: TlsFiles,
  handler: FetchHandler,
  waiting: WaitingConnections,
): Promise<ListeningServer> {
  let active = 0;
  let closing = false;
  /** Each TCP connection's slot; a request's socket is the TLS socket over it (`_parent`). */
  const slots = new WeakMap<Socket, ConnectionSlot>();
  const server: HttpsServer = createServer(
    { cert: tls.cert, key: tls.key, noDelay: true },
    (req, res) => {
      active++;
      const tcp = (req.socket as Socket & { _parent?: Socket })._parent ?? req.socket;
      const slot = slots.get(tcp);
      slot?.busy();
      res.once("close", () => {
        slot?.idle();
        active--;
        if (closing && active === 0) server.closeAllConnections();
      });
      void respond(req, res, handler, options.hostname);
    },
  );
  server.on("connection", (socket: Socket) => {
    const slot = waiting.open(socket.remoteAddress ?? "", () => socket.destroy());
    slots.set(socket, slot);
    socket.once("close", () => slot.gone());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const finished = new Promise<void>((resolve) => server.once("close", () => resolve()));
  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    stopped ??= (async () => {
      closing = true;
      server.close();
      server.closeIdleConnections();
      if (active === 0) server.closeAllConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 5_000);
      await finished;
      clearTimeout(timer);
    })();
  options.signal?.addEventListener("abort", () => void shutdown(), { once: true });
  return {
    addr: { transport: "tcp", hostname: address.address, port: address.port },
    finished,
    shutdown,
    waiting,
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  handler: FetchHandler,
  hostname: string,
): Promise<void> {
  const gone = new AbortController();
  const { promise: completed, resolve: complete } = Promise.withResolvers<void>();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort();
    complete();
  });
  let response: Response;
  try {
    // Pairs, not a Headers: `Request` copies what it is given, so one pass instead of two.
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    }
    const method = req.method ?? "GET";
    const withBody = method !== "GET" && method !== "HEAD";
    const target = req.url ?? "/";
    // Only origin-form targets; a Host that is not a plain host[:port] (one holding a '/'
    // would move the path the routes see) is replaced by the address served.
    if (!target.startsWith("/")) throw new TypeError(`request target "${target}" is not a path`);
    const host = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/
        .test(req.headers.host ?? "")
      ? req.headers.host
      : hostname.includes(":")
      ? `[${hostname}]`
      : hostname;
    const request = new Request(`https://${host}${target}`, {
      method,
      headers,
      body: withBody ? Readable.toWeb(req) as ReadableStream<Uint8Array> : undefined,
      signal: gone.signal,
      // @ts-ignore: Deno's RequestInit takes `duplex` for stream bodies; lib.dom lacks it.
      duplex: "half",
    });
    response = await handler(request, {
      remoteAddr: {
        transport: "tcp",
        hostname: req.socket.remoteAddress ?? "",
        port: req.socket.remotePort ?? 0,
      },
      completed,
    });
  } catch (e) {
    const bad = e instanceof TypeError; // a request `Request` refuses: a malformed target or header
    response = new Response(bad ? "Bad Request" : "Internal Server Error", {
      status: bad ? 400 : 500,
    });
  }
  const body = req.method === "HEAD" ? null : response.body;
  const reader = body?.getReader();
  try {
    const out: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") out[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) out["set-cookie"] = cookies;
    if (!reader) {
      await response.body?.cancel();
      res.writeHead(response.status, out);
      res.end();
      return;
    }
    // A body made from a string or bytes is whole at once: send it with its headers in one
    // write (one TLS record where it fits). A stream goes on chunk by chunk.
    const ready = await readReady(reader);
    if (ready.done) {
      out["content-length"] = String(ready.size);
      delete out["transfer-encoding"];
      res.writeHead(response.status, out);
      res.end(concat(ready.chunks, ready.size));
      return;
    }
    res.writeHead(response.status, out);
    for (const chunk of ready.chunks) await write(res, chunk);
    let next = await (ready.next ?? reader.read());
    while (!next.done && !res.destroyed) {
      await write(res, next.value);
      next = await reader.read();
    }
    if (!next.done) await reader.cancel();
    res.end();
  } catch {
    await reader?.cancel().catch(() => {});
    res.destroy();
  }
}

/** The most of a ready body sent in one write; a bigger one is sent as it is read. */
const ONE_WRITE_MAX = 1 << 20;

/**
 * Reads the chunks a body has ready now: all of it (`done`) when it is whole at once, else what
 * came before the next macrotask, and the read still pending (`next`).
 */
async function readReady(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<{
  chunks: Uint8Array[];
  size: number;
  done: boolean;
  next?: Promise<ReadableStreamReadResult<Uint8Array>>;
}> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = new Promise<"later">((resolve) => timer = setTimeout(() => resolve("later"), 0));
  try {
    while (size <= ONE_WRITE_MAX) {
      const next = reader.read();
      const got = await Promise.race([next, later]);
      if (got === "later") return { chunks, size, done: false, next };
      if (got.done) return { chunks, size, done: true };
      chunks.push(got.value);
      size += got.value.byteLength;
    }
    return { chunks, size, done: false };
  } finally {
    clearTimeout(timer);
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

/** Writes a chunk, waiting for the socket to drain when it is full. */
async function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed || res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    res.once("drain", resolve);
    res.once("close", resolve);
  });
}
