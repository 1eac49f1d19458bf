/**
 * Bounds the connections a server holds that carry no request: a connection must finish a
 * request's headers within `timeoutMs` of being opened (Go's `ReadHeaderTimeout`, nginx's
 * `client_header_timeout`), or it is closed. After a response, a kept-alive connection gets
 * `idleTimeoutMs` (Go's `IdleTimeout`, nginx's `keepalive_timeout`) for its next request's
 * headers: the server cannot tell idle from half-sent (Deno's HTTP layer reads the bytes), and the
 * idle bound must outlast clients' own pools (hyper's, under Deno's fetch, and Go's keep idle
 * connections 90 s), or a client reusing a connection just as the server closes it sees its
 * request fail. One client address holds at most `perAddress` such connections; past
 * that its oldest is closed, so one client cannot take every file descriptor. Connections with a
 * request in progress (event streams, slow uploads: `requestLimits` bounds those) are never
 * closed here.
 */

/** What a server tells about one connection. */
export interface ConnectionSlot {
  /** A request's headers arrived: the connection is no longer waiting. */
  busy(): void;
  /** A response ended: the connection waits again once no request is in progress. */
  idle(): void;
  /** The connection closed (for whatever reason). Idempotent. */
  gone(): void;
}

/** Options of `WaitingConnections`. */
export interface WaitingConnectionsOptions {
  /** How long a new connection may wait for a request's headers; 0 turns the bounds off. */
  timeoutMs: number;
  /**
   * How long a kept-alive connection may wait after a response (default: the larger of
   * `timeoutMs` and 120 s).
   */
  idleTimeoutMs?: number;
  /** How many waiting connections one client address may hold (default 256). */
  perAddress?: number;
}

interface Entry {
  address: string;
  close: () => void;
  active: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  closed: boolean;
  /** A response has ended on it: it waits as a kept-alive connection. */
  served: boolean;
}

/** The waiting connections of one server. */
export class WaitingConnections {
  readonly #timeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #perAddress: number;
  /** Waiting connections by address, oldest first. */
  readonly #byAddress = new Map<string, Set<Entry>>();
  /** Every waiting connection, oldest first. */
  readonly #all = new Set<Entry>();
  /** Connections closed for waiting too long, and for being over an address's share. */
  timedOut = 0;
  overShare = 0;

  constructor(options: WaitingConnectionsOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? Math.max(options.timeoutMs, 120_000);
    this.#perAddress = options.perAddress ?? 256;
  }

  /** How many connections wait right now. */
  get waiting(): number {
    return this.#all.size;
  }

  /** A new connection from `address`; `close` ends it. */
  open(address: string, close: () => void): ConnectionSlot {
    const entry: Entry = {
      address,
      close,
      active: 0,
      timer: undefined,
      closed: false,
      served: false,
    };
    this.#wait(entry);
    return {
      busy: () => {
        if (entry.active++ === 0) this.#unwait(entry);
      },
      idle: () => {
        entry.active = Math.max(0, entry.active - 1);
        entry.served = true;
        if (entry.active === 0 && !entry.closed) this.#wait(entry);
      },
      gone: () => {
        entry.closed = true;
        this.#unwait(entry);
      },
    };
  }

  /** Closes the oldest waiting connection (the server ran out of file descriptors). */
  shed(): boolean {
    const oldest = this.#all.values().next().value;
    if (!oldest) return false;
    this.#close(oldest);
    return true;
  }

  #wait(entry: Entry): void {
    if (this.#timeoutMs <= 0 || entry.closed) return;
    entry.timer = setTimeout(() => {
      this.timedOut++;
      this.#close(entry);
    }, entry.served ? this.#idleTimeoutMs : this.#timeoutMs);
    let same = this.#byAddress.get(entry.address);
    if (!same) this.#byAddress.set(entry.address, same = new Set());
    same.add(entry);
    this.#all.add(entry);
    if (same.size > this.#perAddress) {
      this.overShare++;
      this.#close(same.values().next().value!);
    }
  }

  #unwait(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#all.delete(entry);
    const same = this.#byAddress.get(entry.address);
    if (!same) return;
    same.delete(entry);
    if (same.size === 0) this.#byAddress.delete(entry.address);
  }

  #close(entry: Entry): void {
    this.#unwait(entry);
    if (entry.closed) return;
    entry.closed = true;
    entry.close();
  }
}
