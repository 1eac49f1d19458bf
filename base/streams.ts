/**
 * A streaming body read until `signal` aborts: the read pending then fails. Aborting the fetch
 * alone does not always end a read already pending on its body (a busy stream can go on being
 * read for ever; see router/catalog_follower_test.ts).
 */
export function untilAborted(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  return body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal });
}
