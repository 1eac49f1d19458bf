/** The registry's HTTP API over a real socket: every endpoint and every error case. */
import assert from "node:assert/strict";
import { serveRegistry } from "../registry/mod.ts";
import {
  digestOf,
  errorCodes,
  imageManifest,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  startTestRegistry,
} from "./registry_helpers.ts";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

async function call(
  url: string,
  init: RequestInit & { path: string },
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const res = await fetch(`${url}${init.path}`, init);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

async function expectError(
  url: string,
  init: RequestInit & { path: string },
  status: number,
  code: string,
): Promise<unknown> {
  const res = await call(url, init);
  assert.equal(res.status, status, `${init.method ?? "GET"} ${init.path}: ${res.text}`);
  assert.deepEqual(errorCodes(res.json).slice(0, 1), [code], res.text);
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  return res.json;
}

Deno.test("registry API serves every endpoint and answers every error with the OCI body", async (t) => {
  const reg = await startTestRegistry();
  const url = reg.url;
  try {
    await t.step("GET /v2/ answers 200 {} with the API version header", async () => {
      const res = await call(url, { path: "/v2/" });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, {});
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
    });

    const blob = randomBytes(10);
    const blobDigest = digestOf(blob);

    await t.step("monolithic POST ?digest= stores a blob that HEAD and GET return", async () => {
      assert.equal(await pushBlob(url, "mono/a", blob), blobDigest);
      const head = await call(url, { path: `/v2/mono/a/blobs/${blobDigest}`, method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "10");
      assert.equal(head.headers.get("docker-content-digest"), blobDigest);
      const res = await fetch(`${url}/v2/mono/a/blobs/${blobDigest}`);
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), blob);
    });

    await t.step(
      "blob GET honours Range: a-b, a-, -n, clamped end, and 416 past the end",
      async () => {
        const path = `/v2/mono/a/blobs/${blobDigest}`;
        const cases: [string, number, number][] = [["bytes=2-5", 2, 5], ["bytes=4-", 4, 9], [
          "bytes=-3",
          7,
          9,
        ], [
          "bytes=8-5000",
          8,
          9,
        ]];
        for (const [range, start, end] of cases) {
          const res = await fetch(`${url}${path}`, { headers: { Range: range } });
          assert.equal(res.status, 206, range);
          assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/10`);
          assert.deepEqual(new Uint8Array(await res.arrayBuffer()), blob.slice(start, end + 1));
        }
        await expectError(url, { path, headers: { Range: "bytes=10-" } }, 416, "RANGE_INVALID");
        await expectError(url, { path, headers: { Range: "bytes=5-2" } }, 416, "RANGE_INVALID");
      },
    );

    await t.step(
      "POST then PUT with the body creates the blob (201, Location, digest)",
      async () => {
        const post = await call(url, { path: "/v2/mono/b/blobs/uploads/", method: "POST" });
        assert.equal(post.status, 202);
        const location = post.headers.get("location") ?? "";
        assert.match(location, /^\/v2\/mono\/b\/blobs\/uploads\/[0-9a-f-]+$/);
        assert.equal(post.headers.get("docker-upload-uuid"), location.split("/").at(-1));
        assert.equal(post.headers.get("range"), "0-0");
        const put = await call(url, {
          path: `${location}?digest=${blobDigest}`,
          method: "PUT",
          body: blob,
        });
        assert.equal(put.status, 201);
        assert.equal(put.headers.get("location"), `/v2/mono/b/blobs/${blobDigest}`);
        assert.equal(put.headers.get("docker-content-digest"), blobDigest);
      },
    );

    await t.step(
      "chunked PATCH with Content-Range, status, out-of-order 416, then PUT",
      async () => {
        const data = randomBytes(10);
        const post = await call(url, { path: "/v2/chunked/blobs/uploads/", method: "POST" });
        const loc = post.headers.get("location") ?? "";
        const first = await call(url, {
          path: loc,
          method: "PATCH",
          body: data.slice(0, 5),
          headers: { "Content-Range": "0-4", "Content-Type": "application/octet-stream" },
        });
        assert.equal(first.status, 202);
        assert.equal(first.headers.get("range"), "0-4");
        await expectError(
          url,
          {
            path: loc,
            method: "PATCH",
            body: data.slice(0, 5),
            headers: { "Content-Range": "0-4" },
          },
          416,
          "RANGE_INVALID",
        );
        const status = await call(url, { path: loc });
        assert.equal(status.status, 204);
        assert.equal(status.headers.get("range"), "0-4");
        assert.equal(status.headers.get("location"), loc);
        await expectError(
          url,
          {
            path: loc,
            method: "PATCH",
            body: data.slice(5, 8),
            headers: { "Content-Range": "5-9" },
          },
          400,
          "SIZE_INVALID",
        );
        const second = await call(url, {
          path: loc,
          method: "PATCH",
          body: data.slice(5),
          headers: { "Content-Range": "5-9" },
        });
        assert.equal(second.status, 202);
        assert.equal(second.headers.get("range"), "0-9");
        const put = await call(url, { path: `${loc}?digest=${digestOf(data)}`, method: "PUT" });
        assert.equal(put.status, 201);
        const got = await fetch(`${url}/v2/chunked/blobs/${digestOf(data)}`);
        assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
      },
    );

    await t.step(
      "streamed PATCH with chunked transfer encoding appends the whole body",
      async () => {
        const data = randomBytes(3 * 1024 * 1024 + 300_000); // spans several 1 MiB write buffers
        const post = await call(url, { path: "/v2/streamed/blobs/uploads/", method: "POST" });
        const loc = post.headers.get("location") ?? "";
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < data.byteLength; i += 70_000) c.enqueue(data.slice(i, i + 70_000));
            c.close();
          },
        });
        const patch = await call(url, { path: loc, method: "PATCH", body });
        assert.equal(patch.status, 202);
        assert.equal(patch.headers.get("range"), `0-${data.byteLength - 1}`);
        const put = await call(url, { path: `${loc}?digest=${digestOf(data)}`, method: "PUT" });
        assert.equal(put.status, 201);
        const got = await fetch(`${url}/v2/streamed/blobs/${digestOf(data)}`);
        assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
      },
    );

    await t.step(
      "streamed PATCH with a Content-Length appends the whole body",
      async () => {
        const data = randomBytes(3 * 1024 * 1024 + 300_000);
        const post = await call(url, { path: "/v2/sized/blobs/uploads/", method: "POST" });
        const loc = post.headers.get("location") ?? "";
        const patch = await call(url, { path: loc, method: "PATCH", body: data });
        assert.equal(patch.status, 202);
        assert.equal(patch.headers.get("range"), `0-${data.byteLength - 1}`);
        const put = await call(url, { path: `${loc}?digest=${digestOf(data)}`, method: "PUT" });
        assert.equal(put.status, 201);
        const got = await fetch(`${url}/v2/sized/blobs/${digestOf(data)}`);
        assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
      },
    );

    await t.step(
      "PUT with a wrong or missing digest is DIGEST_INVALID; a wrong one ends the session",
      async () => {
        const post = await call(url, { path: "/v2/bad/blobs/uploads/", method: "POST" });
        const loc = post.headers.get("location") ?? "";
        await expectError(url, { path: loc, method: "PUT", body: blob }, 400, "DIGEST_INVALID");
        await expectError(
          url,
          { path: `${loc}?digest=sha256:zz`, method: "PUT" },
          400,
          "DIGEST_INVALID",
        );
        await expectError(
          url,
          { path: `${loc}?digest=${digestOf("other")}`, method: "PUT", body: blob },
          400,
          "DIGEST_INVALID",
        );
        await expectError(url, { path: loc }, 404, "BLOB_UPLOAD_UNKNOWN");
        await expectError(
          url,
          {
            path: `/v2/bad/blobs/uploads/?digest=${digestOf("x")}`,
            method: "POST",
            body: "y",
          },
          400,
          "DIGEST_INVALID",
        );
        await expectError(url, { path: "/v2/bad/blobs/sha256:zz" }, 400, "DIGEST_INVALID");
      },
    );

    await t.step("DELETE cancels an upload; unknown uploads are BLOB_UPLOAD_UNKNOWN", async () => {
      const post = await call(url, { path: "/v2/cancel/blobs/uploads/", method: "POST" });
      const loc = post.headers.get("location") ?? "";
      assert.equal((await call(url, { path: loc, method: "DELETE" })).status, 204);
      await expectError(url, { path: loc }, 404, "BLOB_UPLOAD_UNKNOWN");
      await expectError(url, { path: loc, method: "PATCH", body: "x" }, 404, "BLOB_UPLOAD_UNKNOWN");
      await expectError(url, { path: loc, method: "DELETE" }, 404, "BLOB_UPLOAD_UNKNOWN");
      // A session belongs to its repository.
      const other = await call(url, { path: "/v2/cancel/blobs/uploads/", method: "POST" });
      const id = other.headers.get("docker-upload-uuid");
      await expectError(
        url,
        { path: `/v2/elsewhere/blobs/uploads/${id}` },
        404,
        "BLOB_UPLOAD_UNKNOWN",
      );
    });

    await t.step(
      "cross-repository mount answers 201, or falls back to a session (202)",
      async () => {
        const mount = await call(url, {
          path: `/v2/mounted/blobs/uploads/?mount=${blobDigest}&from=mono/a`,
          method: "POST",
        });
        assert.equal(mount.status, 201);
        assert.equal(mount.headers.get("location"), `/v2/mounted/blobs/${blobDigest}`);
        assert.equal(mount.headers.get("docker-content-digest"), blobDigest);
        assert.equal(
          (await call(url, { path: `/v2/mounted/blobs/${blobDigest}`, method: "HEAD" })).status,
          200,
        );
        const missing = await call(url, {
          path: `/v2/mounted2/blobs/uploads/?mount=${digestOf("nope")}&from=mono/a`,
          method: "POST",
        });
        assert.equal(missing.status, 202);
        const wrongFrom = await call(url, {
          path: `/v2/mounted2/blobs/uploads/?mount=${blobDigest}&from=streamed`,
          method: "POST",
        });
        assert.equal(wrongFrom.status, 202);
      },
    );

    await t.step("unknown blobs, and blobs of other repositories, are BLOB_UNKNOWN", async () => {
      await expectError(
        url,
        { path: `/v2/mono/a/blobs/${digestOf("absent")}` },
        404,
        "BLOB_UNKNOWN",
      );
      const head = await call(url, {
        path: `/v2/mono/a/blobs/${digestOf("absent")}`,
        method: "HEAD",
      });
      assert.equal(head.status, 404);
      await expectError(url, { path: `/v2/never/blobs/${blobDigest}` }, 404, "BLOB_UNKNOWN");
    });

    let manifestDigest = "";
    let manifestText = "";
    await t.step(
      "manifest PUT by tag, then GET and HEAD by tag and digest return the exact bytes",
      async () => {
        const config = new TextEncoder().encode('{"os":"linux"}');
        const configDigest = await pushBlob(url, "img", config);
        const layerDigest = await pushBlob(url, "img", blob);
        manifestText = imageManifest({ digest: configDigest, size: config.byteLength }, [{
          digest: layerDigest,
          size: 10,
        }]);
        manifestDigest = digestOf(manifestText);
        const put = await putManifest(url, "img/manifests/v1", manifestText, DOCKER_MANIFEST);
        assert.equal(put.status, 201);
        assert.equal(put.headers.get("location"), `/v2/img/manifests/${manifestDigest}`);
        assert.equal(put.headers.get("docker-content-digest"), manifestDigest);
        for (const ref of ["v1", manifestDigest]) {
          const get = await call(url, {
            path: `/v2/img/manifests/${ref}`,
            headers: { Accept: DOCKER_MANIFEST },
          });
          assert.equal(get.status, 200);
          assert.equal(get.text, manifestText);
          assert.equal(get.headers.get("content-type"), DOCKER_MANIFEST);
          assert.equal(get.headers.get("docker-content-digest"), manifestDigest);
          const head = await call(url, { path: `/v2/img/manifests/${ref}`, method: "HEAD" });
          assert.equal(head.status, 200);
          assert.equal(head.headers.get("content-length"), String(manifestText.length));
          assert.equal(head.headers.get("docker-content-digest"), manifestDigest);
        }
        const cached = await call(url, {
          path: "/v2/img/manifests/v1",
          headers: { "If-None-Match": `"${manifestDigest}"` },
        });
        assert.equal(cached.status, 304);
      },
    );

    await t.step(
      "content negotiation merges Accept lines and refuses types the client lacks",
      async () => {
        const config = new TextEncoder().encode('{"oci":true}');
        const configDigest = await pushBlob(url, "img", config);
        const oci = imageManifest(
          { digest: configDigest, size: config.byteLength },
          [],
          OCI_MANIFEST,
        );
        assert.equal((await putManifest(url, "img/manifests/oci", oci, OCI_MANIFEST)).status, 201);
        await expectError(
          url,
          { path: "/v2/img/manifests/oci", headers: { Accept: DOCKER_MANIFEST } },
          404,
          "MANIFEST_UNKNOWN",
        );
        const headers = new Headers();
        headers.append("Accept", DOCKER_MANIFEST);
        headers.append("Accept", `${OCI_MANIFEST};q=0.9, ${OCI_INDEX}`);
        const ok = await call(url, { path: "/v2/img/manifests/oci", headers });
        assert.equal(ok.status, 200);
        assert.equal(ok.headers.get("content-type"), OCI_MANIFEST);
        assert.equal(ok.text, oci);
      },
    );

    await t.step("indexes and manifest lists need their children in the repository", async () => {
      const child = {
        mediaType: DOCKER_MANIFEST,
        digest: manifestDigest,
        size: manifestText.length,
      };
      const list = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [child] });
      assert.equal((await putManifest(url, "img/manifests/list", list, DOCKER_LIST)).status, 201);
      const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] });
      assert.equal((await putManifest(url, "img/manifests/index", index, OCI_INDEX)).status, 201);
      const orphan = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ ...child, digest: digestOf("missing child") }],
      });
      const res = await putManifest(url, "img/manifests/orphan", orphan, OCI_INDEX);
      assert.equal(res.status, 400);
      assert.deepEqual(errorCodes(res.json), ["MANIFEST_BLOB_UNKNOWN"]);
    });

    await t.step(
      "a manifest with missing blobs gets one MANIFEST_BLOB_UNKNOWN per digest",
      async () => {
        const missing = [digestOf("m1"), digestOf("m2")];
        const text = imageManifest({ digest: missing[0] ?? "", size: 2 }, [{
          digest: missing[1] ?? "",
          size: 2,
        }]);
        const res = await putManifest(url, "img/manifests/broken", text, DOCKER_MANIFEST);
        assert.equal(res.status, 400);
        assert.deepEqual(errorCodes(res.json), ["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]);
        const details = (res.json as { errors: { detail: unknown }[] }).errors.map((e) => e.detail);
        assert.deepEqual(details.sort(), [...missing].sort());
        // A blob that exists in another repository does not count.
        const foreign = imageManifest({ digest: blobDigest, size: 10 }, []);
        const res2 = await putManifest(url, "stranger/manifests/x", foreign, DOCKER_MANIFEST);
        assert.deepEqual(errorCodes(res2.json), ["MANIFEST_BLOB_UNKNOWN"]);
      },
    );

    await t.step(
      "malformed manifests are MANIFEST_INVALID; digest and tag mistakes are named",
      async () => {
        const put = (ref: string, body: string, type = DOCKER_MANIFEST) => ({
          path: `/v2/img/manifests/${ref}`,
          method: "PUT",
          body,
          headers: { "Content-Type": type },
        });
        await expectError(url, put("x", "{not json"), 400, "MANIFEST_INVALID");
        await expectError(
          url,
          put("x", JSON.stringify({ schemaVersion: 1, mediaType: DOCKER_MANIFEST })),
          400,
          "MANIFEST_INVALID",
        );
        await expectError(url, put("x", manifestText, OCI_MANIFEST), 400, "MANIFEST_INVALID");
        await expectError(
          url,
          put("x", manifestText, "application/vnd.docker.distribution.manifest.v1+prettyjws"),
          400,
          "MANIFEST_INVALID",
        );
        await expectError(
          url,
          put(digestOf("something else"), manifestText),
          400,
          "DIGEST_INVALID",
        );
        await expectError(url, put("-bad", manifestText), 400, "TAG_INVALID");
        await expectError(url, put(`${"t".repeat(129)}`, manifestText), 400, "TAG_INVALID");
        await expectError(
          url,
          { ...put("ok", manifestText), path: "/v2/img/manifests/ok?tag=.bad" },
          400,
          "TAG_INVALID",
        );
        const huge = JSON.stringify({ schemaVersion: 2, pad: "x".repeat(4 * 1024 * 1024 + 10) });
        await expectError(url, put("big", huge), 413, "SIZE_INVALID");
        const streamed = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode(huge));
            c.close();
          },
        });
        await expectError(url, { ...put("big", ""), body: streamed }, 413, "SIZE_INVALID");
      },
    );

    await t.step("invalid names are NAME_INVALID, unknown repositories NAME_UNKNOWN", async () => {
      await expectError(url, { path: "/v2/Upper/tags/list" }, 400, "NAME_INVALID");
      await expectError(url, { path: "/v2/a__-b/manifests/latest" }, 400, "NAME_INVALID");
      await expectError(url, { path: `/v2/${"a".repeat(256)}/tags/list` }, 400, "NAME_INVALID");
      await expectError(url, { path: "/v2/nobody/tags/list" }, 404, "NAME_UNKNOWN");
      await expectError(url, { path: "/v2/img/manifests/nope" }, 404, "MANIFEST_UNKNOWN");
      await expectError(
        url,
        { path: `/v2/img/manifests/${digestOf("nope")}` },
        404,
        "MANIFEST_UNKNOWN",
      );
      await expectError(url, { path: "/v2/img/manifests/v1", method: "PATCH" }, 405, "UNSUPPORTED");
      await expectError(url, { path: "/v2/img/blobs/uploads/", method: "GET" }, 405, "UNSUPPORTED");
    });

    await t.step("tags/list is sorted and paginates with n, last and Link", async () => {
      for (const tag of ["c", "a", "d", "b"]) await pushImage(url, "paged", tag);
      const all = await call(url, { path: "/v2/paged/tags/list" });
      assert.deepEqual(all.json, { name: "paged", tags: ["a", "b", "c", "d"] });
      const first = await call(url, { path: "/v2/paged/tags/list?n=2" });
      assert.deepEqual(first.json, { name: "paged", tags: ["a", "b"] });
      assert.equal(first.headers.get("link"), '</v2/paged/tags/list?n=2&last=b>; rel="next"');
      const second = await call(url, { path: "/v2/paged/tags/list?n=2&last=b" });
      assert.deepEqual(second.json, { name: "paged", tags: ["c", "d"] });
      assert.equal(second.headers.get("link"), null);
      const none = await call(url, { path: "/v2/paged/tags/list?n=0" });
      assert.deepEqual(none.json, { name: "paged", tags: [] });
      assert.equal(none.headers.get("link"), null);
      await expectError(
        url,
        { path: "/v2/paged/tags/list?n=-1" },
        400,
        "PAGINATION_NUMBER_INVALID",
      );
    });

    await t.step("_catalog lists repositories sorted, with pagination", async () => {
      const all = await call(url, { path: "/v2/_catalog" });
      const repos = (all.json as { repositories: string[] }).repositories;
      assert.ok(repos.includes("img") && repos.includes("mono/a") && repos.includes("paged"));
      assert.deepEqual(repos, [...repos].sort());
      const page = await call(url, { path: "/v2/_catalog?n=2" });
      assert.deepEqual((page.json as { repositories: string[] }).repositories, repos.slice(0, 2));
      assert.equal(
        page.headers.get("link"),
        `</v2/_catalog?n=2&last=${encodeURIComponent(repos[1] ?? "")}>; rel="next"`,
      );
      const next = await call(url, {
        path: `/v2/_catalog?n=2&last=${encodeURIComponent(repos[1] ?? "")}`,
      });
      assert.deepEqual((next.json as { repositories: string[] }).repositories, repos.slice(2, 4));
    });

    await t.step(
      "referrers list manifests by subject, filter by artifactType, never 404",
      async () => {
        const empty = new TextEncoder().encode("{}");
        const emptyDigest = await pushBlob(url, "img", empty);
        const artifact = imageManifest({ digest: emptyDigest, size: 2 }, [], OCI_MANIFEST, {
          artifactType: "application/vnd.example.sbom",
          subject: {
            mediaType: DOCKER_MANIFEST,
            digest: manifestDigest,
            size: manifestText.length,
          },
          annotations: { "org.example": "yes" },
        });
        const put = await putManifest(
          url,
          `img/manifests/${digestOf(artifact)}`,
          artifact,
          OCI_MANIFEST,
        );
        assert.equal(put.status, 201);
        assert.equal(put.headers.get("oci-subject"), manifestDigest);
        const res = await call(url, { path: `/v2/img/referrers/${manifestDigest}` });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), OCI_INDEX);
        assert.deepEqual(res.json, {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{
            mediaType: OCI_MANIFEST,
            digest: digestOf(artifact),
            size: artifact.length,
            artifactType: "application/vnd.example.sbom",
            annotations: { "org.example": "yes" },
          }],
        });
        const filtered = await call(url, {
          path: `/v2/img/referrers/${manifestDigest}?artifactType=other`,
        });
        assert.deepEqual((filtered.json as { manifests: unknown[] }).manifests, []);
        assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
        const none = await call(url, { path: `/v2/img/referrers/${digestOf("no subject")}` });
        assert.equal(none.status, 200);
        assert.deepEqual((none.json as { manifests: unknown[] }).manifests, []);
        await expectError(url, { path: "/v2/img/referrers/sha256:zz" }, 400, "DIGEST_INVALID");
      },
    );

    await t.step(
      "DELETE of a tag removes only the tag; DELETE by digest removes every tag",
      async () => {
        const digest = await pushImage(url, "del", "one");
        const text = (await call(url, { path: `/v2/del/manifests/${digest}` })).text;
        assert.equal(
          (await putManifest(url, "del/manifests/two", text, DOCKER_MANIFEST)).status,
          201,
        );
        assert.equal(
          (await call(url, { path: "/v2/del/manifests/one", method: "DELETE" })).status,
          202,
        );
        await expectError(url, { path: "/v2/del/manifests/one" }, 404, "MANIFEST_UNKNOWN");
        assert.equal((await call(url, { path: `/v2/del/manifests/${digest}` })).status, 200);
        assert.equal(
          (await call(url, { path: `/v2/del/manifests/${digest}`, method: "DELETE" })).status,
          202,
        );
        await expectError(url, { path: "/v2/del/manifests/two" }, 404, "MANIFEST_UNKNOWN");
        await expectError(url, { path: `/v2/del/manifests/${digest}` }, 404, "MANIFEST_UNKNOWN");
        assert.deepEqual((await call(url, { path: "/v2/del/tags/list" })).json, {
          name: "del",
          tags: [],
        });
        await expectError(
          url,
          { path: `/v2/del/manifests/${digest}`, method: "DELETE" },
          404,
          "MANIFEST_UNKNOWN",
        );
      },
    );

    await t.step("DELETE of a blob unlinks it from the repository", async () => {
      assert.equal(
        (await call(url, { path: `/v2/mono/b/blobs/${blobDigest}`, method: "DELETE" })).status,
        202,
      );
      await expectError(url, { path: `/v2/mono/b/blobs/${blobDigest}` }, 404, "BLOB_UNKNOWN");
      assert.equal(
        (await call(url, { path: `/v2/mono/a/blobs/${blobDigest}`, method: "HEAD" })).status,
        200,
      );
      await expectError(
        url,
        { path: `/v2/mono/b/blobs/${blobDigest}`, method: "DELETE" },
        404,
        "BLOB_UNKNOWN",
      );
    });

    await t.step(
      "two clients pushing the same blob concurrently both succeed, one copy is kept",
      async () => {
        const data = randomBytes(3 * 1024 * 1024);
        const digest = digestOf(data);
        const pushOne = async (name: string) => {
          const post = await call(url, { path: `/v2/${name}/blobs/uploads/`, method: "POST" });
          const loc = post.headers.get("location") ?? "";
          const patch = await call(url, { path: loc, method: "PATCH", body: data });
          assert.equal(patch.status, 202);
          return (await call(url, { path: `${loc}?digest=${digest}`, method: "PUT" })).status;
        };
        assert.deepEqual(
          await Promise.all([pushOne("race/a"), pushOne("race/b"), pushOne("race/a")]),
          [201, 201, 201],
        );
        for (const name of ["race/a", "race/b"]) {
          const res = await fetch(`${url}/v2/${name}/blobs/${digest}`);
          assert.equal(digestOf(new Uint8Array(await res.arrayBuffer())), digest);
        }
        const hex = digest.slice(7);
        const dir = [...Deno.readDirSync(`${reg.workDir}/blobs/sha256/${hex.slice(0, 2)}`)].map((
          e,
        ) => e.name);
        assert.deepEqual(dir.filter((n) => n.startsWith(hex)), [hex]);
      },
    );

    await t.step("a TLS ClientHello on the plain HTTP port is refused promptly", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: reg.port });
      await conn.write(
        new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]),
      );
      const buffer = new Uint8Array(1024);
      const n = await Promise.race([
        conn.read(buffer),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000)),
      ]);
      conn.close();
      assert.notEqual(n, "timeout");
      if (typeof n === "number") {
        assert.match(new TextDecoder().decode(buffer.subarray(0, n)), /^HTTP\/1\.1 400/);
      }
    });
  } finally {
    await reg.close();
  }
});

Deno.test("serveRegistry() stops listening when its signal aborts", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-registry-signal-" });
  const controller = new AbortController();
  const reg = await serveRegistry({ workDir, port: 0, signal: controller.signal });
  try {
    assert.equal((await call(reg.url, { path: "/v2/" })).status, 200);
    controller.abort();
    await reg.close(); // idempotent: resolves once the abort-triggered close is done
    await assert.rejects(fetch(`${reg.url}/v2/`));
  } finally {
    await reg.close();
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("registry auth answers UNAUTHORIZED with a challenge, issues tokens, allows anonymous pull", async (t) => {
  const reg = await startTestRegistry({ auth: { users: { alice: "pw" }, anonymousPull: true } });
  const url = reg.url;
  const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
  try {
    await t.step("GET /v2/ without credentials is challenged with a Bearer realm", async () => {
      const res = await call(url, { path: "/v2/" });
      assert.equal(res.status, 401);
      assert.deepEqual(errorCodes(res.json), ["UNAUTHORIZED"]);
      assert.equal(
        res.headers.get("www-authenticate"),
        `Bearer realm="${url}/auth/token",service="tender-registry"`,
      );
    });
    let token = "";
    await t.step(
      "the token endpoint trades good Basic credentials for a token, refuses bad ones",
      async () => {
        const bad = await call(url, {
          path: "/auth/token",
          headers: { Authorization: basic("alice", "no") },
        });
        assert.equal(bad.status, 401);
        const good = await call(url, {
          path: "/auth/token?service=tender-registry",
          headers: { Authorization: basic("alice", "pw") },
        });
        assert.equal(good.status, 200);
        const body = good.json as { token: string; access_token: string; expires_in: number };
        assert.equal(body.token, body.access_token);
        assert.ok(body.expires_in >= 60);
        token = body.token;
        assert.equal(
          (await call(url, { path: "/v2/", headers: { Authorization: `Bearer ${token}` } })).status,
          200,
        );
      },
    );
    await t.step(
      "push needs a token: anonymous gets 401 with the scope, the token pushes",
      async () => {
        const anonymous = await call(url, { path: "/v2/auth/img/blobs/uploads/", method: "POST" });
        assert.equal(anonymous.status, 401);
        assert.deepEqual(errorCodes(anonymous.json), ["UNAUTHORIZED"]);
        assert.match(
          anonymous.headers.get("www-authenticate") ?? "",
          /scope="repository:auth\/img:pull,push"/,
        );
        const data = randomBytes(100);
        const path = `/v2/auth/img/blobs/uploads/?digest=${digestOf(data)}`;
        // A token carries the scopes it was issued for: the login token (no scope) cannot push.
        const unscoped = await call(url, {
          path,
          method: "POST",
          body: data,
          headers: { Authorization: `Bearer ${token}` },
        });
        assert.equal(unscoped.status, 401);
        assert.match(unscoped.headers.get("www-authenticate") ?? "", /insufficient_scope/);
        const scoped = await call(url, {
          path: "/auth/token?service=tender-registry&scope=repository:auth/img:pull,push",
          headers: { Authorization: basic("alice", "pw") },
        });
        const pushed = await call(url, {
          path,
          method: "POST",
          body: data,
          headers: { Authorization: `Bearer ${(scoped.json as { token: string }).token}` },
        });
        assert.equal(pushed.status, 201);
        // Basic credentials work directly too.
        const viaBasic = await call(url, {
          path: "/v2/auth/img/blobs/uploads/",
          method: "POST",
          headers: { Authorization: basic("alice", "pw") },
        });
        assert.equal(viaBasic.status, 202);
        // Anonymous pull is open.
        const pulled = await fetch(`${url}/v2/auth/img/blobs/${digestOf(data)}`);
        assert.deepEqual(new Uint8Array(await pulled.arrayBuffer()), data);
      },
    );
    await t.step(
      "a forged token and the operator GC endpoint without rights are refused",
      async () => {
        const forged = await call(url, {
          path: "/v2/auth/img/tags/list",
          headers: { Authorization: `Bearer ${token}x` },
        });
        assert.equal(forged.status, 401);
        assert.equal((await call(url, { path: "/admin/gc", method: "POST" })).status, 401);
        const gc = await call(url, {
          path: "/admin/gc?dryRun=true",
          method: "POST",
          headers: { Authorization: `Bearer ${token}` },
        });
        assert.equal(gc.status, 200);
      },
    );
  } finally {
    await reg.close();
  }
});

Deno.test("registry answers UNSUPPORTED for a sha512 upload digest", async () => {
  const reg = await startTestRegistry();
  try {
    const post = await call(reg.url, { path: "/v2/algo/blobs/uploads/", method: "POST" });
    const loc = post.headers.get("location") ?? "";
    await expectError(
      reg.url,
      { path: `${loc}?digest=sha512:${"a".repeat(128)}`, method: "PUT", body: "x" },
      405,
      "UNSUPPORTED",
    );
  } finally {
    await reg.close();
  }
});
