/** Registry metadata in Deno KV: repositories, blob ownership, manifests, tags, referrers, uploads. */
import { z } from "zod";
import { RegistryError } from "./errors.ts";
import { keys } from "./keys.ts";
import type { ParsedManifest } from "./manifests.ts";

const BlobRecordSchema = z.object({ size: z.number(), touchedAt: z.number() });
/** A content-addressed file: its size and when it was last written or referenced. */
export type BlobRecord = z.infer<typeof BlobRecordSchema>;

const ManifestRecordSchema = z.object({
  mediaType: z.string(),
  size: z.number(),
  blobs: z.array(z.string()),
  children: z.array(z.string()),
  subject: z.string().optional(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string()).optional(),
  createdAt: z.number(),
});
/** A stored manifest revision. */
export type ManifestRecord = z.infer<typeof ManifestRecordSchema>;

const TagRecordSchema = z.object({ digest: z.string() });
const UploadRecordSchema = z.object({ name: z.string(), startedAt: z.number() });
/** An open upload session. */
export type UploadRecord = z.infer<typeof UploadRecordSchema>;

const ReferrerSchema = z.object({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string()).optional(),
});
/** A descriptor in a referrers response. */
export type Referrer = z.infer<typeof ReferrerSchema>;

/** One page of a sorted listing. */
export interface Page {
  items: string[];
  /** Present when more items follow the last one returned. */
  more: boolean;
}

/** How many items a listing returns when the client gives no `n`. */
export const DEFAULT_PAGE = 1000;

async function page(kv: Deno.Kv, prefix: Deno.KvKey, n: number, last?: string): Promise<Page> {
  if (n <= 0) return { items: [], more: false };
  const selector: Deno.KvListSelector = last === undefined
    ? { prefix }
    : { prefix, start: [...prefix, last] };
  const items: string[] = [];
  for await (const entry of kv.list({ ...selector }, { limit: n + 2 })) {
    const part = entry.key[prefix.length];
    if (typeof part !== "string" || part === last) continue;
    items.push(part);
  }
  return { items: items.slice(0, n), more: items.length > n };
}

/** The registry's KV store, with each change as one named atomic operation. */
export class Metadata {
  readonly kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /** Whether a repository has ever received content. */
  async repoExists(name: string): Promise<boolean> {
    return (await this.kv.get(keys.repo(name))).versionstamp !== null;
  }

  /** Records that `name` now owns a blob just written to disk (closing `upload` if given). */
  async recordBlob(
    args: { name: string; digest: string; size: number; now: number; upload?: string },
  ): Promise<void> {
    const { name, digest, size, now, upload } = args;
    const op = this.kv.atomic();
    if (upload !== undefined) op.delete(keys.upload(upload));
    await op
      .set(keys.blob(digest), { size, touchedAt: now } satisfies BlobRecord)
      .set(keys.link(name, digest), { linkedAt: now })
      .set(keys.owner(digest, name), true)
      .set(keys.repo(name), { createdAt: now })
      .commit();
  }

  /** The blob record, if the blob is stored. */
  async getBlob(digest: string): Promise<BlobRecord | undefined> {
    const entry = await this.kv.get(keys.blob(digest));
    return entry.value === null ? undefined : BlobRecordSchema.parse(entry.value);
  }

  /** Whether `name` owns the blob. */
  async isLinked(name: string, digest: string): Promise<boolean> {
    return (await this.kv.get(keys.link(name, digest))).versionstamp !== null;
  }

  /** Gives `name` a blob owned by `from` (or by any repository when `from` is absent). */
  async mount(
    args: { name: string; digest: string; from?: string; now: number },
  ): Promise<boolean> {
    const { name, digest, from, now } = args;
    if (from !== undefined && !(await this.isLinked(from, digest))) return false;
    const blob = await this.kv.get(keys.blob(digest));
    if (blob.value === null) return false;
    const record = BlobRecordSchema.parse(blob.value);
    const result = await this.kv.atomic()
      .check(blob)
      .set(keys.blob(digest), { size: record.size, touchedAt: now } satisfies BlobRecord)
      .set(keys.link(name, digest), { linkedAt: now })
      .set(keys.owner(digest, name), true)
      .set(keys.repo(name), { createdAt: now })
      .commit();
    return result.ok;
  }

