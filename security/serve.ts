/**
 * Serves a fetch handler over HTTP or HTTPS. Plain HTTP is `Deno.serve`. HTTPS goes through
 * `node:https` with `noDelay`: Deno 2.9's `Deno.serve` keeps Nagle's algorithm on the TLS
 * sockets it accepts and offers no way to turn it off, so every response written as more than
 * one TLS record (any HTTP/1.1 response, any HTTP/2 response over about 3 KB) waited ~40 ms for
 * the client's delayed ACK (measured with curl and Deno's fetch against a bare `Deno.serve`;
 * tests/bench/security_overhead.ts). The handler sees the same `Request` (aborted when the
 * client goes away) and `ServeHandlerInfo` either way.
 */
import { createServer, type Server as HttpsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { TlsFiles } from "./tls.ts";

/** Where and how to serve. */
export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this certificate chain and key. */
  tls?: TlsFiles;
  /** Shuts the server down when aborted. */
  signal?: AbortSignal;
}

/** A listening server: its address, and a graceful stop. */
export interface ListeningServer {
  addr: Deno.NetAddr;
  /** Resolves once the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting, lets requests in flight finish (streams get 5 s), then closes. */
  shutdown(): Promise<void>;
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
  if (!options.tls) {
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      onListen: () => {},
    }, handler);
    return { addr: server.addr, finished: server.finished, shutdown: () => server.shutdown() };
  }
  return await serveHttps(options, options.tls, handler);
}

async function serveHttps(
  options: ServeOptions,
  tls: TlsFiles,
  handler: FetchHandler,
): Promise<ListeningServer> {
  let active = 0;
  let closing = false;
  const server: HttpsServer = createServer(
    { cert: tls.cert, key: tls.key, noDelay: true },
    (req, res) => {
      active++;
      res.once("close", () => {
        active--;
        if (closing && active === 0) server.closeAllConnections();
      });
      void respond(req, res, handler, options.hostname);
    },
  );
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
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
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
  try {
    const out: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") out[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) out["set-cookie"] = cookies;
    res.writeHead(response.status, out);
    if (!response.body || req.method === "HEAD") {
      await response.body?.cancel();
      res.end();
      return;
    }
    for await (const chunk of response.body) {
      if (res.destroyed) break;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
    }
    res.end();
  } catch {
    res.destroy();
  }
}
