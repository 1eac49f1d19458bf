/** Garbage collection, and a registry process killed in the middle of an upload. */
import assert from "node:assert/strict";
import {
  digestOf,
  errorCodes,
  pushBlob,
  pushImage,
  randomBytes,
  run,
  startTestRegistry,
} from "./registry_helpers.ts";

const MAIN = new URL("../registry/main.ts", import.meta.url).pathname;

async function status(url: string, path: string, method = "GET"): Promise<number> {
  const res = await fetch(`${url}${path}`, { method });
  await res.body?.cancel();
  return res.status;
}

async function blobFileExists(workDir: string, digest: string): Promise<boolean> {
  const hex = digest.slice(7);
  try {
    await Deno.stat(`${workDir}/blobs/sha256/${hex.slice(0, 2)}/${hex}`);
    return true;
  } catch {
    return false;
  }
}

async function layersOf(url: string, name: string, tag: string): Promise<string[]> {
  const m = await (await fetch(`${url}/v2/${name}/manifests/${tag}`)).json();
  return [m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest)];
}

Deno.test("registry gc removes unreferenced blobs and stale uploads, never referenced or open ones", async (t) => {
  const reg = await startTestRegistry({ gc: { graceMs: 0, uploadMaxAgeMs: 60 * 60 * 1000 } });
  const url = reg.url;
  try {
    // Distinct tags give distinct config blobs, so the two images share nothing.
    const keptDigest = await pushImage(url, "gc/keep", "k");
    const goneDigest = await pushImage(url, "gc/gone", "g");
    const kept = await layersOf(url, "gc/keep", "k");
    const gone = await layersOf(url, "gc/gone", "g");
    const loose = await pushBlob(url, "gc/loose", randomBytes(2048));
    const partial = randomBytes(4096);
    const post = await fetch(`${url}/v2/gc/open/blobs/uploads/`, { method: "POST" });
    const session = post.headers.get("location") ?? "";
    await fetch(`${url}${session}`, { method: "PATCH", body: partial.slice(0, 1000) }).then((r) =>
      r.body?.cancel()
    );

    await t.step("POST /admin/gc deletes a blob no manifest references", async () => {
      const res = await fetch(`${url}/admin/gc`, { method: "POST" });
      const report = await res.json();
      assert.equal(res.status, 200);
      assert.equal(report.blobsDeleted, 1);
      assert.equal(await blobFileExists(reg.workDir, loose), false);
      assert.equal(await status(url, `/v2/gc/loose/blobs/${loose}`, "HEAD"), 404);
      for (const d of [...kept, ...gone, keptDigest, goneDigest]) {
        assert.ok(await blobFileExists(reg.workDir, d), d);
      }
    });

    await t.step("an open upload survives and still completes", async () => {
      const res = await fetch(`${url}${session}?digest=${digestOf(partial)}`, {
        method: "PUT",
        body: partial.slice(1000),
      });
      await res.body?.cancel();
      assert.equal(res.status, 201);
    });

    await t.step("after a manifest is deleted its layers go, shared content stays", async () => {
      assert.equal(await status(url, `/v2/gc/gone/manifests/${goneDigest}`, "DELETE"), 202);
      const res = await fetch(`${url}/admin/gc`, { method: "POST" });
      const report = await res.json();
      // The gone image's config, layer and manifest, plus the finished upload no manifest uses.
      assert.equal(report.blobsDeleted, 4);
      for (const d of [...gone, goneDigest]) {
        assert.equal(await blobFileExists(reg.workDir, d), false, d);
      }
      for (const d of kept) {
        const blob = await fetch(`${url}/v2/gc/keep/blobs/${d}`);
        assert.equal(digestOf(new Uint8Array(await blob.arrayBuffer())), d);
      }
      assert.equal(await status(url, `/v2/gc/keep/manifests/${keptDigest}`), 200);
    });

    await t.step(
      "`registry gc` from the command line purges stale uploads; fresh blobs get a grace period",
      async () => {
        const open = await fetch(`${url}/v2/gc/stale/blobs/uploads/`, { method: "POST" });
        const stale = open.headers.get("location") ?? "";
        await open.body?.cancel();
        const fresh = await pushBlob(url, "gc/fresh", randomBytes(100));
        const out = await run([
          "deno",
          "run",
          "-A",
          "--unstable-kv",
          MAIN,
          "gc",
          "--work-dir",
          reg.workDir,
          "--grace-seconds",
          "3600",
          "--upload-max-age-seconds",
          "0",
        ]);
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stdout, /blobs marked, 0 blobs deleted .* 1 stale uploads removed/);
        const gone = await fetch(`${url}${stale}`);
        assert.deepEqual(errorCodes(await gone.json()), ["BLOB_UPLOAD_UNKNOWN"]);
        assert.ok(await blobFileExists(reg.workDir, fresh));
      },
    );
  } finally {
    await reg.close();
  }
});

