import assert from "node:assert/strict";
import { RegistryError } from "./errors.ts";
import { acceptedTypes, isAcceptable, MEDIA_TYPES, parseManifest } from "./manifests.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const d = (c: string) => `sha256:${c.repeat(64)}`;

Deno.test("parseManifest() lists config and layers, skipping foreign layers", () => {
  const parsed = parseManifest(
    enc({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        digest: d("a"),
        size: 1,
      },
      layers: [
        { mediaType: "l", digest: d("b"), size: 2 },
        { mediaType: "l", digest: d("c"), size: 3, urls: ["https://example.com/x"] },
      ],
    }),
    MEDIA_TYPES.dockerManifest,
  );
  assert.deepEqual(parsed.blobs, [d("a"), d("b")]);
  assert.equal(parsed.artifactType, "application/vnd.docker.container.image.v1+json");
});

Deno.test("parseManifest() reads an OCI index's children and subject", () => {
  const parsed = parseManifest(
    enc({
      schemaVersion: 2,
      manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d("d"), size: 9 }],
      subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d("e"), size: 9 },
    }),
    MEDIA_TYPES.ociIndex,
  );
  assert.deepEqual(parsed.children, [d("d")]);
  assert.equal(parsed.subject, d("e"));
});

Deno.test("parseManifest() rejects bad JSON, schema version, media type mismatch, bad digests", () => {
  const cases: [Uint8Array, string | undefined][] = [
    [new TextEncoder().encode("{"), MEDIA_TYPES.ociManifest],
    [enc({ schemaVersion: 1 }), MEDIA_TYPES.ociManifest],
    [
      enc({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }),
      MEDIA_TYPES.dockerList,
    ],
    [
      enc({ schemaVersion: 2, manifests: [{ mediaType: "x", digest: "nope", size: 1 }] }),
      MEDIA_TYPES.ociIndex,
    ],
    [
      enc({ schemaVersion: 2, layers: [] }),
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ],
  ];
  for (const [bytes, type] of cases) {
    assert.throws(
      () => parseManifest(bytes, type),
      (e) => e instanceof RegistryError && e.ociCode === "MANIFEST_INVALID",
    );
  }
});

Deno.test("acceptedTypes() merges header lines and drops parameters; isAcceptable() applies them", () => {
  const types = acceptedTypes([
    `${MEDIA_TYPES.ociManifest};q=0.5, ${MEDIA_TYPES.dockerList}`,
    "application/json",
  ]);
  assert.deepEqual([...types], [
    MEDIA_TYPES.ociManifest,
    MEDIA_TYPES.dockerList,
    "application/json",
  ]);
  assert.ok(isAcceptable(MEDIA_TYPES.ociManifest, types));
  assert.equal(isAcceptable(MEDIA_TYPES.ociIndex, types), false);
  assert.ok(isAcceptable(MEDIA_TYPES.ociIndex, new Set()));
});
