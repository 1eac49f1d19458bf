/**
 * A small HTTP/1.1 client for bodiless requests (GET, HEAD) to backends, over keep-alive
 * connections kept idle per backend: cheaper per request than `fetch()`. Bodies framed by
 * Content-Length are read whole when small and streamed otherwise; chunked bodies are
 * decoded as a stream; bodies ending at close are streamed and their connection dropped.
 *
 * A backend that closes its connection after each response (busybox httpd, HTTP/1.0
 * servers) would make every request wait for a connect, and for the server to accept it
 * (busybox forks a child per connection). For those the pool opens a spare connection ahead
 * of need each time one such response completes, as browsers and Envoy preconnect: at most
 * `MAX_SPARES` per backend (so about as many as the requests in flight to it), each closed
 * unused after `SPARE_MS`, far below servers' request-header timeouts (60 s in busybox httpd
 * and nginx). A spare the backend closed first is detected like any closed idle connection
 * and the request goes out on a new one.
 */
import { HOP_BY_HOP } from "../base/mod.ts";
import { ConnReader } from "./conn_reader.ts";
import { connectWithTimeout } from "./tcp_frontend.ts";

/** One response from a backend, hop-by-hop headers dropped; `done` runs when `body` ends. */
export interface UpstreamResponse {
  status: number;
  statusText: string;
  headers: Headers;
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
}

/** Options of `UpstreamPool.send()`. */
export interface SendOptions {
  ip: string;
  port: number;
  method: string;
  /** Path and query. */
  target: string;
  /** Request headers, hop-by-hop ones already dropped. */
  headers: Iterable<[string, string]>;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** Runs once when the response body ends, fails or is cancelled (not when `send` throws). */
  done: () => void;
}

/** Why `send()` failed: no connection, no head in time, or a broken response. */
export class UpstreamError extends Error {
  constructor(readonly kind: "connect" | "timeout" | "protocol", message: string) {
    super(message);
  }
}

const SMALL_BODY = 64 * 1024;
const MAX_IDLE = 32;
const MAX_SPARES = 8;
const SPARE_MS = 2_000;
const encoder = new TextEncoder();

/** Idle keep-alive connections per backend, and the requests sent over them. */
export class UpstreamPool {
  readonly #idle = new Map<string, ConnReader[]>();
  /** Spare connections (never used yet) and the timers that close them unused. */
  readonly #spares = new Map<ConnReader, ReturnType<typeof setTimeout>>();
  /** Spare connects under way, per backend. */
  readonly #opening = new Map<string, number>();
  /** Backends (`ip:port`) whose connections may be kept idle; all when undefined. */
  #live: ReadonlySet<string> | undefined;
  #closed = false;
  readonly #spareMs: number;

  /** `spareMs`: how long a spare connection is kept unused. Default 2000. */
  constructor(options: { spareMs?: number } = {}) {
    this.#spareMs = options.spareMs ?? SPARE_MS;
  }

  /** Sends a bodiless request; a reused connection found closed is retried on a new one. */
  async send(o: SendOptions): Promise<UpstreamResponse> {
    const key = `${o.ip}:${o.port}`;
    const head = requestHead(o);
    for (;;) {
      const idle = this.#take(key);
      const reader = idle ?? await this.#open(o);
      const res = await this.#exchange(reader, head, o, idle !== undefined);
      if (res !== null) return res;
    }
  }

