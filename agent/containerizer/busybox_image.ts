/**
 * Tiny OCI images built from Debian's busybox-static, with nothing pulled: the pod sandbox
 * ("pause") image the containerd containerizer provides when containerd's own cannot be pulled,
 * and the shell image containerd tests run (the twin of scripts/build-test-image.sh). An image
 * is one uncompressed layer; `importImage` hands it to containerd with `ctr images import`.
 */
import { createHash } from "node:crypto";

/** What the image is for. */
export type BusyboxImageKind =
  /** `/bin/busybox` only; its entrypoint sleeps for ever (a pod sandbox's first process). */
  | "pause"
  /** `/bin/busybox` with one symlink per applet, /tmp, /etc/passwd, /www; default CMD `sh`. */
  | "shell";

/** One built image: its three blobs and their digests. */
export interface ImageBlobs {
  layer: Uint8Array<ArrayBuffer>;
  layerDigest: string;
  config: Uint8Array<ArrayBuffer>;
  configDigest: string;
  manifest: Uint8Array<ArrayBuffer>;
  manifestDigest: string;
}

/** The OCI media types of the blobs. */
export const MEDIA_TYPES = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

/** The default busybox binary (Debian's busybox-static). */
export const BUSYBOX = "/bin/busybox";

/** Builds the image's blobs from `busybox` (default /bin/busybox). Deterministic for one binary. */
export async function buildBusyboxImage(
  kind: BusyboxImageKind,
  busybox = BUSYBOX,
): Promise<ImageBlobs> {
  try {
    await Deno.stat(busybox);
  } catch {
    throw new Error(
      `Cannot build the ${kind} image: ${busybox} not found (install busybox-static)`,
    );
  }
  const root = await Deno.makeTempDir({ prefix: "tender-image-" });
  try {
    await Deno.mkdir(`${root}/bin`);
    await Deno.copyFile(busybox, `${root}/bin/busybox`);
    await Deno.chmod(`${root}/bin/busybox`, 0o755);
    if (kind === "shell") await shellFiles(root, busybox);
    const layer = await tarOf(root);
    const layerDigest = digestOf(layer);
    const arch = ({ x86_64: "amd64", aarch64: "arm64" } as const)[Deno.build.arch];
    const config = encode({
      architecture: arch,
      os: "linux",
      config: kind === "pause"
        ? { Entrypoint: ["/bin/busybox", "sleep", "2147483647"], Env: ["PATH=/bin"] }
        : { Cmd: ["sh"], Env: ["PATH=/bin"], Labels: { "tender.image": "busybox-shell" } },
      rootfs: { type: "layers", diff_ids: [layerDigest] },
    });
    const configDigest = digestOf(config);
    const manifest = encode({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: configDigest, size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.layer, digest: layerDigest, size: layer.length }],
    });
    return {
      layer,
      layerDigest,
      config,
      configDigest,
      manifest,
      manifestDigest: digestOf(manifest),
    };
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => undefined);
  }
}

/**
 * Imports the image into containerd's `k8s.io` namespace (the one CRI reads) under `name`
 * (a full reference such as `registry.k8s.io/pause:3.6`), through `ctr images import` of an
 * OCI image layout. Rejects with ctr's own message.
 */
export async function importImage(
  socket: string,
  name: string,
  blobs: ImageBlobs,
  ctr = "ctr",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tender-oci-" });
  try {
    const layout = `${dir}/layout`;
    await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
    const write = (digest: string, bytes: Uint8Array) =>
      Deno.writeFile(`${layout}/blobs/sha256/${digest.slice("sha256:".length)}`, bytes);
    await write(blobs.layerDigest, blobs.layer);
    await write(blobs.configDigest, blobs.config);
    await write(blobs.manifestDigest, blobs.manifest);
    await Deno.writeTextFile(`${layout}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await Deno.writeTextFile(
      `${layout}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{
          mediaType: MEDIA_TYPES.manifest,
          digest: blobs.manifestDigest,
          size: blobs.manifest.length,
          annotations: { "io.containerd.image.name": name },
        }],
      }),
    );
    await run("tar", ["-C", layout, "-cf", `${dir}/image.tar`, "."]);
    await run(ctr, ["--address", socket, "-n", "k8s.io", "images", "import", `${dir}/image.tar`]);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
}

/** `sha256:<hex>` of some bytes. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function shellFiles(root: string, busybox: string): Promise<void> {
  for (const dir of ["tmp", "etc", "www", "root"]) await Deno.mkdir(`${root}/${dir}`);
  await Deno.chmod(`${root}/tmp`, 0o1777);
  const list = await run(busybox, ["--list"]);
  for (const applet of list.split("\n").map((s) => s.trim()).filter(Boolean)) {
    if (applet !== "busybox") await Deno.symlink("busybox", `${root}/bin/${applet}`);
  }
  await Deno.writeTextFile(
    `${root}/etc/passwd`,
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\nnogroup:x:65534:\n");
  await Deno.writeTextFile(`${root}/www/index.html`, "ok\n");
}

/** A reproducible tar of a directory (sorted, epoch times, root owner). */
async function tarOf(root: string): Promise<Uint8Array<ArrayBuffer>> {
  const out = await new Deno.Command("tar", {
    args: [
      "-C",
      root,
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "-cf",
      "-",
      ".",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`tar failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  return new Uint8Array(out.stdout);
}

async function run(cmd: string, args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`Cannot run ${cmd}: ${e instanceof Error ? e.message : e}`);
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.slice(-3).join(" ")} failed: ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function encode(value: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(value));
}
