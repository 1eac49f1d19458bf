/**
 * Reads CRI's container log format, one record per line:
 * `2016-10-06T00:17:09.669794202Z stdout F the line` (tag `P` marks a partial line whose rest
 * follows in the next record, `F` a full one). Keeps one stream and yields its bytes.
 */
import { lastLines, streamLogFile } from "./log_file.ts";
import { concat } from "./log_streams.ts";

const NEWLINE = 10;
const SPACE = 32;

/** The output of one stream in a chunk of whole CRI log lines. */
export function decodeCriLog(bytes: Uint8Array, stream: "stdout" | "stderr"): Uint8Array {
  const out: Uint8Array[] = [];
  const want = new TextEncoder().encode(stream);
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    const line = bytes.subarray(start, end);
    start = end + 1;
    const s1 = line.indexOf(SPACE);
    const s2 = s1 < 0 ? -1 : line.indexOf(SPACE, s1 + 1);
    if (s2 < 0) continue;
    const name = line.subarray(s1 + 1, s2);
    if (name.length !== want.length || !name.every((b, i) => b === want[i])) continue;
    let s3 = line.indexOf(SPACE, s2 + 1);
    if (s3 < 0) s3 = line.length;
    const partial = line[s2 + 1] === 0x50; // "P"
    out.push(line.subarray(s3 + 1));
    if (!partial) out.push(Uint8Array.of(NEWLINE));
  }
  return concat(out);
}

/**
 * A transform from raw CRI log bytes (cut anywhere) to one stream's output. A record cut
 * by a chunk boundary waits for its end.
 */
export function criLogDecoder(
  stream: "stdout" | "stderr",
): TransformStream<Uint8Array, Uint8Array> {
  let carry = new Uint8Array(0);
  return new TransformStream({
    transform(chunk, controller) {
      const bytes = carry.length ? concat([carry, chunk]) : chunk;
      const cut = bytes.lastIndexOf(NEWLINE) + 1;
      carry = bytes.slice(cut);
      const out = decodeCriLog(bytes.subarray(0, cut), stream);
      if (out.length > 0) controller.enqueue(out);
    },
    flush(controller) {
      const out = decodeCriLog(carry, stream);
      if (out.length > 0) controller.enqueue(out);
    },
  });
}

/** The last `n` lines of one stream in a whole CRI log. */
export function tailCriLog(bytes: Uint8Array, stream: "stdout" | "stderr", n: number): Uint8Array {
  return lastLines(decodeCriLog(bytes, stream), n);
}

/** Options of `streamCriLog`. */
export interface CriLogOptions {
  stream: "stdout" | "stderr";
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
  /** Whether the container has ended (a followed stream then closes once all is read). */
  ended?: () => boolean;
}

/**
 * One stream of a CRI log file: all of it or its last `tail` lines, then (with `follow`) what
 * is appended. Empty when the file does not exist.
 */
export function streamCriLog(path: string, options: CriLogOptions): ReadableStream<Uint8Array> {
  let rest: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          const bytes = await readOrEmpty(path);
          const whole = bytes.lastIndexOf(NEWLINE) + 1;
          const head = bytes.subarray(0, whole);
          const first = options.tail === undefined
            ? decodeCriLog(head, options.stream)
            : tailCriLog(head, options.stream, options.tail);
          if (options.follow) {
            rest = streamLogFile(path, {
              follow: true,
              from: whole,
              signal: options.signal,
              ended: options.ended,
            }).pipeThrough(criLogDecoder(options.stream)).getReader();
          }
          if (first.length > 0) return controller.enqueue(first);
        }
        const next = await rest?.read();
        if (!next || next.done) controller.close();
        else controller.enqueue(next.value);
      } catch {
        // Aborted or gone: the output ends here.
        controller.close();
      }
    },
    async cancel() {
      await rest?.cancel().catch(() => undefined);
    },
  });
}

async function readOrEmpty(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
    throw e;
  }
}
