/**
 * Reads an image from a `docker save` archive or an OCI image layout (a directory, or a tar
 * of one) into what a registry push needs: blobs by digest and one manifest.
 */
import { CliError } from "./errors.ts";

/** A file tree to read from: a directory or an unpacked tar. */
export interface ImageFiles {
  read(path: string): Promise<Uint8Array | undefined>;
}

/** One blob to push. */
export interface PlanBlob {
  digest: string;
  bytes: Uint8Array;
}

/** What to push: blobs first, then the manifest. */
export interface PushPlan {
  blobs: PlanBlob[];
  manifest: Uint8Array;
  mediaType: string;
  /** Where it came from, e.g. `docker save (tender-busybox:latest)`. */
  source: string;
}

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** `sha256:<hex>` of the bytes. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice().buffer));
  return `sha256:${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function octal(field: Uint8Array): number {
  if ((field[0]! & 0x80) !== 0) {
    // base-256, for sizes past 8 GiB
    let n = field[0]! & 0x7f;
    for (const b of field.subarray(1)) n = n * 256 + b;
    return n;
  }
  const text = new TextDecoder().decode(field).replace(/\0.*$/s, "").trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function cstring(field: Uint8Array): string {
  const end = field.indexOf(0);
  return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

function clean(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/^\/+/, "");
}

/** The regular files of a tar archive (ustar, pax and GNU long names), by path. */
export function readTar(data: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]!);
    const magic = cstring(header.subarray(257, 263));
    const prefix = magic.startsWith("ustar") ? cstring(header.subarray(345, 500)) : "";
    const name = cstring(header.subarray(0, 100));
    const body = data.subarray(offset + 512, offset + 512 + size);
    if (body.length < size) throw new CliError("the image archive is truncated");
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = cstring(body);
      continue;
    }
    if (type === "x") {
      for (const m of new TextDecoder().decode(body).matchAll(/\d+ path=([^\n]*)\n/g)) {
        paxPath = m[1];
      }
      continue;
    }
    if (type === "g") continue;
    const path = clean(paxPath ?? longName ?? (prefix ? `${prefix}/${name}` : name));
    longName = paxPath = undefined;
    if (type === "0" || type === "\0") files.set(path, body);
  }
  return files;
}

/** Files from a directory. */
export function dirFiles(dir: string): ImageFiles {
  return {
    async read(path) {
      try {
        return await Deno.readFile(`${dir}/${path}`);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
    },
  };
}

/** Files from a tar archive held in memory. */
export function tarFiles(data: Uint8Array): ImageFiles {
  const files = readTar(data);
  return { read: (path) => Promise.resolve(files.get(clean(path))) };
}

async function json(files: ImageFiles, path: string): Promise<unknown> {
  const bytes = await files.read(path);
  if (!bytes) throw new CliError(`the image has no ${path}`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new CliError(`${path} in the image is not JSON`);
  }
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice().buffer]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : {};
}

/** A `docker save` archive: config and layers from manifest.json; layers gzipped. */
async function dockerSavePlan(files: ImageFiles, pick?: string): Promise<PushPlan> {
  const list = await json(files, "manifest.json");
  if (!Array.isArray(list) || list.length === 0) throw new CliError("manifest.json lists no image");
  const entries = list.map(record);
  const entry = pick === undefined
    ? entries[0]!
    : entries.find((e) => Array.isArray(e.RepoTags) && e.RepoTags.includes(pick));
  if (!entry) throw new CliError(`the archive has no image tagged "${pick}"`);
  const configPath = typeof entry.Config === "string" ? entry.Config : undefined;
  const layers = Array.isArray(entry.Layers) ? entry.Layers.map(String) : [];
  if (!configPath) throw new CliError("manifest.json names no Config");
  const config = await files.read(configPath);
  if (!config) throw new CliError(`the archive lacks ${configPath}`);
  const blobs: PlanBlob[] = [{ digest: await sha256(config), bytes: config }];
  const descriptors = [];
  for (const path of layers) {
    const raw = await files.read(path);
    if (!raw) throw new CliError(`the archive lacks the layer ${path}`);
    const gz = await gzip(raw);
    const digest = await sha256(gz);
    blobs.push({ digest, bytes: gz });
    descriptors.push({ mediaType: DOCKER_LAYER_GZIP, size: gz.length, digest });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: config.length, digest: blobs[0]!.digest },
    layers: descriptors,
  };
  const tags = Array.isArray(entry.RepoTags) ? entry.RepoTags.join(", ") : "untagged";
  return {
    blobs,
    manifest: new TextEncoder().encode(JSON.stringify(manifest)),
    mediaType: DOCKER_MANIFEST,
    source: `docker save (${tags})`,
  };
}

async function blob(files: ImageFiles, digest: string): Promise<Uint8Array> {
  const [algorithm, hex] = digest.split(":");
  const bytes = await files.read(`blobs/${algorithm}/${hex}`);
  if (!bytes) throw new CliError(`the OCI layout lacks blob ${digest}`);
  return bytes;
}

/** An OCI image layout: the manifest named `pick` (or the only one), pushed as it is. */
async function ociPlan(files: ImageFiles, pick?: string): Promise<PushPlan> {
  const index = record(await json(files, "index.json"));
  let descriptors = (Array.isArray(index.manifests) ? index.manifests : []).map(record);
  if (pick !== undefined) {
    descriptors = descriptors.filter((d) =>
      record(d.annotations)["org.opencontainers.image.ref.name"] === pick ||
      record(d.annotations)["io.containerd.image.name"] === pick
    );
  }
  let chosen = descriptors[0];
  if (!chosen || descriptors.length > 1) {
    throw new CliError(
      chosen
        ? "the OCI layout holds several images: name one after the path, as PATH:REF"
        : `the OCI layout has no image${pick ? ` "${pick}"` : ""}`,
    );
  }
  let manifestBytes = await blob(files, String(chosen.digest));
  let mediaType = String(chosen.mediaType ?? OCI_MANIFEST);
  // A multi-platform index: push the linux/amd64 image (or the only one present here).
  if (mediaType === OCI_INDEX || mediaType.endsWith("manifest.list.v2+json")) {
    const children = record(JSON.parse(new TextDecoder().decode(manifestBytes))).manifests;
    const list = (Array.isArray(children) ? children : []).map(record);
    const present = [];
    for (const c of list) {
      if (await files.read(`blobs/${String(c.digest).replace(":", "/")}`)) present.push(c);
    }
    chosen = present.find((c) => record(c.platform).architecture === "amd64") ?? present[0];
    if (!chosen) throw new CliError("the OCI index references no manifest in this layout");
    manifestBytes = await blob(files, String(chosen.digest));
    mediaType = String(chosen.mediaType ?? OCI_MANIFEST);
  }
  const manifest = record(JSON.parse(new TextDecoder().decode(manifestBytes)));
  const refs = [
    record(manifest.config),
    ...(Array.isArray(manifest.layers) ? manifest.layers : []).map(record),
  ];
  const blobs: PlanBlob[] = [];
  for (const ref of refs) {
    const digest = String(ref.digest);
    blobs.push({ digest, bytes: await blob(files, digest) });
  }
  return { blobs, manifest: manifestBytes, mediaType, source: "OCI image layout" };
}

/** Reads `path` (an archive file or a layout directory); `pick` names one image in it. */
export async function readImage(path: string, pick?: string): Promise<PushPlan> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new CliError(
      `no file or directory "${path}": give a \`docker save\` archive or an OCI layout`,
    );
  }
  const files = info.isDirectory ? dirFiles(path) : tarFiles(await Deno.readFile(path));
  if (await files.read("index.json") && await files.read("oci-layout")) {
    return await ociPlan(files, pick);
  }
  if (await files.read("manifest.json")) return await dockerSavePlan(files, pick);
  throw new CliError(
    `"${path}" is neither a \`docker save\` archive (manifest.json) nor an OCI layout (index.json, oci-layout)`,
  );
}