  /** The newest idle connection to `key`, if any. */
  #take(key: string): ConnReader | undefined {
    const reader = this.#idle.get(key)?.pop();
    if (reader !== undefined) this.#unspare(reader);
    return reader;
  }

  /** Opens a spare connection to a backend that closes after each response. */
  async #prepare(key: string, o: SendOptions): Promise<void> {
    const opening = this.#opening.get(key) ?? 0;
    if (this.#closed || (this.#idle.get(key)?.length ?? 0) + opening >= MAX_SPARES) return;
    this.#opening.set(key, opening + 1);
    let reader: ConnReader;
    try {
      reader = await this.#open(o);
    } catch {
      return; // The next request finds out, and the balancer benches the backend.
    } finally {
      const left = (this.#opening.get(key) ?? 1) - 1;
      if (left > 0) this.#opening.set(key, left);
      else this.#opening.delete(key);
    }
    if (this.#closed || !this.#park(key, reader)) return closeQuietly(reader.conn);
    const timer = setTimeout(() => {
      this.#spares.delete(reader);
      const list = this.#idle.get(key);
      const at = list?.indexOf(reader) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      closeQuietly(reader.conn);
    }, this.#spareMs);
    Deno.unrefTimer(timer);
    this.#spares.set(reader, timer);
  }

  async #open(o: SendOptions): Promise<ConnReader> {
    try {
      const conn = await connectWithTimeout(o.ip, o.port, o.connectTimeoutMs);
      conn.setNoDelay(true);
      return new ConnReader(conn);
    } catch (e) {
      throw new UpstreamError("connect", `connect to ${o.ip}:${o.port} failed: ${String(e)}`);
    }
  }

  /** null when a reused connection turned out closed before any response byte. */
  async #exchange(
    reader: ConnReader,
    head: Uint8Array,
    o: SendOptions,
    reused: boolean,
  ): Promise<UpstreamResponse | null> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(reader.conn);
    }, o.headersTimeoutMs);
    let text: string | null;
    try {
      await writeAll(reader.conn, head);
      text = await readFinalHead(reader);
    } catch (e) {
      closeQuietly(reader.conn);
      if (timedOut) throw new UpstreamError("timeout", "no response head in time");
      if (reused) return null;
      throw new UpstreamError("protocol", String(e));
    } finally {
      clearTimeout(timer);
    }
    if (text === null) {
      closeQuietly(reader.conn);
      if (reused) return null;
      throw new UpstreamError("protocol", "connection closed before a response");
    }
    return await this.#respond(reader, text, o);
  }

  async #respond(reader: ConnReader, text: string, o: SendOptions): Promise<UpstreamResponse> {
    const lines = text.split("\r\n");
    const status = /^HTTP\/1\.([01]) (\d{3}) ?(.*)$/.exec(lines[0] ?? "");
    if (status === null) {
      closeQuietly(reader.conn);
      throw new UpstreamError("protocol", `bad status line ${JSON.stringify(lines[0])}`);
    }
    const headers = new Headers();
    let connection = "";
    let transferEncoding = "";
    let contentLength: string | null = null;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "connection") connection += `,${value}`;
      else if (name === "transfer-encoding") transferEncoding += `,${value}`;
      else if (!HOP_BY_HOP.includes(name)) {
        if (name === "content-length") contentLength = value;
        headers.append(name, value);
      }
    }
    for (const name of connection.toLowerCase().split(",")) {
      if (name.trim() !== "") headers.delete(name.trim());
    }
    const code = Number(status[2]);
    const keepAlive = status[1] === "1"
      ? !/\bclose\b/i.test(connection)
      : /\bkeep-alive\b/i.test(connection);
    const base = { status: code, statusText: status[3] ?? "", headers };
    const key = `${o.ip}:${o.port}`;
    const finish = (reusable: boolean) => {
      if (!reusable || !keepAlive || !this.#park(key, reader)) closeQuietly(reader.conn);
      if (reusable && !keepAlive) this.#prepare(key, o);
      o.done();
    };
    if (o.method === "HEAD" || code === 204 || code === 304) {
      finish(true);
      return { ...base, body: null };
    }
    if (/\bchunked\b/i.test(transferEncoding)) {
      return { ...base, body: stream(reader, chunkedParts(reader), finish) };
    }
    const lengthHeader = contentLength;
    if (lengthHeader === null) {
      return { ...base, body: stream(reader, untilClose(reader), () => finish(false)) };
    }
    const length = Number(lengthHeader);
    if (!Number.isSafeInteger(length) || length < 0) {
      closeQuietly(reader.conn);
      throw new UpstreamError("protocol", `bad content-length ${lengthHeader}`);
    }
    if (length <= SMALL_BODY) {
      let body: Uint8Array<ArrayBuffer>;
      try {
        body = await reader.readExact(length);
      } catch (e) {
        closeQuietly(reader.conn);
        throw new UpstreamError("protocol", String(e));
      }
      finish(true);
      return { ...base, body };
    }
    return { ...base, body: stream(reader, lengthParts(reader, length), finish) };
  }

  /** Keeps `reader` idle for the next request to `key`; false when it may not be kept. */
  #park(key: string, reader: ConnReader): boolean {
    if (reader.buffered > 0 || this.#live?.has(key) === false) return false;
    const list = this.#idle.get(key) ?? [];
    if (list.length >= MAX_IDLE) return false;
    list.push(reader);
    this.#idle.set(key, list);
    return true;
  }

  /** Stops `reader`'s unused-spare timer, if it is a spare. */
  #unspare(reader: ConnReader): void {
    clearTimeout(this.#spares.get(reader));
    this.#spares.delete(reader);
  }

  #drop(list: ConnReader[]): void {
    for (const r of list) {
      this.#unspare(r);
      closeQuietly(r.conn);
    }
  }

  /** Keeps idle connections only to `keys` (`ip:port`): backends that left are let go. */
  retain(keys: ReadonlySet<string>): void {
    this.#live = keys;
    for (const [key, list] of this.#idle) {
      if (keys.has(key)) continue;
      this.#drop(list);
      this.#idle.delete(key);
    }
  }

  /** Closes every idle connection. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) this.#drop(list);
    this.#idle.clear();
  }
}

function requestHead(o: SendOptions): Uint8Array {
  let head = `${o.method} ${o.target} HTTP/1.1\r\n`;
  for (const [name, value] of o.headers) head += `${name}: ${value}\r\n`;
  return encoder.encode(`${head}\r\n`);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Skips interim 1xx heads (not 101). */
