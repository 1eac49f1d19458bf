/** Streams a task's output file: all of it or its last lines, then (with follow) what is appended. */

/** Options for `streamLogFile`. */
export interface LogFileOptions {
  /** Only the last N lines of what is there now. */
  tail?: number;
  /** Keep sending what is appended, until `signal` aborts or `ended()` says the writer is done. */
  follow?: boolean;
  signal?: AbortSignal;
  /** Whether the writer has finished (a followed stream then closes once it has read all). */
  ended?: () => boolean;
  pollMs?: number;
  /** Start at this byte offset instead (no initial read; `tail` is then ignored). */
  from?: number;
}

const TAIL_WINDOW = 1 << 20;

/** The last `n` lines of `bytes` (a final line without newline counts as a line). */
export function lastLines(bytes: Uint8Array, n: number): Uint8Array {
  if (n <= 0) return new Uint8Array(0);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 10) end -= 1;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (bytes[i] === 10 && ++seen === n) return bytes.subarray(i + 1);
  }
  return bytes;
}

/** A stream of the file's content; empty when the file does not exist (and follow is off). */
export function streamLogFile(
  path: string,
  options: LogFileOptions = {},
): ReadableStream<Uint8Array> {
  const pollMs = options.pollMs ?? 100;
  let offset = 0;
  let file: Deno.FsFile | undefined;
  let started = false;
  const aborted = () => options.signal?.aborted ?? false;
  const close = () => {
    try {
      file?.close();
    } catch { /* already closed */ }
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started && options.from !== undefined) {
          started = true;
          offset = options.from;
        }
        if (!started) {
          started = true;
          const first = await readInitial(path, options.tail);
          offset = first.offset;
          if (first.bytes.length > 0) return controller.enqueue(first.bytes);
        }
        while (true) {
          if (aborted()) break;
          const endedBefore = options.ended?.() ?? false;
          const chunk = await readFrom(path, offset, () => file, (f) => (file = f));
          if (chunk.length > 0) {
            offset += chunk.length;
            return controller.enqueue(chunk);
          }
          if (!options.follow || endedBefore) break;
          await sleep(pollMs, options.signal);
        }
        close();
        controller.close();
      } catch (e) {
        close();
        controller.error(e);
      }
    },
    cancel() {
      close();
    },
  });
}

async function readInitial(
  path: string,
  tail?: number,
): Promise<{ bytes: Uint8Array; offset: number }> {
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { bytes: new Uint8Array(0), offset: 0 };
    throw e;
  }
  if (tail === undefined) return { bytes: new Uint8Array(0), offset: 0 };
  const start = Math.max(0, size - TAIL_WINDOW);
  using f = await Deno.open(path, { read: true });
  await f.seek(start, Deno.SeekMode.Start);
  const buf = new Uint8Array(size - start);
  let read = 0;
  while (read < buf.length) {
    const n = await f.read(buf.subarray(read));
    if (n === null) break;
    read += n;
  }
  return { bytes: lastLines(buf.subarray(0, read), tail).slice(), offset: start + read };
}

async function readFrom(
  path: string,
  offset: number,
  get: () => Deno.FsFile | undefined,
  set: (f: Deno.FsFile) => void,
): Promise<Uint8Array> {
  let f = get();
  if (!f) {
    try {
      f = await Deno.open(path, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
      throw e;
    }
    set(f);
  }
  await f.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(64 * 1024);
  const n = await f.read(buf);
  return n === null ? new Uint8Array(0) : buf.slice(0, n);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
