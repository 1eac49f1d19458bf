/**
 * Slows down guessing: a client address that fails authentication `maxFailures` times within
 * `windowMs` is locked out for a while (1 s, doubling with each further lockout up to 60 s).
 * While locked, its attempts with credentials the server has not already verified are answered
 * `429` with `Retry-After`; a client whose credentials were verified before (a legitimate
 * process behind the same address) is not held up. Bounded memory: at most `maxClients`
 * addresses are tracked; the stalest are forgotten first.
 */

/** Options of `FailureThrottle`. */
export interface FailureThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  firstLockMs?: number;
  maxLockMs?: number;
  maxClients?: number;
}

interface Client {
  failures: number[];
  lockedUntil: number;
  lockMs: number;
}

/** Counts authentication failures per client address. */
export class FailureThrottle {
  readonly #clients = new Map<string, Client>();
  readonly #now: () => number;
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #firstLockMs: number;
  readonly #maxLockMs: number;
  readonly #maxClients: number;

  constructor(now: () => number = Date.now, options: FailureThrottleOptions = {}) {
    this.#now = now;
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#firstLockMs = options.firstLockMs ?? 1_000;
    this.#maxLockMs = options.maxLockMs ?? 60_000;
    this.#maxClients = options.maxClients ?? 10_000;
  }

  /** Milliseconds until `client` may try again; 0 when it is not locked out. */
  lockedFor(client: string): number {
    const entry = this.#clients.get(client);
    return entry ? Math.max(0, entry.lockedUntil - this.#now()) : 0;
  }

  /** Records a failed attempt; locks the client out when it has failed too often. */
  failed(client: string): void {
    const now = this.#now();
    let entry = this.#clients.get(client);
    if (entry) this.#clients.delete(client); // re-inserted: the map stays in recency order
    entry ??= { failures: [], lockedUntil: 0, lockMs: 0 };
    entry.failures = entry.failures.filter((t) => t > now - this.#windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.#maxFailures) {
      entry.lockMs = entry.lockMs === 0
        ? this.#firstLockMs
        : Math.min(this.#maxLockMs, entry.lockMs * 2);
      entry.lockedUntil = now + entry.lockMs;
      entry.failures = [];
    }
    this.#clients.set(client, entry);
    while (this.#clients.size > this.#maxClients) {
      this.#clients.delete(this.#clients.keys().next().value!);
    }
  }
}