  /** Removes a repository's ownership of a blob; false when it did not own it. */
  async unlink(name: string, digest: string): Promise<boolean> {
    const link = await this.kv.get(keys.link(name, digest));
    if (link.versionstamp === null) return false;
    await this.kv.atomic().delete(keys.link(name, digest)).delete(keys.owner(digest, name))
      .commit();
    return true;
  }

  /** A manifest revision of a repository. */
  async getManifest(name: string, digest: string): Promise<ManifestRecord | undefined> {
    const entry = await this.kv.get(keys.manifest(name, digest));
    return entry.value === null ? undefined : ManifestRecordSchema.parse(entry.value);
  }

  /** The digest a tag points at. */
  async resolveTag(name: string, tag: string): Promise<string | undefined> {
    const entry = await this.kv.get(keys.tag(name, tag));
    return entry.value === null ? undefined : TagRecordSchema.parse(entry.value).digest;
  }

  /** The GC epoch entry; read it before writing a manifest's file, pass it to `putManifest`. */
  gcEpoch(): Promise<Deno.KvEntryMaybe<unknown>> {
    return this.kv.get(keys.gcEpoch());
  }

  /**
   * Stores a manifest whose bytes are already on disk, after checking that every blob and child
   * it references exists in the repository. Fails with MANIFEST_BLOB_UNKNOWN listing each missing
   * digest. Returns false when a garbage collection deleted something since `epoch` was read (the
   * caller then rereads the epoch, makes sure the file is there, and tries again).
   */
  async putManifest(args: {
    name: string;
    digest: string;
    size: number;
    parsed: ParsedManifest;
    tags: string[];
    now: number;
    epoch: Deno.KvEntryMaybe<unknown>;
  }): Promise<boolean> {
    const { name, digest, size, parsed, tags, now, epoch } = args;
    const [links, blobs, children] = await Promise.all([
      Promise.all(parsed.blobs.map((d) => this.kv.get(keys.link(name, d)))),
      Promise.all(parsed.blobs.map((d) => this.kv.get(keys.blob(d)))),
      Promise.all(parsed.children.map((d) => this.kv.get(keys.manifest(name, d)))),
    ]);
    const missing = [
      ...parsed.blobs.filter((_, i) => links[i]?.value === null || blobs[i]?.value === null),
      ...parsed.children.filter((_, i) => children[i]?.value === null),
    ];
    if (missing.length > 0) {
      throw RegistryError.many(
        "MANIFEST_BLOB_UNKNOWN",
        missing.map((d) => ({
          message: `Blob or manifest "${d}" is unknown to repository "${name}"`,
          detail: d,
        })),
      );
    }
    const op = this.kv.atomic().check(epoch);
    parsed.blobs.forEach((d, i) => {
      const record = BlobRecordSchema.parse(blobs[i]?.value);
      op.set(keys.blob(d), { size: record.size, touchedAt: now } satisfies BlobRecord);
    });
    op.set(keys.blob(digest), { size, touchedAt: now } satisfies BlobRecord);
    const record: ManifestRecord = {
      mediaType: parsed.mediaType,
      size,
      blobs: parsed.blobs,
      children: parsed.children,
      subject: parsed.subject,
      artifactType: parsed.artifactType,
      annotations: parsed.annotations,
      createdAt: now,
    };
    op.set(keys.manifest(name, digest), record);
    for (const tag of tags) op.set(keys.tag(name, tag), { digest });
    if (parsed.subject) {
      const referrer: Referrer = {
        mediaType: parsed.mediaType,
        digest,
        size,
        artifactType: parsed.artifactType,
        annotations: parsed.annotations,
      };
      op.set(keys.referrer(name, parsed.subject, digest), referrer);
    }
    op.set(keys.repo(name), { createdAt: now });
    return (await op.commit()).ok;
  }

