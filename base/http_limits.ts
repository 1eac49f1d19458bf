/**
 * The one guard every Tender server puts in front of its routes: a request body may hold at
 * most `LIMITS.bodyBytes` and must arrive within `LIMITS.bodyDeadlineMs` of its headers (413 and
 * 408, with a message), and a client may hold at most `LIMITS.streamsPerClient` event streams
 * at once (429). Routes that stream their own bodies (registry blob uploads) opt out and keep
 * their own limits. A path with a dot segment (`/../`, also percent-encoded) or a control
 * character is refused (400): `Deno.serve` hands the request target over unnormalised, so
 * `/v2/groups/../../etc` would otherwise reach a route as it was sent.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { badRequest, TenderError } from "./errors.ts";
import { LIMITS } from "./limits.ts";

/** Limits for one request's body. */
export interface BodyLimits {
  maxBytes: number;
  deadlineMs: number;
}

/** Options of `requestLimits`. */
export interface RequestLimitOptions extends Partial<BodyLimits> {
  /** Limits for one request; `null`: the route reads and limits its body itself. */
  limitsFor?: (c: Context) => Partial<BodyLimits> | null | undefined;
}

/**
 * Hono middleware limiting request bodies. A declared `Content-Length` over the limit is
 * refused before anything is read; otherwise the body is counted as the route reads it, and
 * the read fails with a `TenderError` (413, or 408 past the deadline) that the app's `onError`
 * answers like any other.
 */
export function requestLimits(options: RequestLimitOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    checkPath(raw.url);
    if (raw.body === null) return await next();
    const own = options.limitsFor?.(c);
    if (own === null) return await next();
    const maxBytes = own?.maxBytes ?? options.maxBytes ?? LIMITS.bodyBytes;
    const deadlineMs = own?.deadlineMs ?? options.deadlineMs ?? LIMITS.bodyDeadlineMs;
    const length = raw.headers.get("content-length");
    const declared = Number(length ?? "0");
    if (declared > maxBytes) throw tooLarge(maxBytes, declared);
    if (length !== null) {
      // A declared length bounds the body (the HTTP server reads no further), so only the
      // deadline is left to watch: the body is read here whole, and the route reads it from
      // memory. A stream wrapped around every small JSON call cost the master a fifth of its
      // time per call.
      c.req.raw = new Request(raw, { body: await readBefore(raw, deadlineMs) });
      return await next();
    }
    const limited = limitedBody(raw.body, { maxBytes, deadlineMs });
    c.req.raw = new Request(raw, {
      body: limited.body,
      // @ts-ignore: Deno's RequestInit takes `duplex` for stream bodies; lib.dom lacks it.
      duplex: "half",
    });
    try {
      await next();
    } finally {
      limited.stop(); // the route has answered: its body deadline no longer runs
    }
  };
}

/** `request`'s whole body, or a 408 `TenderError` when it has not arrived within `deadlineMs`. */
async function readBefore(request: Request, deadlineMs: number): Promise<ArrayBuffer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(notInTime(deadlineMs)), deadlineMs);
  });
  const read = request.arrayBuffer();
  try {
    return await Promise.race([read, late]);
  } catch (e) {
    read.catch(() => {}); // the late read's own failure, once the connection goes
    // The client went away mid-body (an aborted call): a 400 nobody reads, not an "unhandled"
    // error logged with its stack for each (under load, many).
    if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.UnexpectedEof) {
      throw badRequest("The request body ended before its declared Content-Length");
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function notInTime(deadlineMs: number): TenderError {
  return new TenderError("request_timeout", `Request body not received within ${deadlineMs} ms`);
}

/** Refuses a request path holding a `.`/`..` segment (plain or encoded) or a control character. */
export function checkPath(url: string): void {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.indexOf("?");
  const path = url.slice(start < 0 ? url.length : start, end < 0 ? url.length : end);
  // deno-lint-ignore no-control-regex
  if (/%(?:[01][0-9a-f]|7f)|[\u0000-\u001f\u007f]/i.test(path)) {
    throw badRequest("The request path holds a control character");
  }
  for (const segment of path.split("/")) {
    const s = segment.replace(/%2e/gi, ".");
    if (s === "." || s === "..") {
      throw badRequest(`The request path holds a '${s}' segment: ${path.slice(0, 200)}`);
    }
  }
}

function tooLarge(max: number, size?: number): TenderError {
  return new TenderError(
    "payload_too_large",
    size === undefined
      ? `Request body exceeds the limit of ${max} bytes`
      : `Request body of ${size} bytes exceeds the limit of ${max} bytes`,
  );
}

/**
 * `body`, failing once more than `maxBytes` arrive or the whole has not within `deadlineMs`;
 * `stop()` ends the deadline (a function, not an AbortSignal: aborting one builds a
 * DOMException with its stack, per request).
 */
export function limitedBody(
  body: ReadableStream<Uint8Array>,
  limits: BodyLimits,
): { body: ReadableStream<Uint8Array>; stop: () => void } {
  const reader = body.getReader();
  let received = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  const limited = new ReadableStream<Uint8Array>({
    start(controller) {
      if (stopped) return;
      timer = setTimeout(() => {
        const error = notInTime(limits.deadlineMs);
        controller.error(error);
        reader.cancel(error).catch(() => {});
      }, limits.deadlineMs);
    },
    async pull(controller) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        stop();
        throw e;
      }
      if (chunk.done) {
        stop();
        controller.close();
        return;
      }
      received += chunk.value.byteLength;
      if (received > limits.maxBytes) {
        stop();
        const error = tooLarge(limits.maxBytes);
        reader.cancel(error).catch(() => {});
        throw error;
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  });
  return { body: limited, stop };
}

/** Maps what a route threw to a `TenderError` where it is the client's fault (a malformed URI). */
export { asTenderError } from "./errors.ts";

/** The address a request came from, as far as the connection tells (`unknown` in memory). */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Counts the event streams each client holds, so one client cannot hold every socket and
 * timer of a server (Marathon's `/v2/events`, the operator and catalog streams, the dashboard).
 */
export class StreamSlots {
  readonly #open = new Map<string, number>();
  readonly #max: number;

  constructor(max: number = LIMITS.streamsPerClient) {
    this.#max = max;
  }

  /** Takes a slot for `client`; the returned function gives it back (idempotent). */
  acquire(client: string): () => void {
    const held = this.#open.get(client) ?? 0;
    if (held >= this.#max) {
      throw new TenderError(
        "too_many_requests",
        `Client ${client} already holds ${held} event streams, the most allowed`,
      );
    }
    this.#open.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(client) ?? 1) - 1;
      if (left <= 0) this.#open.delete(client);
      else this.#open.set(client, left);
    };
  }

  /** Wraps a stream so its slot is given back when it ends or its reader cancels. */
  hold(client: string, stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return StreamSlots.releasing(this.acquire(client), stream);
  }

  /**
   * Wraps a stream so `release` (from `acquire`, taken before the stream was made) runs when it
   * ends, fails or its reader cancels.
   */
  static releasing(
    release: () => void,
    stream: ReadableStream<Uint8Array>,
  ): ReadableStream<Uint8Array> {
    const reader = stream.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            release();
            controller.close();
          } else controller.enqueue(value);
        } catch (e) {
          release();
          controller.error(e);
        }
      },
      cancel(reason) {
        release();
        return reader.cancel(reason);
      },
    });
  }

  /** Streams open for `client`. */
  held(client: string): number {
    return this.#open.get(client) ?? 0;
  }
}
