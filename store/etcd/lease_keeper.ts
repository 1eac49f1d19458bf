/**
 * An etcd lease kept alive, and known lost by our own monotonic clock: once no keepalive has
 * succeeded for the TTL, etcd may have let the lease go, so its holder must stop acting on it —
 * even when etcd cannot be asked, and even right after the process was paused (SIGSTOP).
 */
import { systemClock } from "../../base/mod.ts";
import type { EtcdClient } from "./client.ts";

/** Where a component's log lines go. */
export type EtcdLog = (msg: string, fields?: Record<string, unknown>) => void;

/** A lease refreshed every third of its TTL until it is lost or ended. */
export class LeaseKeeper {
  readonly #client: EtcdClient;
  readonly #log: EtcdLog;
  readonly #lost = new AbortController();
  /** When (performance.now()) the last keepalive that etcd acknowledged was sent. */
  #lastOk: number;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  readonly #loop: Promise<void>;

  private constructor(
    client: EtcdClient,
    readonly id: string,
    readonly ttlMs: number,
    options: { sentAt: number; log: EtcdLog },
  ) {
    this.#client = client;
    this.#log = options.log;
    this.#lastOk = options.sentAt;
    this.#armWatchdog();
    this.#loop = this.#keepAlive();
  }

  /** Grants a lease of `ttlSeconds` (etcd may raise it to its minimum) and keeps it alive. */
  static async grant(
    client: EtcdClient,
    ttlSeconds: number,
    options: { log: EtcdLog; signal?: AbortSignal },
  ): Promise<LeaseKeeper> {
    const log = options.log;
    // The lease cannot end before TTL after the grant was sent: count from there.
    const sentAt = performance.now();
    const { id, ttl } = await client.leaseGrant(ttlSeconds, { signal: options.signal });
    return new LeaseKeeper(client, id, ttl * 1000, { sentAt, log });
  }

  /**
   * Aborts once the lease is known lost; its reason says why. Reading it checks the clock first,
   * so a process that wakes from a pause sees the loss before it acts.
   */
  get signal(): AbortSignal {
    this.#check();
    return this.#lost.signal;
  }

  /** Marks the lease lost (keeps the first reason). */
  lose(reason: string): void {
    if (this.#lost.signal.aborted) return;
    clearTimeout(this.#watchdog);
    this.#lost.abort(new Error(`Lease ${this.id} lost: ${reason}`));
  }

  /** Stops the keepalives and revokes the lease, so its keys go now rather than at expiry. */
  async end(reason: string): Promise<void> {
    this.lose(reason);
    await this.#loop;
    try {
      await this.#client.leaseRevoke(this.id);
    } catch (e) {
      this.#log("Could not revoke an etcd lease; it ends at its TTL", {
        lease: this.id,
        error: String(e),
      });
    }
  }

  /** Whether the lease may still be alive; marks it lost once the TTL passed since `#lastOk`. */
  #check(): boolean {
    const silentMs = performance.now() - this.#lastOk;
    if (silentMs >= this.ttlMs) {
      this.lose(`no keepalive succeeded for ${Math.round(silentMs)} ms (TTL ${this.ttlMs} ms)`);
    }
    return !this.#lost.signal.aborted;
  }

  /** Checks the clock when the lease would run out, even if no keepalive ever answers. */
  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    const left = this.#lastOk + this.ttlMs - performance.now();
    this.#watchdog = setTimeout(() => this.#check(), Math.max(0, left) + 1);
  }

  async #keepAlive(): Promise<void> {
    const lost = this.#lost.signal;
    while (this.#check()) {
      const sentAt = performance.now();
      let ok = false;
      try {
        // No later than the lease would run out: an answer after that comes too late anyway.
        const timeoutMs = Math.max(1, this.#lastOk + this.ttlMs - sentAt);
        const ttl = await this.#client.leaseKeepAlive(this.id, { timeoutMs, signal: lost });
        if (ttl <= 0) return this.lose("etcd says it expired");
        ok = true;
        // etcd refreshed the lease after we sent: it lasts at least until sentAt + TTL.
        this.#lastOk = Math.max(this.#lastOk, sentAt);
        if (this.#check()) this.#armWatchdog();
      } catch (e) {
        if (lost.aborted) return;
        this.#log("etcd lease keepalive failed", { lease: this.id, error: String(e) });
      }
      // Every third of the TTL; after a failure, sooner, to get one through before it runs out.
      const interval = ok ? this.ttlMs / 3 : this.ttlMs / 6;
      const wait = interval - (performance.now() - sentAt);
      if (wait > 0) await systemClock.sleep(wait, lost).catch(() => {});
    }
  }
}
