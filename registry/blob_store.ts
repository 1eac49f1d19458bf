/**
 * Content-addressed blobs on disk. Uploads grow in `blobs/uploads/<id>`; a finished upload is fsynced and
 * renamed to `blobs/sha256/<aa>/<hex>`, so a blob path never shows partial content.
 */
import { dirname, join } from "node:path";
import type { Sha256 } from "./digest.ts";
import { FileWriter } from "./file_writer.ts";

/** A byte range of a blob, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Size of the buffer uploads are gathered in before hashing and writing. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** How much an upload may have unsynced before the next background fsync starts. */
const SYNC_EVERY_BYTES = 1024 * 1024;

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await file.write(bytes.subarray(offset));
}

/** Fsyncs a directory, making the names created or renamed in it durable. */
async function syncDirectory(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function statSize(path: string): Promise<number | undefined> {
  return (await statOrUndefined(path))?.size;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Streams bytes `[start, end]` of an open file, closing it at the end or on cancel. */
function rangeStream(file: Deno.FsFile, range: ByteRange): ReadableStream<Uint8Array> {
  let remaining = range.end - range.start + 1;
  let positioned = false;
  const close = () => {
    try {
      file.close();
    } catch { /* already closed */ }
  };
  return new ReadableStream<Uint8Array>({
    type: "bytes",
    async pull(controller) {
      if (!positioned) {
        await file.seek(range.start, Deno.SeekMode.Start);
        positioned = true;
      }
      const buffer = new Uint8Array(Math.min(remaining, 256 * 1024));
      const n = await file.read(buffer);
      if (n === null || n === 0) {
        close();
        controller.close();
        return;
      }
      remaining -= n;
      controller.enqueue(buffer.subarray(0, n));
      if (remaining <= 0) {
        close();
        controller.close();
      }
    },
    cancel: close,
  });
}

/**
 * Reads a body into `pool` from `fill` on. The result's `value` is the bytes read, a view of the
 * pool's memory, which the caller goes on with (a BYOB read transfers the buffer it reads into).
 */
type PoolRead = (
  pool: Uint8Array<ArrayBuffer>,
  fill: number,
) => Promise<{ value: Uint8Array<ArrayBuffer>; done: boolean }>;

/**
 * Deno.serve hands large request bodies over as byte streams, which a BYOB reader reads straight
 * into the pool; empty and small bodies come as plain streams, whose chunks are copied in. So are
 * chunked bodies (no Content-Length, as docker sends layers): a BYOB read of more than 64 KiB from
 * one of those stalls in Deno 2.9 while the rest of the body piles up in memory.
 */
function bodyReader(body: ReadableStream<Uint8Array>, sized: boolean): PoolRead {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = sized ? body.getReader({ mode: "byob" }) : undefined;
  } catch {
    byob = undefined; // not a byte stream
  }
  if (byob) {
    const reader = byob;
    return async (pool, fill) => {
      const { value, done } = await reader.read(new Uint8Array(pool.buffer, fill));
      return { value: value ?? pool.subarray(fill, fill), done };
    };
  }
  const reader = body.getReader();
  let rest: Uint8Array = new Uint8Array(0);
  return async (pool, fill) => {
    if (rest.byteLength === 0) {
      const { value, done } = await reader.read();
      if (done) return { value: pool.subarray(fill, fill), done };
      rest = value;
    }
    const n = Math.min(rest.byteLength, pool.byteLength - fill);
    pool.set(rest.subarray(0, n), fill);
    rest = rest.subarray(n);
    return { value: pool.subarray(fill, fill + n), done: false };
  };
}

/** The blob and upload files under one root directory. */
export class BlobStore {
  readonly root: string;
  readonly #writer = new FileWriter();

  constructor(root: string) {
    this.root = root;
  }

  /**
   * Creates the directories, the 256 `blobs/sha256/<aa>` ones included, and syncs them: placing a
   * blob then only has to sync the one directory it renames into.
   */
  async init(): Promise<void> {
    const blobs = join(this.root, "blobs", "sha256");
    await Deno.mkdir(join(this.root, "blobs", "uploads"), { recursive: true });
    const fanOut = Array.from(
      { length: 256 },
      (_, i) => join(blobs, i.toString(16).padStart(2, "0")),
    );
    await Promise.all(fanOut.map((dir) => Deno.mkdir(dir, { recursive: true })));
    for (const dir of [blobs, join(this.root, "blobs"), this.root]) await syncDirectory(dir);
  }

  /** Where a blob lives (`sha256:<hex>` only). */
  blobPath(digest: string): string {
    const hex = digest.slice("sha256:".length);
    return join(this.root, "blobs", "sha256", hex.slice(0, 2), hex);
  }

  /** Where an upload's bytes grow. */
  uploadPath(id: string): string {
    return join(this.root, "blobs", "uploads", id);
  }

  /** Size of a stored blob, or undefined. */
  size(digest: string): Promise<number | undefined> {
    return statSize(this.blobPath(digest));
  }

  /** Opens a blob for streaming (a byte range of it when given). */
  async open(digest: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | undefined> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.blobPath(digest), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    return range ? rangeStream(file, range) : file.readable;
  }

  /** Reads a whole (small) blob, e.g. a manifest. */
  async read(digest: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
    try {
      return await Deno.readFile(this.blobPath(digest));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /** Creates an empty upload file. */
  async createUpload(id: string): Promise<void> {
    await Deno.writeFile(this.uploadPath(id), new Uint8Array(0), { createNew: true });
  }

  /** Current size of an upload, or undefined when its file is gone. */
  uploadSize(id: string): Promise<number | undefined> {
    return statSize(this.uploadPath(id));
  }

  /**
   * Appends a body to an upload, feeding the hasher; returns the bytes written. The body goes
   * into two 1 MiB buffers that take turns (read straight into them when it has a Content-Length,
   * see `bodyReader`): one fills from the network on this thread while the worker writes the other
   * to disk.
   */
  async append(
    id: string,
    chunk: { body: ReadableStream<Uint8Array> | null; contentLength?: number; hasher: Sha256 },
  ): Promise<number> {
    const { body, hasher } = chunk;
    if (body === null) return 0;
    const path = this.uploadPath(id);
    const read = bodyReader(body, chunk.contentLength !== undefined);
    let pool = new Uint8Array(WRITE_BUFFER_BYTES);
    let fill = 0;
    let written = 0;
    let inFlight: Promise<ArrayBuffer> = Promise.resolve(new ArrayBuffer(WRITE_BUFFER_BYTES));
    const flush = async () => {
      if (fill === 0) return;
      hasher.update(pool.subarray(0, fill));
      const free = await inFlight; // the previous write is done: its buffer is ours again
      inFlight = this.#writer.write(path, pool.buffer, fill, SYNC_EVERY_BYTES);
      written += fill;
      fill = 0;
      pool = new Uint8Array(free);
    };
    try {
      for (;;) {
        const { value, done } = await read(pool, fill);
        pool = new Uint8Array(value.buffer);
        fill += value.byteLength;
        if (done) break;
        if (fill === pool.byteLength) await flush();
      }
      await flush();
      await inFlight;
    } finally {
      await inFlight.catch(() => {});
      await this.#writer.close(path);
    }
    return written;
  }

  /** Starts the writer thread ahead of the first upload. */
  startWriter(): void {
    this.#writer.start();
  }

  /** Stops the writer thread. */
  close(): void {
    this.#writer.terminate();
  }

  /** Cuts an upload back to `size` bytes (after a rejected chunk). */
  async truncateUpload(id: string, size: number): Promise<void> {
    await Deno.truncate(this.uploadPath(id), size);
  }

  /** Fsyncs a finished upload's file (before `placeUpload`, so a placed blob is durable). */
  async syncUpload(id: string): Promise<void> {
    const file = await Deno.open(this.uploadPath(id), { read: true, write: true });
    try {
      await file.syncData();
    } finally {
      file.close();
    }
  }

  /** Renames a finished upload, already fsynced by `syncUpload`, into place as `digest`. */
  placeUpload(id: string, digest: string): Promise<void> {
    return this.#place(this.uploadPath(id), digest);
  }

  /** Writes small content (a manifest) to a temporary file and renames it into place. */
  async put(digest: string, bytes: Uint8Array, tempId: string): Promise<void> {
    const temp = this.uploadPath(`${tempId}.manifest`);
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      await writeAll(file, bytes);
      await file.syncData();
    } finally {
      file.close();
    }
    await this.#place(temp, digest);
  }

  /** Renames a synced file into place; the rename is durable once its directory is synced. */
  async #place(source: string, digest: string): Promise<void> {
    const target = this.blobPath(digest);
    await Deno.rename(source, target);
    await syncDirectory(dirname(target));
  }

  /** Deletes an upload's file. */
  removeUpload(id: string): Promise<void> {
    return removeIfPresent(this.uploadPath(id));
  }

  /** Moves a blob aside before its metadata is dropped; false when it is not on disk. */
  async trash(digest: string, token: string): Promise<boolean> {
    try {
      await Deno.rename(this.blobPath(digest), `${this.blobPath(digest)}.gc-${token}`);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /** Puts a trashed blob back (its metadata changed meanwhile). */
  async restore(digest: string, token: string): Promise<void> {
    await Deno.rename(`${this.blobPath(digest)}.gc-${token}`, this.blobPath(digest));
  }

  /** Deletes a trashed blob for good. */
  purge(digest: string, token: string): Promise<void> {
    return removeIfPresent(`${this.blobPath(digest)}.gc-${token}`);
  }

  /** Every blob file on disk with its size and modification time. */
  async *listBlobFiles(): AsyncIterable<{ digest: string; size: number; mtime: number }> {
    const base = join(this.root, "blobs", "sha256");
    for await (const dir of Deno.readDir(base)) {
      if (!dir.isDirectory) continue;
      for await (const entry of Deno.readDir(join(base, dir.name))) {
        if (!entry.isFile || !/^[a-f0-9]{64}$/.test(entry.name)) continue;
        const info = await statOrUndefined(join(base, dir.name, entry.name));
        if (!info) continue; // collected or replaced meanwhile
        yield {
          digest: `sha256:${entry.name}`,
          size: info.size,
          mtime: info.mtime?.getTime() ?? 0,
        };
      }
    }
  }

  /** Every upload file with its modification time. */
  async *listUploadFiles(): AsyncIterable<{ id: string; mtime: number }> {
    for await (const entry of Deno.readDir(join(this.root, "blobs", "uploads"))) {
      if (!entry.isFile) continue;
      const info = await statOrUndefined(join(this.root, "blobs", "uploads", entry.name));
      if (!info) continue; // finished or cancelled meanwhile
      yield { id: entry.name, mtime: info.mtime?.getTime() ?? 0 };
    }
  }
}
