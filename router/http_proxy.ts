/**
 * Forwards one HTTP request to a backend of a vhost's pool: picks a backend, retries another
 * when the connection fails, and holds the backend as active until the response body ends,
 * so a draining backend is released only after its last response.
 */
import type { Clock } from "../base/mod.ts";
import type { Backend, Pool } from "./pool.ts";
import { HOP_BY_HOP } from "../base/mod.ts";
import { UpstreamError, type UpstreamPool } from "./upstream_http.ts";

/** Options of `proxyRequest()`. */
export interface ProxyOptions {
  pool: Pool;
  clock: Clock;
  /** Backends tried per request before answering 502. Default 3. */
  maxTries?: number;
  /** Client address for `X-Forwarded-For`. */
  clientIp?: string;
  /** How long a backend may take to send response headers, ms (then 504). Default 60 000. */
  headersTimeoutMs?: number;
  /** The client to send with; one made with `allowHost: true` passes the Host header on. */
  client?: Deno.HttpClient;
  /** Keep-alive connections for bodiless GET and HEAD requests; others go through `fetch`. */
  upstream?: UpstreamPool;
  /** Connect timeout per backend on the `upstream` path, ms. Default 2000. */
  connectTimeoutMs?: number;
}

/** Responses up to this size (by Content-Length) are buffered rather than streamed. */
const SMALL_BODY = 64 * 1024;

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

function stripHopByHop(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of (headers.get("connection") ?? "").split(",")) {
    if (/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name.trim())) out.delete(name.trim());
  }
  for (const name of HOP_BY_HOP) out.delete(name);
  return out;
}

