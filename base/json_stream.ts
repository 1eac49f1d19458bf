/**
 * Large JSON answers written as a stream of pieces instead of one string: the same bytes
 * `JSON.stringify` would give, but a long list is turned into JSON one item at a time, as the
 * client reads (`/master/state` over 100,000 tasks, Marathon's `/v2/apps` and `/v2/tasks`).
 *
 * A value is a plain JSON-able value in which some arrays are `LazyArray`s: items taken when the
 * answer is built (a snapshot of references) and mapped to their JSON shape only when written.
 */

/** A list written item by item: `map` runs for each item as the stream reaches it. */
export class LazyArray<T = unknown> {
  constructor(
    readonly items: Iterable<T>,
    readonly map: (item: T) => unknown | Promise<unknown>,
    /** Whether mapped items may hold `LazyArray`s themselves (slower to write). */
    readonly nested = false,
  ) {}
}

/** A list of `items` mapped as they are written. */
export function lazyArray<T>(
  items: Iterable<T>,
  map: (item: T) => unknown | Promise<unknown>,
  options: { nested?: boolean } = {},
): LazyArray<T> {
  return new LazyArray(items, map, options.nested ?? false);
}

/** Bytes gathered before a chunk is handed to the stream. */
const CHUNK_CHARS = 64 * 1024;

/**
 * `value` as JSON text in pieces, byte for byte what `JSON.stringify` gives for the value with
 * every `LazyArray` replaced by its mapped items (undefined items written as `null`).
 */
export async function* jsonPieces(value: unknown): AsyncGenerator<string> {
  if (value instanceof LazyArray) {
    yield* lazyPieces(value);
    return;
  }
  const lazies: LazyArray[] = [];
  const tag = `\u0000tender-lazy-${crypto.randomUUID()}-`;
  const text = JSON.stringify(value, (_key, v) => {
    if (v instanceof LazyArray) {
      lazies.push(v);
      return `${tag}${lazies.length - 1}`;
    }
    return v;
  });
  if (text === undefined) return; // JSON.stringify(undefined)
  if (lazies.length === 0) {
    yield text;
    return;
  }
  let at = 0;
  for (const [i, lazy] of lazies.entries()) {
    const token = JSON.stringify(`${tag}${i}`);
    const found = text.indexOf(token, at);
    yield text.slice(at, found);
    yield* lazyPieces(lazy);
    at = found + token.length;
  }
  yield text.slice(at);
}

async function* lazyPieces(lazy: LazyArray): AsyncGenerator<string> {
  yield "[";
  let first = true;
  for (const item of lazy.items) {
    if (!first) yield ",";
    first = false;
    let mapped = lazy.map(item);
    if (mapped instanceof Promise) mapped = await mapped;
    if (lazy.nested) {
      let any = false;
      for await (const piece of jsonPieces(mapped)) {
        any = true;
        yield piece;
      }
      if (!any) yield "null";
    } else {
      yield JSON.stringify(mapped) ?? "null";
    }
  }
  yield "]";
}

/** `value` as a byte stream of its JSON (see `jsonPieces`), in chunks of about 64 KiB. */
export function jsonStream(value: unknown): ReadableStream<Uint8Array> {
  const pieces = jsonPieces(value);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk = "";
      while (chunk.length < CHUNK_CHARS) {
        const next = await pieces.next();
        if (next.done) {
          if (chunk.length > 0) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await pieces.return(undefined);
    },
  });
}

/** A 200 (or `status`) answer streaming `value` as `application/json`. */
export function jsonResponse(
  value: unknown,
  init: { status?: number; headers?: HeadersInit } = {},
): Response {
  const headers = new Headers(init.headers);
  if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return new Response(jsonStream(value), { status: init.status ?? 200, headers });
}
