import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../base/mod.ts";
import { BlobStore } from "./blob_store.ts";
import { Metadata } from "./metadata.ts";
import { collectGarbage } from "./gc.ts";
import { parseManifest } from "./manifests.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}`;

Deno.test("collectGarbage() spares blobs touched after it read them, and referenced ones", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv`);
  try {
    const meta = new Metadata(kv);
    const store = new BlobStore(dir);
    await store.init();
    const clock = new FakeClock();
    await meta.recordBlob({ name: "r", digest: digest("a"), size: 1, now: clock.now() });
    await meta.recordBlob({ name: "r", digest: digest("b"), size: 1, now: clock.now() });
    clock.advance(10_000);
    const deps = { store, meta, clock, ids: new SequentialIds() };
    // A reference arriving between GC's read and its delete wins: the delete's check fails.
    const [stale] = (await meta.listBlobs()).filter((b) => b.digest === digest("a"));
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: "c", digest: digest("a"), size: 1 },
      layers: [],
    }));
    const stored = await meta.putManifest({
      name: "r",
      digest: digest("f"),
      size: manifest.byteLength,
      parsed: parseManifest(manifest, undefined),
      tags: ["t"],
      now: clock.now(),
      epoch: await meta.gcEpoch(),
    });
    assert.ok(stored);
    assert.equal(await meta.forgetBlob(digest("a"), stale?.versionstamp ?? ""), false);
    // A young unreferenced blob survives the grace period; an old one goes.
    await meta.recordBlob({ name: "r", digest: digest("c"), size: 1, now: clock.now() });
    const report = await collectGarbage(deps, { graceMs: 5_000 });
    assert.equal(report.blobsDeleted, 1); // only "b"
    assert.equal(await meta.getBlob(digest("b")), undefined);
    assert.equal(await meta.isLinked("r", digest("b")), false);
    assert.ok(await meta.getBlob(digest("a")));
    assert.ok(await meta.getBlob(digest("c")));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Metadata.putManifest() fails once a collection deleted a blob it references, and asks for a retry after any deletion", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv`);
  try {
    const meta = new Metadata(kv);
    await meta.recordBlob({ name: "r", digest: digest("a"), size: 1, now: 0 });
    const epoch = await meta.gcEpoch();
    const [record] = await meta.listBlobs();
    assert.ok(await meta.forgetBlob(digest("a"), record?.versionstamp ?? ""));
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: "c", digest: digest("a"), size: 1 },
      layers: [],
    }));
    await assert.rejects(
      meta.putManifest({
        name: "r",
        digest: digest("f"),
        size: 1,
        parsed: parseManifest(manifest, undefined),
        tags: [],
        now: 1,
        epoch,
      }),
      /unknown to repository/,
    );
    // A write that read the epoch before a collection ran is told to retry.
    await meta.recordBlob({ name: "r", digest: digest("b"), size: 1, now: 2 });
    const before = await meta.gcEpoch();
    assert.ok(await meta.forgetOrphan(digest("z")));
    const retry = await meta.putManifest({
      name: "r",
      digest: digest("g"),
      size: 1,
      parsed: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        blobs: [digest("b")],
        children: [],
      },
      tags: [],
      now: 3,
      epoch: before,
    });
    assert.equal(retry, false);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collectGarbage() purges an upload idle for an hour by default, and spares one written to lately", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv`);
  try {
    const meta = new Metadata(kv);
    const store = new BlobStore(dir);
    await store.init();
    const clock = new FakeClock(Date.now());
    for (const id of ["idle", "busy"]) {
      await store.createUpload(id);
      await meta.createUpload(id, { name: "r", startedAt: clock.now() });
    }
    clock.advance(61 * 60 * 1000);
    // "busy" got bytes a moment ago (its file's mtime): it is not abandoned.
    const now = new Date(clock.now());
    await Deno.utime(`${dir}/blobs/uploads/busy`, now, now);
    const report = await collectGarbage(
      { store, meta, clock, ids: new SequentialIds() },
      { uploadsOnly: true },
    );
    assert.equal(report.uploadsDeleted, 1);
    assert.equal(await meta.getUpload("idle"), undefined);
    assert.notEqual(await meta.getUpload("busy"), undefined);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