async function startChild(workDir: string): Promise<{ child: Deno.ChildProcess; url: string }> {
  const child = new Deno.Command("deno", {
    args: ["run", "-A", "--unstable-kv", MAIN, "serve", "--port", "0", "--work-dir", workDir],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    const m = seen.match(/listening on (http:\/\/\S+)/);
    if (m?.[1]) {
      reader.releaseLock();
      void child.stdout.cancel().catch(() => {});
      return { child, url: m[1] };
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`registry did not start: ${seen}`);
}

Deno.test("registry killed mid-upload stays consistent and the upload can resume", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-registry-kill-" });
  const data = randomBytes(64 * 1024 * 1024);
  const digest = digestOf(data);
  let first: { child: Deno.ChildProcess; url: string } | undefined;
  let second: { child: Deno.ChildProcess; url: string } | undefined;
  try {
    first = await startChild(workDir);
    await pushImage(first.url, "crash/before", "1");
    const post = await fetch(`${first.url}/v2/crash/blob/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location") ?? "";
    await post.body?.cancel();
    // A slow streamed PATCH: the process is killed while it is being written.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= data.byteLength) return c.close();
        await new Promise((r) => setTimeout(r, 5));
        c.enqueue(data.slice(sent, sent + 256 * 1024));
        sent += 256 * 1024;
      },
    });
    const patch = fetch(`${first.url}${location}`, { method: "PATCH", body }).catch((e) => e);
    const deadline = Date.now() + 30_000;
    let received = 0;
    while (received < 2 * 1024 * 1024 && Date.now() < deadline) {
      const res = await fetch(`${first.url}${location}`);
      await res.body?.cancel();
      received = Number(res.headers.get("range")?.split("-")[1] ?? 0);
    }
    assert.ok(received >= 2 * 1024 * 1024, "upload never progressed");
    first.child.kill("SIGKILL");
    await first.child.status;
    assert.ok((await patch) instanceof Error, "the PATCH should have been cut off");

    second = await startChild(workDir);
    const url = second.url;
    // Nothing partial is visible as a blob; what was committed before is intact.
    assert.equal(await status(url, `/v2/crash/blob/blobs/${digest}`, "HEAD"), 404);
    assert.equal(await status(url, "/v2/crash/before/manifests/1"), 200);
    const catalog = await (await fetch(`${url}/v2/_catalog`)).json();
    assert.deepEqual(catalog.repositories, ["crash/before"]);
    // The session survived with the bytes that reached the disk; the client resumes from there.
    const st = await fetch(`${url}${location}`);
    await st.body?.cancel();
    assert.equal(st.status, 204);
    const have = Number(st.headers.get("range")?.split("-")[1] ?? -1) + 1;
    assert.ok(have > 0 && have < data.byteLength, `resumable offset ${have}`);
    const rest = await fetch(`${url}${location}`, {
      method: "PATCH",
      body: data.slice(have),
      headers: { "Content-Range": `${have}-${data.byteLength - 1}` },
    });
    await rest.body?.cancel();
    assert.equal(rest.status, 202);
    assert.equal(await status(url, `${location}?digest=${digest}`, "PUT"), 201);
    const got = await fetch(`${url}/v2/crash/blob/blobs/${digest}`);
    assert.equal(digestOf(new Uint8Array(await got.arrayBuffer())), digest);
  } finally {
    for (const p of [first, second]) {
      if (!p) continue;
      try {
        p.child.kill("SIGKILL");
      } catch { /* already gone */ }
      await p.child.status;
    }
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("registry gc running nonstop beside concurrent pushes never leaves a manifest without its blobs", async () => {
  // Grace 0 makes collection as aggressive as it gets: a pushed blob may be collected before its
  // manifest arrives, and that manifest is then refused. What must never happen is a manifest that
  // was accepted (201) but whose own bytes, config or layers are gone.
  const reg = await startTestRegistry({ gc: { graceMs: 0, uploadMaxAgeMs: 60 * 60 * 1000 } });
  const url = reg.url;
  let collecting = true;
  const failures: string[] = [];
  const collector = (async () => {
    let runs = 0;
    while (collecting) {
      const res = await fetch(`${url}/admin/gc`, { method: "POST" });
      const body = await res.text();
      if (res.status !== 200) failures.push(body);
      runs++;
    }
    return runs;
  })();
  try {
    const accepted: { name: string; digest: string }[] = [];
    let refused = 0;
    await Promise.all(Array.from({ length: 4 }, async (_, worker) => {
      for (let i = 0; i < 6; i++) {
        const name = `stress/w${worker}`;
        try {
          accepted.push({ name, digest: await pushImage(url, name, `t${i}`, 4096) });
        } catch (error) {
          assert.match(String(error), /manifest push answered 400/);
          refused++;
        }
      }
    }));
    collecting = false;
    const runs = await collector;
    assert.ok(runs > 0);
    assert.deepEqual(failures, []);
    assert.equal(accepted.length + refused, 24);
    // One more collection at rest, then everything accepted must still be whole.
    await (await fetch(`${url}/admin/gc`, { method: "POST" })).body?.cancel();
    for (const { name, digest } of accepted) {
      const res = await fetch(`${url}/v2/${name}/manifests/${digest}`);
      const text = await res.text();
      assert.equal(res.status, 200, `${name}@${digest}: ${text}`);
      assert.equal(digestOf(text), digest);
      const manifest = JSON.parse(text);
      for (
        const d of [
          manifest.config.digest,
          ...manifest.layers.map((l: { digest: string }) => l.digest),
        ]
      ) {
        const blob = await fetch(`${url}/v2/${name}/blobs/${d}`);
        assert.equal(blob.status, 200, `${name} blob ${d}`);
        assert.equal(digestOf(new Uint8Array(await blob.arrayBuffer())), d);
      }
    }
  } finally {
    collecting = false;
    await collector.catch(() => 0);
    await reg.close();
  }
});
