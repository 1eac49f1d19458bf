/**
 * Marathon's API through any Marathon, as a client rides failovers: a request goes to the one
 * that answered last, and to the next on a refused connection, a timeout or a 5xx (a standby
 * answers 502/503 while the leader is gone or unknown), until a deadline. A mutation's outcome
 * says whether it may have been applied without the client hearing so ("unknown": a timeout or
 * 5xx after the request was sent): the ledger must not count on it either way.
 */

/** What one mutation came to. */
export type Outcome =
  /** 2xx: applied and acknowledged. */
  | { kind: "acked"; status: number; json: unknown; unsure: boolean }
  /** 4xx: refused (e.g. 409, the app is locked by a deployment); `unsure` if an earlier try may have applied it. */
  | { kind: "refused"; status: number; json: unknown; unsure: boolean }
  /** No Marathon was reached before the deadline: not applied. */
  | { kind: "failed"; error: string }
  /** No answer before the deadline, and a try may have reached the leader: applied or not. */
  | { kind: "unknown"; error: string };

/** One try's result. */
type Attempt =
  | { kind: "answer"; status: number; json: unknown }
  /** Nothing was sent (connection refused): safe to retry. */
  | { kind: "unsent"; error: string }
  /** Sent, no usable answer: it may have been applied. */
  | { kind: "lost"; error: string };

/** Options of a request. */
export interface RequestOptions {
  /** Give up after this long (default 30 s). */
  deadlineMs?: number;
  /** Each try's timeout (default 10 s). */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
}

/** A client over several Marathon URLs. */
export class MarathonClient {
  #current = 0;

  constructor(readonly urls: () => readonly string[]) {}

  /** GETs JSON; undefined when no Marathon answered 200 before the deadline. */
  async get(path: string, options: RequestOptions = {}): Promise<unknown> {
    const outcome = await this.#send("GET", path, undefined, options);
    return outcome.kind === "acked" ? outcome.json : undefined;
  }

  /** Sends a change; see `Outcome`. */
  async mutate(
    method: "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<Outcome> {
    return await this.#send(method, path, body, options);
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<Outcome> {
    const deadline = Date.now() + (options.deadlineMs ?? 30_000);
    let unsure = false;
    let lastError = "no Marathon";
    while (Date.now() < deadline && !options.signal?.aborted) {
      const urls = this.urls();
      for (let n = 0; n < urls.length && Date.now() < deadline; n++) {
        const i = (this.#current + n) % urls.length;
        const attempt = await this.#try(`${urls[i]}${path}`, method, body, options);
        if (attempt.kind === "answer" && attempt.status < 500) {
          this.#current = i;
          const kind = attempt.status < 300 ? "acked" : "refused";
          return { kind, status: attempt.status, json: attempt.json, unsure };
        }
        if (attempt.kind === "answer") {
          lastError = `${attempt.status} ${JSON.stringify(attempt.json)}`;
          // A GET changes nothing; a 5xx to a change may come after the leader applied it.
          unsure ||= method !== "GET";
        } else {
          lastError = attempt.error;
          unsure ||= attempt.kind === "lost" && method !== "GET";
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return unsure ? { kind: "unknown", error: lastError } : { kind: "failed", error: lastError };
  }

  async #try(
    url: string,
    method: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<Attempt> {
    const timeout = AbortSignal.timeout(options.attemptTimeoutMs ?? 10_000);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    try {
      const r = await fetch(url, {
        method,
        signal,
        ...(body !== undefined
          ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
          : {}),
      });
      const text = await r.text();
      let json: unknown = text;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch { /* not JSON: kept as text */ }
      return { kind: "answer", status: r.status, json };
    } catch (e) {
      const error = e instanceof Error
        ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}`
        : String(e);
      // A connection that was never made (refused, no route) sent nothing.
      const unsent = /\(Connect\)|refused|No route|unreachable/i.test(error);
      return unsent ? { kind: "unsent", error } : { kind: "lost", error };
    }
  }
}
