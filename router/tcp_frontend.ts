/**
 * A TCP listener on one service port: each accepted connection goes to a backend picked by
 * the route's `Pool`, another backend is tried when a connect fails, then bytes are copied
 * both ways (half-close aware) until both sides are done.
 */
import type { Clock } from "../base/mod.ts";
import type { Backend, Pool } from "./pool.ts";

/** Options of `TcpFrontend.open()`. */
export interface TcpFrontendOptions {
  hostname: string;
  port: number;
  pool: Pool;
  clock: Clock;
  /** Connect timeout per backend, ms. Default 2000. */
  connectTimeoutMs?: number;
  /** Backends tried per connection before giving up. Default 3. */
  maxTries?: number;
}

/** Connects to `hostname:port`, or rejects after `timeoutMs`. */
export async function connectWithTimeout(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<Deno.TcpConn> {
  const pending = Deno.connect({ hostname, port, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`connect to ${hostname}:${port} timed out`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (e) {
    pending.then((c) => c.close(), () => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Copies `from` into `to`; on EOF half-closes `to`. Resolves false when a side failed. */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(32 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
    }
  } catch {
    return false;
  }
  try {
    await to.closeWrite();
  } catch { /* peer already gone */ }
  return true;
}

/** Copies both ways until both directions end; a failure on either side closes both. */
export async function splice(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const fail = () => {
    closeQuietly(a);
    closeQuietly(b);
  };
  await Promise.all([
    pump(a, b).then((ok) => ok || fail()),
    pump(b, a).then((ok) => ok || fail()),
  ]);
  closeQuietly(a);
  closeQuietly(b);
}

/** One service port's listener. */
export class TcpFrontend {
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #options: TcpFrontendOptions;
  readonly #conns = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener, options: TcpFrontendOptions) {
    this.#listener = listener;
    this.#options = options;
    this.port = listener.addr.port;
    this.#accepting = this.#accept();
  }

  /** Binds the port (throws `Deno.errors.AddrInUse` and the like) and starts accepting. */
  static open(options: TcpFrontendOptions): TcpFrontend {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port });
    return new TcpFrontend(listener, options);
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#handle(conn).finally(() => this.#conns.delete(conn));
      }
    } catch { /* listener closed */ }
  }

  async #handle(client: Deno.TcpConn): Promise<void> {
    const { pool, clock } = this.#options;
    pool.requests += 1;
    const tried = new Set<string>();
    const maxTries = this.#options.maxTries ?? 3;
    while (tried.size < maxTries) {
      const backend = pool.pick(clock.now(), tried);
      if (backend === undefined) break;
      tried.add(backend.key);
      const upstream = await this.#connect(backend);
      if (upstream === undefined) continue;
      this.#conns.add(upstream);
      try {
        client.setNoDelay(true);
        upstream.setNoDelay(true);
        await splice(client, upstream);
      } finally {
        this.#conns.delete(upstream);
        pool.release(backend);
      }
      return;
    }
    pool.failed += 1;
    closeQuietly(client);
  }

  async #connect(backend: Backend): Promise<Deno.TcpConn | undefined> {
    const { pool, clock } = this.#options;
    pool.acquire(backend);
    try {
      const conn = await connectWithTimeout(
        backend.ip,
        backend.port,
        this.#options.connectTimeoutMs ?? 2000,
      );
      pool.ok(backend);
      return conn;
    } catch {
      pool.fail(backend, clock.now());
      pool.release(backend);
      return undefined;
    }
  }

  /** Stops accepting; open connections carry on until they end (draining). */
  async stop(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#accepting;
  }

  /** Stops accepting and cuts every open connection. */
  async close(): Promise<void> {
    await this.stop();
    for (const c of this.#conns) closeQuietly(c);
  }
}