/** A body that calls `done` once, when it ends, fails or is cancelled. */
function watchBody(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  const finish = () => {
    if (!finished) {
      finished = true;
      done();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read();
        if (end) {
          finish();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        finish();
        controller.error(e);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
}

function reply(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain" } });
}

/** Whether a fetch failure happened before the request could reach the backend. */
function refused(e: unknown): boolean {
  return /refused|connect|dns error|unreachable/i.test(String(e));
}

/** Sends `req` to a backend of `options.pool`; 503 when none, 502 when all tried failed. */
export async function proxyRequest(req: Request, options: ProxyOptions): Promise<Response> {
  const { pool, clock } = options;
  pool.requests += 1;
  if (options.upstream && req.body === null && (req.method === "GET" || req.method === "HEAD")) {
    return await proxySimple(req, { ...options, upstream: options.upstream });
  }
  const url = new URL(req.url);
  const headers = stripHopByHop(req.headers);
  const prior = headers.get("x-forwarded-for");
  if (options.clientIp) {
    headers.set("x-forwarded-for", prior ? `${prior}, ${options.clientIp}` : options.clientIp);
  }
  headers.set("x-forwarded-host", req.headers.get("host") ?? url.host);
  headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
  // Buffered so the same body can go to a second backend after a failed connect.
  const body = req.body === null ? undefined : new Uint8Array(await req.arrayBuffer());
  const tried = new Set<string>();
  const maxTries = options.maxTries ?? 3;
  if (pool.size === 0) {
    pool.failed += 1;
    return reply(503, `No healthy endpoint for ${url.host}`);
  }
  let lastError: unknown;
  while (tried.size < maxTries) {
    const backend: Backend | undefined = pool.pick(clock.now(), tried);
    if (backend === undefined) break;
    tried.add(backend.key);
    pool.acquire(backend);
    let res: Response;
    const slow = new AbortController();
    const timer = setTimeout(() => slow.abort(), options.headersTimeoutMs ?? 60_000);
    try {
      const ip = backend.ip.includes(":") ? `[${backend.ip}]` : backend.ip;
      res = await fetch(`http://${ip}:${backend.port}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body,
        redirect: "manual",
        signal: slow.signal,
        client: options.client,
      });
    } catch (e) {
      pool.release(backend);
      if (slow.signal.aborted) {
        pool.failed += 1;
        return reply(504, `Endpoint ${backend.key} sent no response in time`);
      }
      lastError = e;
      pool.fail(backend, clock.now());
      if (!IDEMPOTENT.has(req.method) && !refused(e)) break;
      continue;
    } finally {
      clearTimeout(timer);
    }
    pool.ok(backend);
    const outHeaders = stripHopByHop(res.headers);
    const length = Number(res.headers.get("content-length") ?? NaN);
    if (res.body === null || length <= SMALL_BODY) {
      // Small bodies are read whole: one write to the client, and no chunked framing.
      let bytes: ArrayBuffer | null = null;
      try {
        if (res.body !== null) bytes = await res.arrayBuffer();
      } catch (e) {
        pool.failed += 1;
        return reply(502, `Endpoint ${backend.key} broke off its response: ${String(e)}`);
      } finally {
        pool.release(backend);
      }
      return new Response(bytes, {
        status: res.status,
        statusText: res.statusText,
        headers: outHeaders,
      });
    }
    return new Response(watchBody(res.body, () => pool.release(backend)), {
      status: res.status,
      statusText: res.statusText,
      headers: outHeaders,
    });
  }
  pool.failed += 1;
  return reply(502, `Every endpoint tried for ${url.host} failed: ${String(lastError)}`);
}

/** The request's headers for a backend: hop-by-hop ones dropped, `X-Forwarded-*` added. */
function forwardedHeaders(req: Request, host: string, clientIp?: string): [string, string][] {
  const out: [string, string][] = [];
  const connection = req.headers.get("connection");
  const listed = connection === null
    ? []
    : connection.toLowerCase().split(",").map((n) => n.trim());
  let prior: string | undefined;
  for (const [name, value] of req.headers) {
    if (HOP_BY_HOP.includes(name) || listed.includes(name)) continue;
    if (name === "x-forwarded-for") prior = value;
    else if (name !== "x-forwarded-host" && name !== "x-forwarded-proto") out.push([name, value]);
  }
  if (clientIp) out.push(["x-forwarded-for", prior ? `${prior}, ${clientIp}` : clientIp]);
  else if (prior) out.push(["x-forwarded-for", prior]);
  out.push(["x-forwarded-host", host], [
    "x-forwarded-proto",
    req.url.startsWith("https:") ? "https" : "http",
  ]);
  return out;
}

/** Path and query of an absolute URL, without parsing the rest. */
function targetOf(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash).replace(/#.*$/, "");
}

/** The `upstream` path: bodiless requests over the pool's keep-alive connections. */
async function proxySimple(
  req: Request,
  options: ProxyOptions & { upstream: UpstreamPool },
): Promise<Response> {
  const { pool, clock } = options;
  const host = req.headers.get("host") ?? new URL(req.url).host;
  if (pool.size === 0) {
    pool.failed += 1;
    return reply(503, `No healthy endpoint for ${host}`);
  }
  const headers = forwardedHeaders(req, host, options.clientIp);
  const target = targetOf(req.url);
  const tried = new Set<string>();
  const maxTries = options.maxTries ?? 3;
  let lastError: unknown;
  while (tried.size < maxTries) {
    const backend: Backend | undefined = pool.pick(clock.now(), tried);
    if (backend === undefined) break;
    tried.add(backend.key);
    pool.acquire(backend);
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        pool.release(backend);
      }
    };
    try {
      const res = await options.upstream.send({
        ip: backend.ip,
        port: backend.port,
        method: req.method,
        target,
        headers,
        connectTimeoutMs: options.connectTimeoutMs ?? 2000,
        headersTimeoutMs: options.headersTimeoutMs ?? 60_000,
        done: release,
      });
      pool.ok(backend);
      return new Response(res.body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (e) {
      release();
      if (e instanceof UpstreamError && e.kind === "timeout") {
        pool.failed += 1;
        return reply(504, `Endpoint ${backend.key} sent no response in time`);
      }
      lastError = e;
      pool.fail(backend, clock.now());
    }
  }
  pool.failed += 1;
  return reply(502, `Every endpoint tried for ${host} failed: ${String(lastError)}`);
}
