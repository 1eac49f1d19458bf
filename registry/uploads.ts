/** Blob upload sessions: start, append (streamed or Content-Range chunks), status, finish, cancel. */
import type { Clock, Ids } from "../base/mod.ts";
import type { BlobStore } from "./blob_store.ts";
import { Sha256 } from "./digest.ts";
import { RegistryError } from "./errors.ts";
import type { Metadata } from "./metadata.ts";
import { checkDigest } from "./names.ts";

/** What an upload session needs. */
export interface UploadDeps {
  store: BlobStore;
  meta: Metadata;
  clock: Clock;
  ids: Ids;
}

/** A chunk's declared position (`Content-Range: start-end`, inclusive) and length. */
export interface ChunkInfo {
  range?: { start: number; end: number };
  contentLength?: number;
}

/** Runs upload sessions. Hash state lives in memory per session; after a restart it is rebuilt. */
export class Uploads {
  readonly #deps: UploadDeps;
  readonly #hashers = new Map<string, Sha256>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #active = new Set<string>();
  /** Sessions known to be open, with their repository: spares a KV read per request. */
  readonly #known = new Map<string, string>();
  /** Totals since this process started (metrics). */
  readonly stats = { bytesReceived: 0, completed: 0 };

  constructor(deps: UploadDeps) {
    this.#deps = deps;
  }

  /** Opens a session for repository `name`; returns its id. */
  async start(name: string): Promise<string> {
    const id = this.#deps.ids.uuid();
    await this.#deps.store.createUpload(id);
    await this.#deps.meta.createUpload(id, { name, startedAt: this.#deps.clock.now() });
    this.#hashers.set(id, new Sha256());
    this.#active.add(id);
    this.#known.set(id, name);
    return id;
  }

  /** Sessions this process opened that are neither finished nor discarded. */
  inProgress(): number {
    return this.#active.size;
  }

  /** Bytes received so far; throws BLOB_UPLOAD_UNKNOWN for a session that is not open. */
  async size(name: string, id: string): Promise<number> {
    await this.#open(name, id);
    const size = await this.#deps.store.uploadSize(id);
    if (size === undefined) throw this.#unknown(id);
    return size;
  }

  /** Appends a chunk; returns the new size. */
  append(
    name: string,
    id: string,
    body: ReadableStream<Uint8Array> | null,
    chunk: ChunkInfo,
  ): Promise<number> {
    return this.#serial(id, () => this.#append(name, id, body, chunk));
  }

