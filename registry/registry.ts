/** The registry's operations over blob store and metadata, called by the HTTP handlers. */
import type { Clock, Ids } from "../base/mod.ts";
import type { BlobStore, ByteRange } from "./blob_store.ts";
import { sha256Of } from "./digest.ts";
import { RegistryError } from "./errors.ts";
import { collectGarbage, type GcOptions, type GcReport } from "./gc.ts";
import { MAX_MANIFEST_BYTES, MEDIA_TYPES, parseManifest } from "./manifests.ts";
import type { ManifestRecord, Metadata, Page, Referrer } from "./metadata.ts";
import { checkDigest, parseReference } from "./names.ts";
import { Uploads } from "./uploads.ts";

/** What the registry is built from. */
export interface RegistryDeps {
  store: BlobStore;
  meta: Metadata;
  clock: Clock;
  ids: Ids;
}

/** A manifest as served. */
export interface StoredManifest {
  digest: string;
  record: ManifestRecord;
}

/** Throws DIGEST_INVALID unless `digest` is a well-formed sha256 digest. */
export function requireDigest(digest: string): void {
  if (checkDigest(digest) !== "sha256") {
    throw new RegistryError(
      "DIGEST_INVALID",
      `Digest "${digest}" is not a valid sha256 digest`,
      digest,
    );
  }
}

/** Blob, manifest, tag and referrer operations of one registry. */
export class Registry {
  readonly uploads: Uploads;
  readonly #deps: RegistryDeps;

  constructor(deps: RegistryDeps) {
    this.#deps = deps;
    this.uploads = new Uploads(deps);
  }

  /** Size of a blob that repository `name` owns; BLOB_UNKNOWN otherwise. */
  async statBlob(name: string, digest: string): Promise<number> {
    requireDigest(digest);
    const size = (await this.#deps.meta.isLinked(name, digest))
      ? await this.#deps.store.size(digest)
      : undefined;
    if (size === undefined) {
      throw new RegistryError(
        "BLOB_UNKNOWN",
        `Blob "${digest}" is unknown to repository "${name}"`,
        digest,
      );
    }
    return size;
  }

  /** Streams a blob, or a range of it, that `statBlob` has just found for the repository. */
  async openBlob(digest: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.#deps.store.open(digest, range);
    if (!stream) throw new RegistryError("BLOB_UNKNOWN", `Blob "${digest}" is gone`, digest);
    return stream;
  }

  /** Removes a repository's link to a blob; the bytes go at the next collection. */
  async deleteBlob(name: string, digest: string): Promise<void> {
    requireDigest(digest);
    if (!(await this.#deps.meta.unlink(name, digest))) {
      throw new RegistryError(
        "BLOB_UNKNOWN",
        `Blob "${digest}" is unknown to repository "${name}"`,
        digest,
      );
    }
  }

  /** Mounts a blob from another repository; false when it cannot (the client then uploads). */
  async mount(name: string, digest: string, from: string | undefined): Promise<boolean> {
    if (checkDigest(digest) !== "sha256") return false;
    if ((await this.#deps.store.size(digest)) === undefined) return false;
    return await this.#deps.meta.mount({ name, digest, from, now: this.#deps.clock.now() });
  }

  /** Stores a manifest under a tag or its digest (plus extra tags); returns its digest. */
  async putManifest(args: {
    name: string;
    reference: string;
    bytes: Uint8Array;
    contentType: string | undefined;
    tags?: string[];
  }): Promise<{ digest: string; subject?: string }> {
    const { name, reference, bytes, contentType } = args;
    const ref = parseReference(reference);
    if (!ref) throw invalidReference(reference);
    if (bytes.byteLength > MAX_MANIFEST_BYTES) {
      throw new RegistryError(
        "TOO_LARGE",
        `Manifest of ${bytes.byteLength} bytes exceeds ${MAX_MANIFEST_BYTES}`,
      );
    }
    const digest = sha256Of(bytes);
    if (ref.kind === "digest" && ref.digest !== digest) {
      throw new RegistryError(
        "DIGEST_INVALID",
        `Manifest digest is "${digest}", not "${ref.digest}"`,
        ref.digest,
      );
    }
    const parsed = parseManifest(bytes, contentType);
    const tags = [...(ref.kind === "tag" ? [ref.tag] : []), ...(args.tags ?? [])];
    const { store, meta, clock, ids } = this.#deps;
    // The epoch is read before the file is checked or written: a collection that removes the
    // file afterwards bumps it, the commit below fails, and the next attempt writes it again.
    for (let attempt = 0; attempt < 20; attempt++) {
      const epoch = await meta.gcEpoch();
      if ((await store.size(digest)) !== bytes.byteLength) {
        await store.put(digest, bytes, ids.uuid());
      }
      const size = bytes.byteLength;
      if (await meta.putManifest({ name, digest, size, parsed, tags, now: clock.now(), epoch })) {
        return { digest, subject: parsed.subject };
      }
    }
    throw new RegistryError("UNKNOWN", `Cannot store manifest "${digest}": too many conflicts`);
  }

  /** Finds a manifest by tag or digest; MANIFEST_UNKNOWN otherwise. */
  async getManifest(name: string, reference: string): Promise<StoredManifest> {
    const ref = parseReference(reference);
    if (!ref) throw invalidReference(reference);
    const { meta } = this.#deps;
    const digest = ref.kind === "digest" ? ref.digest : await meta.resolveTag(name, ref.tag);
    const record = digest === undefined ? undefined : await meta.getManifest(name, digest);
    if (digest === undefined || !record) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `Manifest "${reference}" is unknown in repository "${name}"`,
        reference,
      );
    }
    return { digest, record };
  }

  /** The exact bytes of a stored manifest. */
  async manifestBytes(digest: string): Promise<Uint8Array<ArrayBuffer>> {
    const bytes = await this.#deps.store.read(digest);
    if (!bytes) {
      throw new RegistryError("MANIFEST_UNKNOWN", `Manifest "${digest}" content is gone`, digest);
    }
    return bytes;
  }

  /** Deletes a tag, or a manifest revision and all its tags. */
  async deleteManifest(name: string, reference: string): Promise<void> {
    const ref = parseReference(reference);
    if (!ref) throw invalidReference(reference);
    const { meta } = this.#deps;
    const found = ref.kind === "tag"
      ? await meta.deleteTag(name, ref.tag)
      : await meta.deleteManifest(name, ref.digest);
    if (!found) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `Manifest "${reference}" is unknown in repository "${name}"`,
        reference,
      );
    }
  }

