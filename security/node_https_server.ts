/**
 * HTTPS through `node:https`, where `serveHttp` cannot turn Nagle's algorithm off on a Deno TLS
 * listener (not Linux, no FFI permission: `tcp_sockets.ts`). `node:https` takes `noDelay`; a
 * body that is whole at once is written with its headers in one write. It costs ~0.3 ms a
 * request more than Deno's own server (tests/bench/security_overhead.ts). The handler sees the
 * same `Request` (aborted when the client goes away) and `ServeHandlerInfo` as there.
 */
import { createServer, type Server as HttpsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import {
  type FetchHandler,
  type ListeningServer,
  PLAIN_HOST,
  type ServeOptions,
} from "./serve_types.ts";
import type { TlsFiles } from "./tls.ts";
import type { ConnectionSlot, WaitingConnections } from "./waiting_connections.ts";

/** Serves `handler` over HTTPS with `node:https`; resolves once it listens. */
export async function serveNodeHttps(
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
    const host = PLAIN_HOST.test(req.headers.host ?? "")
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