  /** Closes the session: appends an optional last chunk, verifies `digest` and stores the blob. */
  finish(args: {
    name: string;
    id: string;
    digest: string | undefined;
    body: ReadableStream<Uint8Array> | null;
    chunk: ChunkInfo;
  }): Promise<{ digest: string; size: number }> {
    const { name, id, digest, body, chunk } = args;
    return this.#serial(id, async () => {
      await this.#open(name, id);
      const kind = digest === undefined ? "invalid" : checkDigest(digest);
      if (digest === undefined || kind !== "sha256") {
        throw new RegistryError(
          kind === "unsupported" ? "UNSUPPORTED" : "DIGEST_INVALID",
          digest === undefined
            ? "PUT of an upload needs a ?digest= parameter"
            : `Digest "${digest}" is not a supported sha256 digest`,
          digest,
        );
      }
      const size = await this.#append(name, id, body, chunk);
      const hasher = await this.#hasher(id, size);
      const actual = hasher.digest();
      if (actual !== digest) {
        await this.#discard(id);
        throw new RegistryError(
          "DIGEST_INVALID",
          `Uploaded content has digest "${actual}", not "${digest}"`,
          digest,
        );
      }
      const { store, meta, clock } = this.#deps;
      // The fsync runs while the record is written; the file is placed only after both.
      const synced = store.syncUpload(id);
      synced.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      // The blob record is written before the file is placed: a collection that runs meanwhile
      // sees a freshly touched record and leaves the digest alone (see gc.ts).
      // The session's record goes in the same commit; its file goes right after (a crash in
      // between leaves a file with no record, which collection removes).
      await meta.recordBlob({ name, digest, size, now: clock.now(), upload: id });
      await synced;
      if ((await store.size(digest)) === size) await store.removeUpload(id);
      else await store.placeUpload(id, digest);
      this.#hashers.delete(id);
      this.#active.delete(id);
      this.#known.delete(id);
      this.stats.completed += 1;
      return { digest, size };
    });
  }

  /** Cancels a session and deletes what it received. */
  async cancel(name: string, id: string): Promise<void> {
    await this.#open(name, id, { fresh: true });
    await this.#serial(id, () => this.#discard(id));
  }

  async #append(
    name: string,
    id: string,
    body: ReadableStream<Uint8Array> | null,
    chunk: ChunkInfo,
  ): Promise<number> {
    await this.#open(name, id);
    const { store } = this.#deps;
    const current = await store.uploadSize(id);
    if (current === undefined) throw this.#unknown(id);
    if (chunk.range && chunk.range.start !== current) {
      throw new RegistryError(
        "RANGE_INVALID",
        `Chunk starts at ${chunk.range.start} but the upload has ${current} bytes`,
        { expected: current },
      );
    }
    const expected = chunk.range ? chunk.range.end - chunk.range.start + 1 : chunk.contentLength;
    if (chunk.range && chunk.contentLength !== undefined && chunk.contentLength !== expected) {
      throw new RegistryError(
        "SIZE_INVALID",
        `Content-Length ${chunk.contentLength} does not match Content-Range`,
      );
    }
    const hasher = await this.#hasher(id, current);
    let written: number;
    try {
      written = await store.append(id, { body, contentLength: chunk.contentLength, hasher });
    } catch (error) {
      // A broken connection leaves bytes the hasher may or may not have seen: rebuild it later.
      this.#hashers.delete(id);
      throw error;
    }
    this.stats.bytesReceived += written;
    if (expected !== undefined && written !== expected) {
      this.#hashers.delete(id);
      await store.truncateUpload(id, current);
      throw new RegistryError("SIZE_INVALID", `Chunk has ${written} bytes, expected ${expected}`);
    }
    return current + written;
  }

  /** The session's hasher, rebuilt from its file when it is missing or out of step. */
  async #hasher(id: string, size: number): Promise<Sha256> {
    const known = this.#hashers.get(id);
    if (known && known.length === size) return known;
    const hasher = new Sha256();
    const file = await Deno.open(this.#deps.store.uploadPath(id), { read: true });
    let left = size;
    for await (const chunk of file.readable) {
      const part = chunk.byteLength > left ? chunk.subarray(0, left) : chunk;
      hasher.update(part);
      left -= part.byteLength;
      if (left <= 0) break;
    }
    this.#hashers.set(id, hasher);
    return hasher;
  }

  /**
   * Checks that session `id` is open for `name`, from memory unless `fresh`. A session whose
   * record collection removed meanwhile also lost its file, which the callers' size check catches.
   */
  async #open(name: string, id: string, options: { fresh?: boolean } = {}): Promise<void> {
    if (!options.fresh && this.#known.get(id) === name) return;
    const record = await this.#deps.meta.getUpload(id);
    if (!record || record.name !== name) throw this.#unknown(id);
    this.#known.set(id, name);
  }

  async #discard(id: string): Promise<void> {
    this.#hashers.delete(id);
    this.#active.delete(id);
    this.#known.delete(id);
    await this.#deps.store.removeUpload(id);
    await this.#deps.meta.deleteUpload(id);
  }

  #unknown(id: string): RegistryError {
    return new RegistryError("BLOB_UPLOAD_UNKNOWN", `Upload "${id}" is unknown`, id);
  }

  /** Runs operations on one session one at a time. */
  async #serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.#locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    }
  }
}
