/**
 * Shared pieces of the discovery and router tests: HTTP backends standing in for containers,
 * a master stand-in serving the catalog routes, a raw HTTP/1.1 client (fetch cannot set the
 * Host header a vhost needs), and waiting with a deadline.
 */
import { Hono } from "hono";
import { CatalogStore, type CatalogTask, discoveryRoutes } from "../master/discovery/mod.ts";

/**
 * A local HTTP server answering `name`; `/slow/MS` answers after MS ms, `/big/N` with N bytes,
 * `/host` with the Host header it got, and POST echoes `name:body`.
 */
export interface Backend {
  name: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

/** Starts a backend on a free port. */
export function startBackend(name: string): Backend {
  const backend: Backend = {
    name,
    port: 0,
    hits: 0,
    close: () => server.shutdown(),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    backend.hits += 1;
    const url = new URL(req.url);
    const big = /^\/big\/(\d+)/.exec(url.pathname);
    if (big) return new Response("x".repeat(Number(big[1])));
    const slow = /^\/slow\/(\d+)/.exec(url.pathname);
    if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
    if (req.method === "POST") return new Response(`${name}:${await req.text()}`);
    if (url.pathname === "/host") return new Response(req.headers.get("host"));
    return new Response(name);
  });
  backend.port = server.addr.port;
  return backend;
}

/** A master stand-in: the discovery routes over a `CatalogStore`, on a free port by default. */
export function startCatalogServer(
  options: { store?: CatalogStore; port?: number } = {},
): { store: CatalogStore; url: string; close(): Promise<void> } {
  const store = options.store ?? new CatalogStore();
  const app = new Hono();
  const stop = new AbortController();
  app.route("/", discoveryRoutes(store, { heartbeatMs: 1000, signal: stop.signal }));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    app.fetch,
  );
  return {
    store,
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => {
      stop.abort();
      return server.shutdown();
    },
  };
}

/** A running Marathon-style task on 127.0.0.1 for the catalog. */
export function task(
  appId: string,
  backend: { name: string; port: number },
  labels: Record<string, string> = {},
): CatalogTask {
  return {
    frameworkName: "marathon",
    taskId: `${appId.replaceAll("/", "_")}.${backend.name}`,
    taskName: appId.split("/").filter((s) => s).reverse().join("."),
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: "localhost",
    agentIp: "127.0.0.1",
    hostPorts: [backend.port],
    labels: { MARATHON_APP_ID: appId, ...labels },
  };
}

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Waits until `check` returns true, polling every 20 ms, or throws after `ms`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One HTTP response read by `HttpConnection`. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A keep-alive HTTP/1.1 client connection that sends any Host header. */
export class HttpConnection {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * Connects to 127.0.0.1:`port`; with `tls`, speaks TLS over it, trusting `caCerts` for the
   * name `hostname` (TCP_NODELAY set first: a TLS connection of Deno's has no `setNoDelay`).
   */
  static async open(
    port: number,
    tls?: { caCerts: string[]; hostname: string },
  ): Promise<HttpConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    if (!tls) return new HttpConnection(conn);
    const secure = await Deno.startTls(conn, tls);
    await secure.handshake();
    return new HttpConnection(secure);
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  /** Sends one request and reads its response (content-length, chunked or until close). */
  async request(
    host: string,
    path = "/",
    options: { method?: string; body?: string; close?: boolean } = {},
  ): Promise<RawResponse> {
    const body = options.body ?? "";
    const head = [
      `${options.method ?? "GET"} ${path} HTTP/1.1`,
      `Host: ${host}`,
      ...(options.close ? ["Connection: close"] : []),
      ...(options.body !== undefined ? [`Content-Length: ${encoder.encode(body).length}`] : []),
    ];
    const bytes = encoder.encode(`${head.join("\r\n")}\r\n\r\n${body}`);
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
    let end;
    while ((end = decoder.decode(this.#buffer).indexOf("\r\n\r\n")) < 0) {
      if (!(await this.#fill())) throw new Error("connection closed before response head");
    }
    const headText = decoder.decode(this.#buffer).slice(0, end);
    this.#buffer = this.#buffer.subarray(encoder.encode(headText).length + 4);
    const [statusLine = "", ...lines] = headText.split("\r\n");
    const headers = new Headers(lines.map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string];
    }));
    const status = Number(statusLine.split(" ")[1]);
    let out: Uint8Array;
    const length = headers.get("content-length");
    if (length !== null) {
      while (this.#buffer.length < Number(length)) {
        if (!(await this.#fill())) throw new Error("connection closed inside body");
      }
      out = this.#buffer.subarray(0, Number(length));
      this.#buffer = this.#buffer.subarray(Number(length));
    } else if (headers.get("transfer-encoding")?.includes("chunked")) {
      const parts: Uint8Array[] = [];
      for (;;) {
        let lineEnd;
        while ((lineEnd = decoder.decode(this.#buffer).indexOf("\r\n")) < 0) await this.#fill();
        const size = parseInt(decoder.decode(this.#buffer.subarray(0, lineEnd)), 16);
        while (this.#buffer.length < lineEnd + 2 + size + 2) await this.#fill();
        parts.push(this.#buffer.slice(lineEnd + 2, lineEnd + 2 + size));
        this.#buffer = this.#buffer.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
      out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) out.set(p, (off += p.length) - p.length);
    } else {
      while (await this.#fill());
      out = this.#buffer;
      this.#buffer = new Uint8Array(0);
    }
    return { status, headers, body: decoder.decode(out) };
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** One request on a fresh connection (so a TCP balancer sees one connection per request). */
export async function getOnce(port: number, host = "localhost", path = "/"): Promise<RawResponse> {
  const conn = await HttpConnection.open(port);
  try {
    return await conn.request(host, path, { close: true });
  } finally {
    conn.close();
  }
}