async function readFinalHead(reader: ConnReader): Promise<string | null> {
  for (;;) {
    const text = await reader.readHead();
    if (text === null || !/^HTTP\/1\.[01] 1(?!01)\d\d/.test(text)) return text;
  }
}

async function* lengthParts(reader: ConnReader, length: number): AsyncGenerator<Uint8Array> {
  for (let left = length; left > 0;) {
    const part = await reader.readSome(Math.min(left, 64 * 1024));
    if (part === null) throw new Error("connection closed inside the response body");
    left -= part.length;
    yield part;
  }
}

async function* chunkedParts(reader: ConnReader): AsyncGenerator<Uint8Array> {
  for (;;) {
    const size = parseInt((await reader.readLine()).split(";")[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error("bad chunk size");
    if (size === 0) {
      while ((await reader.readLine()) !== "") { /* trailers dropped */ }
      return;
    }
    yield* lengthParts(reader, size);
    if ((await reader.readLine()) !== "") throw new Error("bad chunk end");
  }
}

async function* untilClose(reader: ConnReader): AsyncGenerator<Uint8Array> {
  for (;;) {
    const part = await reader.readSome(64 * 1024);
    if (part === null) return;
    yield part;
  }
}

/** A body stream over `parts`; `finish(true)` after the last part, `finish(false)` on failure. */
function stream(
  reader: ConnReader,
  parts: AsyncGenerator<Uint8Array>,
  finish: (reusable: boolean) => void,
): ReadableStream<Uint8Array> {
  let finished = false;
  const end = (ok: boolean) => {
    if (finished) return;
    finished = true;
    finish(ok);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await parts.next();
        if (done) {
          end(true);
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        closeQuietly(reader.conn);
        end(false);
        controller.error(e);
      }
    },
    cancel() {
      closeQuietly(reader.conn);
      end(false);
    },
  });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
