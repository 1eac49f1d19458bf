/**
 * Online garbage collection: mark every digest a manifest references, sweep blob records and files
 * that nothing references and that nobody touched within the grace period, purge stale uploads.
 *
 * Safety with concurrent pushes: an upload writes its blob record before placing the file, and a
 * manifest write touches the record of everything it references while checking the GC epoch; a
 * deletion checks the record's versionstamp and bumps the epoch. Whichever commits second fails
 * and retries (manifest) or skips (GC), so a referenced or just-pushed blob is never removed.
 */
import type { Clock, Ids } from "../base/mod.ts";
import type { BlobStore } from "./blob_store.ts";
import type { Metadata } from "./metadata.ts";

/** How long things are kept before collection may remove them. */
export interface GcOptions {
  /** Unreferenced blobs touched more recently than this survive (default one hour). */
  graceMs?: number;
  /**
   * Uploads with no activity (start, or bytes written) for this long are abandoned and purged
   * (default `DEFAULT_UPLOAD_MAX_AGE_MS`, one hour; distribution keeps them a week).
   */
  uploadMaxAgeMs?: number;
  /** Purge abandoned uploads only, leaving blobs alone (the master's registry, by default). */
  uploadsOnly?: boolean;
  /** Report only, delete nothing. */
  dryRun?: boolean;
}

/** How long an upload may sit idle before collection removes it. */
export const DEFAULT_UPLOAD_MAX_AGE_MS = 60 * 60 * 1000;

/** What a collection found and removed. */
export interface GcReport {
  blobsMarked: number;
  blobsDeleted: number;
  bytesFreed: number;
  uploadsDeleted: number;
}

/** Runs one collection. */
export async function collectGarbage(
  deps: { store: BlobStore; meta: Metadata; clock: Clock; ids: Ids },
  options: GcOptions = {},
): Promise<GcReport> {
  const { clock } = deps;
  const graceMs = options.graceMs ?? 60 * 60 * 1000;
  const uploadMaxAgeMs = options.uploadMaxAgeMs ?? DEFAULT_UPLOAD_MAX_AGE_MS;
  const now = clock.now();
  const report: GcReport = { blobsMarked: 0, blobsDeleted: 0, bytesFreed: 0, uploadsDeleted: 0 };
  if (!options.uploadsOnly) await collectBlobs(deps, { graceMs, now, report, ...options });
  await collectUploads(deps, { now, uploadMaxAgeMs, report, dryRun: options.dryRun });
  return report;
}

async function collectBlobs(
  deps: { store: BlobStore; meta: Metadata; ids: Ids },
  options: { graceMs: number; now: number; report: GcReport; dryRun?: boolean },
): Promise<void> {
  const { store, meta, ids } = deps;
  const { graceMs, now, report } = options;

  // Records are read before the mark so that any later reference changes their versionstamp.
  const blobs = await meta.listBlobs();
  const marked = await meta.markReferenced();
  const known = new Set(blobs.map((b) => b.digest));
  for (const { digest, record, versionstamp } of blobs) {
    if (marked.has(digest)) {
      report.blobsMarked++;
      continue;
    }
    if (record.touchedAt > now - graceMs) continue;
    if (options.dryRun) {
      report.blobsDeleted++;
      report.bytesFreed += record.size;
      continue;
    }
    const token = ids.uuid();
    const trashed = await store.trash(digest, token);
    if (await meta.forgetBlob(digest, versionstamp)) {
      if (trashed) await store.purge(digest, token);
      report.blobsDeleted++;
      report.bytesFreed += record.size;
    } else if (trashed) {
      await store.restore(digest, token);
    }
  }

  // Files with no record at all (a crash between writing a manifest file and its record).
  for await (const file of store.listBlobFiles()) {
    if (known.has(file.digest) || file.mtime > now - graceMs) continue;
    if ((await meta.getBlob(file.digest)) !== undefined) continue;
    if (!options.dryRun) {
      // Moved aside first, then claimed in KV (bumping the epoch) so a manifest write that
      // raced with this notices and writes its file again.
      const token = ids.uuid();
      if (!(await store.trash(file.digest, token))) continue;
      if (!(await meta.forgetOrphan(file.digest))) {
        await store.restore(file.digest, token);
        continue;
      }
      await store.purge(file.digest, token);
    }
    report.blobsDeleted++;
    report.bytesFreed += file.size;
  }
}

/** Removes uploads idle (no start, no bytes written) for longer than `uploadMaxAgeMs`. */
async function collectUploads(
  deps: { store: BlobStore; meta: Metadata },
  options: { now: number; uploadMaxAgeMs: number; report: GcReport; dryRun?: boolean },
): Promise<void> {
  const { store, meta } = deps;
  const { now, uploadMaxAgeMs, report } = options;
  const written = new Map<string, number>();
  for await (const file of store.listUploadFiles()) written.set(file.id, file.mtime);
  const open = new Set<string>();
  for (const { id, record } of await meta.listUploads()) {
    if (Math.max(record.startedAt, written.get(id) ?? 0) > now - uploadMaxAgeMs) {
      open.add(id);
      continue;
    }
    if (!options.dryRun) {
      await store.removeUpload(id);
      await meta.deleteUpload(id);
    }
    report.uploadsDeleted++;
  }
  for await (const file of store.listUploadFiles()) {
    if (open.has(file.id) || file.mtime > now - uploadMaxAgeMs) continue;
    if ((await meta.getUpload(file.id)) !== undefined) continue;
    if (!options.dryRun) await store.removeUpload(file.id);
    report.uploadsDeleted++;
  }
}