  /** Deletes a manifest revision and every tag pointing at it; false when it did not exist. */
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    const entry = await this.kv.get(keys.manifest(name, digest));
    if (entry.value === null) return false;
    const record = ManifestRecordSchema.parse(entry.value);
    const op = this.kv.atomic().check(entry).delete(keys.manifest(name, digest));
    for await (const tag of this.kv.list({ prefix: keys.tagPrefix(name) })) {
      if (TagRecordSchema.parse(tag.value).digest === digest) op.delete(tag.key);
    }
    if (record.subject) op.delete(keys.referrer(name, record.subject, digest));
    return (await op.commit()).ok;
  }

  /** Deletes one tag; false when it did not exist. */
  async deleteTag(name: string, tag: string): Promise<boolean> {
    const entry = await this.kv.get(keys.tag(name, tag));
    if (entry.versionstamp === null) return false;
    await this.kv.delete(keys.tag(name, tag));
    return true;
  }

  /** Tags of a repository in lexical order, after `last`. */
  listTags(name: string, n: number, last?: string): Promise<Page> {
    return page(this.kv, keys.tagPrefix(name), n, last);
  }

  /** Repository names in lexical order, after `last`. */
  listRepos(n: number, last?: string): Promise<Page> {
    return page(this.kv, keys.repoPrefix(), n, last);
  }

  /** Manifests of `name` whose subject is `subject`. */
  async listReferrers(name: string, subject: string): Promise<Referrer[]> {
    const out: Referrer[] = [];
    for await (const e of this.kv.list({ prefix: keys.referrerPrefix(name, subject) })) {
      out.push(ReferrerSchema.parse(e.value));
    }
    return out;
  }

  /** Opens an upload session record. */
  async createUpload(id: string, record: UploadRecord): Promise<void> {
    await this.kv.set(keys.upload(id), record);
  }

  /** An open upload session. */
  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const entry = await this.kv.get(keys.upload(id));
    return entry.value === null ? undefined : UploadRecordSchema.parse(entry.value);
  }

  /** Closes an upload session record. */
  async deleteUpload(id: string): Promise<void> {
    await this.kv.delete(keys.upload(id));
  }

  /** Every open upload session. */
  async listUploads(): Promise<{ id: string; record: UploadRecord }[]> {
    const out: { id: string; record: UploadRecord }[] = [];
    for await (const e of this.kv.list({ prefix: keys.uploadPrefix() })) {
      const id = e.key[2];
      if (typeof id === "string") out.push({ id, record: UploadRecordSchema.parse(e.value) });
    }
    return out;
  }

  /** Every blob record with its versionstamp, for garbage collection. */
  async listBlobs(): Promise<{ digest: string; record: BlobRecord; versionstamp: string }[]> {
    const out: { digest: string; record: BlobRecord; versionstamp: string }[] = [];
    for await (const e of this.kv.list({ prefix: keys.blobPrefix() })) {
      const digest = e.key[2];
      if (typeof digest !== "string") continue;
      out.push({ digest, record: BlobRecordSchema.parse(e.value), versionstamp: e.versionstamp });
    }
    return out;
  }

  /** Every digest referenced by any manifest revision of any repository (the GC mark set). */
  async markReferenced(): Promise<Set<string>> {
    const marked = new Set<string>();
    for await (const e of this.kv.list({ prefix: keys.manifestPrefix() })) {
      const digest = e.key[3];
      if (typeof digest === "string") marked.add(digest);
      const record = ManifestRecordSchema.parse(e.value);
      for (const d of record.blobs) marked.add(d);
      for (const d of record.children) marked.add(d);
    }
    return marked;
  }

  /** Claims a blob file that has no record for deletion, bumping the GC epoch; false if a record appeared. */
  async forgetOrphan(digest: string): Promise<boolean> {
    const result = await this.kv.atomic()
      .check({ key: keys.blob(digest), versionstamp: null })
      .set(keys.gcEpoch(), digest)
      .commit();
    return result.ok;
  }

  /**
   * Forgets a blob and every repository link to it, unless its record changed since
   * `versionstamp` was read (a push or a reference touched it). Bumps the GC epoch.
   */
  async forgetBlob(digest: string, versionstamp: string): Promise<boolean> {
    const op = this.kv.atomic()
      .check({ key: keys.blob(digest), versionstamp })
      .delete(keys.blob(digest))
      .set(keys.gcEpoch(), digest);
    for await (const e of this.kv.list({ prefix: keys.ownerPrefix(digest) })) {
      const name = e.key[3];
      if (typeof name !== "string") continue;
      op.delete(e.key).delete(keys.link(name, digest));
    }
    return (await op.commit()).ok;
  }
}
