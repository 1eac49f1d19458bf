/** Manifest media types, their zod schemas, and the pure parse that turns pushed bytes into facts. */
import { z } from "zod";
import { RegistryError } from "./errors.ts";
import { checkDigest } from "./names.ts";

/** The manifest media types this registry stores. */
export const MEDIA_TYPES = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
} as const;

/** Largest manifest body accepted (distribution's `maxManifestBodySize`). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const DigestSchema = z.string().refine((d) => checkDigest(d) !== "invalid", "malformed digest");

/** An OCI content descriptor. */
export const DescriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: DigestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string()).optional(),
  artifactType: z.string().optional(),
  platform: z.record(z.unknown()).optional(),
}).passthrough();
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** Docker schema 2 manifest and OCI image manifest. */
export const ImageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string()).optional(),
}).passthrough();

/** Docker manifest list and OCI image index. */
export const IndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string()).optional(),
}).passthrough();

/** What the registry needs to know about a pushed manifest. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must exist in the repository (config and layers, minus foreign ones). */
  blobs: string[];
  /** Manifests that must exist in the repository (index and list children). */
  children: string[];
  subject?: string;
  /** The referrers API's artifactType: the manifest's own, else its config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const IMAGE_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.ociManifest,
]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex]);

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError("MANIFEST_INVALID", message, detail);
}

function mediaTypeOf(json: Record<string, unknown>, contentType: string | undefined): string {
  const declared = typeof json.mediaType === "string" ? json.mediaType : undefined;
  const sent = contentType?.split(";")[0]?.trim().toLowerCase();
  const header = sent && sent !== "application/json" && sent !== "application/octet-stream"
    ? sent
    : undefined;
  if (header && declared && header !== declared) {
    throw invalid(`Manifest mediaType "${declared}" does not match Content-Type "${header}"`);
  }
  const type = header ?? declared ??
    ("manifests" in json ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (!IMAGE_TYPES.has(type) && !INDEX_TYPES.has(type)) {
    throw invalid(`Manifest media type "${type}" is not supported`);
  }
  return type;
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** Parses and validates manifest bytes as pushed with `contentType`; throws MANIFEST_INVALID. */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw invalid(`Manifest is not valid JSON: ${error instanceof Error ? error.message : error}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalid("Manifest is not a JSON object");
  }
  const mediaType = mediaTypeOf(json as Record<string, unknown>, contentType);
  if (IMAGE_TYPES.has(mediaType)) {
    const parsed = ImageManifestSchema.safeParse(json);
    if (!parsed.success) throw invalid(`Invalid image manifest: ${issues(parsed.error)}`);
    const m = parsed.data;
    const blobs = [m.config, ...m.layers].filter((d) => !d.urls?.length).map((d) => d.digest);
    return {
      mediaType,
      blobs: [...new Set(blobs)],
      children: [],
      subject: m.subject?.digest,
      artifactType: m.artifactType ?? m.config.mediaType,
      annotations: m.annotations,
    };
  }
  const parsed = IndexSchema.safeParse(json);
  if (!parsed.success) throw invalid(`Invalid index: ${issues(parsed.error)}`);
  const m = parsed.data;
  return {
    mediaType,
    blobs: [],
    children: [...new Set(m.manifests.map((d) => d.digest))],
    subject: m.subject?.digest,
    artifactType: m.artifactType,
    annotations: m.annotations,
  };
}

/** Media types listed in `Accept` headers: every header line merged, split on commas, q-params dropped. */
export function acceptedTypes(headers: string[]): Set<string> {
  const types = new Set<string>();
  for (const line of headers) {
    for (const part of line.split(",")) {
      const type = part.split(";")[0]?.trim().toLowerCase();
      if (type) types.add(type);
    }
  }
  return types;
}

/** Whether a stored manifest may be served to a client that sent these Accept types. */
export function isAcceptable(mediaType: string, accepted: ReadonlySet<string>): boolean {
  // No Accept, or a wildcard: serve as stored. Otherwise the stored type must be listed, except
  // that Docker manifests are the historical default and always served.
  if (accepted.size === 0 || accepted.has("*/*")) return true;
  if (accepted.has(mediaType)) return true;
  return mediaType === MEDIA_TYPES.dockerManifest;
}
