/** Counters of refused requests, written into each server's `/metrics`. */
import type { PrometheusWriter } from "../base/mod.ts";

/** Counts 401s, throttled attempts and 403s (by action). */
export class SecurityMetrics {
  unauthenticated = 0;
  throttled = 0;
  readonly #denied = new Map<string, number>();

  /** Counts one request refused for `action`. */
  denied(action: string): void {
    this.#denied.set(action, (this.#denied.get(action) ?? 0) + 1);
  }

  /** Adds the families to an exposition. */
  write(w: PrometheusWriter): void {
    w.counter(
      "tender_http_unauthenticated_total",
      "Requests refused with 401: no or invalid credentials.",
      this.unauthenticated,
    );
    w.counter(
      "tender_http_auth_throttled_total",
      "Requests refused with 429 after repeated authentication failures from one client.",
      this.throttled,
    );
    w.counter(
      "tender_http_forbidden_total",
      "Requests refused with 403 by the ACLs, by action.",
      [...this.#denied].map(([action, value]) => ({ labels: { action }, value })),
    );
  }
}
