/** Small transforms over log byte streams. */

/** Drops the first `count()` chunks (read when the first chunk arrives). */
export function dropFirst(count: () => number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      if (seen++ >= count()) controller.enqueue(chunk);
    },
  });
}

export async function countChunks(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

/** Keeps only the last `n` lines of a finite stream. */
export function lastLines(n: number): TransformStream<Uint8Array, Uint8Array> {
  const chunks: Uint8Array[] = [];
  return new TransformStream({
    transform(chunk) {
      chunks.push(chunk);
    },
    flush(controller) {
      const text = new TextDecoder().decode(concat(chunks));
      const lines = text.split(/(?<=\n)/);
      const kept = n <= 0 ? [] : lines.slice(-n);
      if (kept.length > 0) controller.enqueue(new TextEncoder().encode(kept.join("")));
    },
  });
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}