  /** A page of a repository's tags; NAME_UNKNOWN for a repository never pushed to. */
  async tags(name: string, n: number, last?: string): Promise<Page> {
    if (!(await this.#deps.meta.repoExists(name))) {
      throw new RegistryError("NAME_UNKNOWN", `Repository "${name}" is unknown`, { name });
    }
    return await this.#deps.meta.listTags(name, n, last);
  }

  /** A page of repository names. */
  catalog(n: number, last?: string): Promise<Page> {
    return this.#deps.meta.listRepos(n, last);
  }

  /** Manifests in `name` whose subject is `digest`, optionally of one artifact type. */
  async referrers(name: string, digest: string, artifactType?: string): Promise<Referrer[]> {
    if (checkDigest(digest) === "invalid") {
      throw new RegistryError("DIGEST_INVALID", `Digest "${digest}" is malformed`, digest);
    }
    const all = await this.#deps.meta.listReferrers(name, digest);
    return artifactType === undefined ? all : all.filter((r) => r.artifactType === artifactType);
  }

  /** Runs a garbage collection. */
  gc(options?: GcOptions): Promise<GcReport> {
    return collectGarbage(this.#deps, options);
  }
}

function invalidReference(reference: string): RegistryError {
  return reference.includes(":")
    ? new RegistryError(
      "DIGEST_INVALID",
      `Reference "${reference}" is not a valid digest`,
      reference,
    )
    : new RegistryError("TAG_INVALID", `Tag "${reference}" is invalid`, reference);
}

/** The referrers response body: an OCI index of the referring manifests' descriptors. */
export function referrersIndex(referrers: Referrer[]): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: referrers };
}
