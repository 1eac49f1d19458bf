/**
 * How `EtcdClient` reaches a cluster: POSTs to its members' gateways, each request within one
 * deadline, failing over from a member that refuses or hangs to the next.
 */
import { LIMITS, TenderError, untilAborted } from "../../base/mod.ts";
import { ErrorBodySchema } from "./wire.ts";

/** The deadline of a request unless the client or the call says otherwise. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** No endpoint answered in time (down, partitioned, or without quorum). */
export class EtcdUnavailableError extends TenderError {
  constructor(message: string) {
    super("unavailable", message);
    this.name = "EtcdUnavailableError";
  }
}

/** etcd answered with an error; `grpcCode` is its gRPC status code (11: compacted). */
export class EtcdError extends TenderError {
  constructor(message: string, readonly grpcCode: number) {
    super("internal", message, { grpcCode });
    this.name = "EtcdError";
  }
}

// gRPC DEADLINE_EXCEEDED and UNAVAILABLE ("no leader", "request timed out", "leader changed"):
// this member cannot serve now, another may.
const MEMBER_UNAVAILABLE = new Set([4, 14]);

/** A per-call deadline (default: the client's) and a signal that cancels the call. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The members' endpoints, the one that answered last, and the connections to them. */
export class EtcdTransport {
  #preferred: string;
  readonly #http = Deno.createHttpClient({});
  readonly #closed = new AbortController();

  constructor(readonly endpoints: readonly string[], readonly timeoutMs: number) {
    if (endpoints.length === 0) throw new TenderError("bad_request", "No etcd endpoints given");
    this.#preferred = endpoints[0]!;
  }

  /** The endpoint that answered last; requests try it first. */
  get preferredEndpoint(): string {
    return this.#preferred;
  }

  /** Aborts when the transport is closed. */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Opens a streaming request and reads its first answer within the deadline; the rest of the
   * stream is read without one, until `until` aborts or the transport closes.
   */
  stream(
    path: string,
    body: unknown,
    options: CallOptions & { until: AbortSignal },
  ): Promise<{ endpoint: string; first: unknown; rest: AsyncGenerator<unknown, void> }> {
    const until = AbortSignal.any([options.until, this.#closed.signal]);
    return this.#failover(options, async (endpoint, signal) => {
      const response = await this.#post(endpoint, path, body, signal);
      if (!response.ok || !response.body) {
        const answer = await response.text();
        throw etcdError(answer) ?? unknownAnswer(endpoint, answer);
      }
      const rest = jsonLines(untilAborted(response.body, until));
      const first = await rest.next();
      if (first.done) throw new EtcdUnavailableError(`etcd at ${endpoint} ended a stream at once`);
      const error = ErrorBodySchema.safeParse(first.value);
      if (error.success) {
        await rest.return(undefined);
        throw new EtcdError(error.data.message, error.data.code);
      }
      return { endpoint, first: first.value, rest };
    });
  }

  /** Ends every request under way and releases the connections. Idempotent. */
  close(): void {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort(new EtcdUnavailableError("The etcd client is closed"));
    this.#http.close();
  }

  /** POSTs a unary request and returns etcd's JSON answer, failing over between members. */
  call(path: string, body: unknown, options: CallOptions): Promise<unknown> {
    return this.#failover(options, async (endpoint, signal) => {
      const response = await this.#post(endpoint, path, body, signal);
      const answer = await response.text();
      const error = etcdError(answer);
      if (!response.ok || error) throw error ?? unknownAnswer(endpoint, answer);
      return JSON.parse(answer);
    });
  }

  #post(endpoint: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    return fetch(`${endpoint}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
      client: this.#http,
    });
  }

  /**
   * Runs `attempt` against the endpoints, the last one that worked first, within one deadline.
   * An endpoint that refuses moves on at once; one that hangs gets its share of the time left,
   * and, when every other failed, the rest of it. A write that timed out may still commit, so
   * writes that must not apply twice carry compares.
   */
  async #failover<T>(
    options: CallOptions,
    attempt: (endpoint: string, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    this.#closed.signal.throwIfAborted();
    options.signal?.throwIfAborted();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = performance.now() + timeoutMs;
    const reasons = new Map<string, string>();
    let timedOut = false;
    let round = [this.#preferred, ...this.endpoints.filter((e) => e !== this.#preferred)];
    while (round.length > 0) {
      const slow: string[] = [];
      for (const [i, endpoint] of round.entries()) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const budget = left / (round.length - i);
        const timer = new AbortController();
        const timeout = setTimeout(() => timer.abort(), budget);
        const signals = [
          timer.signal,
          this.#closed.signal,
          ...(options.signal ? [options.signal] : []),
        ];
        try {
          const value = await attempt(endpoint, AbortSignal.any(signals));
          this.#preferred = endpoint;
          return value;
        } catch (e) {
          this.#closed.signal.throwIfAborted();
          options.signal?.throwIfAborted();
          if (e instanceof EtcdError && !MEMBER_UNAVAILABLE.has(e.grpcCode)) throw e;
          if (timer.signal.aborted) {
            timedOut = true;
            slow.push(endpoint);
            reasons.set(endpoint, `no answer in ${Math.round(budget)} ms`);
          } else {
            reasons.set(endpoint, describe(e));
          }
        } finally {
          clearTimeout(timeout);
        }
      }
      round = performance.now() < deadline ? slow : [];
    }
    const tried = [...reasons.keys()].join(", ");
    const why = [...reasons].map(([endpoint, reason]) => `${endpoint}: ${reason}`).join("; ");
    throw new EtcdUnavailableError(
      timedOut
        ? `etcd at ${tried} did not answer within ${timeoutMs} ms (no quorum?) [${why}]`
        : `etcd at ${tried} could not be reached [${why}]`,
    );
  }
}

/** etcd's error answer (`{"error", "message", "code"}`) as an `EtcdError`; else undefined. */
function etcdError(answer: string): EtcdError | undefined {
  let json: unknown;
  try {
    json = JSON.parse(answer);
  } catch {
    return undefined;
  }
  const body = ErrorBodySchema.safeParse(json);
  return body.success ? new EtcdError(body.data.message, body.data.code) : undefined;
}

/** An answer that is not etcd's (a proxy's error page, a wrong port). */
function unknownAnswer(endpoint: string, answer: string): EtcdError {
  return new EtcdError(`etcd at ${endpoint} answered: ${answer.slice(0, 200)}`, 2);
}

/** A failed fetch, shortly ("connection refused" rather than hyper's whole chain). */
function describe(e: unknown): string {
  if (e instanceof EtcdError) return e.message;
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
  const message = e instanceof Error ? `${e.message}${cause}` : String(e);
  if (/Connection refused/i.test(message)) return "connection refused";
  if (/Connection reset|connection closed|broken pipe/i.test(message)) return "connection lost";
  return message;
}

/** The JSON values of a newline-delimited JSON stream. */
async function* jsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown, void> {
  let buffer = "";
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line !== "") yield JSON.parse(line);
      }
      if (buffer.length > LIMITS.streamRecordBytes) {
        throw new Error(`an etcd stream line over ${LIMITS.streamRecordBytes} bytes`);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
