/** Shared helpers of the registry tests: a temporary registry, blob and manifest pushes. */
import { createHash } from "node:crypto";
import { type RegistryOptions, type RunningRegistry, serveRegistry } from "../registry/mod.ts";

/** A registry on a free loopback port with its own temporary work dir. */
export interface TestRegistry extends RunningRegistry {
  workDir: string;
  /** Host and port, for image references (`127.0.0.1:PORT`). */
  host: string;
}

/** Starts a registry in a fresh temporary directory; `close()` also deletes the directory. */
export async function startTestRegistry(
  options: Partial<RegistryOptions> = {},
): Promise<TestRegistry> {
  const workDir = options.workDir ?? await Deno.makeTempDir({ prefix: "tender-registry-" });
  const running = await serveRegistry({ ...options, workDir, hostname: "127.0.0.1", port: 0 });
  return {
    ...running,
    workDir,
    host: `127.0.0.1:${running.port}`,
    close: async () => {
      await running.close();
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    },
  };
}

/** `sha256:<hex>` of some bytes. */
export function digestOf(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Random bytes (any length). */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(i + 65536, n)));
  }
  return out;
}

/** Uploads a blob with a monolithic POST ?digest= and returns its digest. */
export async function pushBlob(
  url: string,
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const digest = digestOf(bytes);
  const res = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`blob push answered ${res.status}`);
  return digest;
}

/** The JSON text of an image manifest over the given config and layers. */
export function imageManifest(
  config: { digest: string; size: number },
  layers: { digest: string; size: number }[],
  mediaType = "application/vnd.docker.distribution.manifest.v2+json",
  extra: Record<string, unknown> = {},
): string {
  const oci = mediaType.includes("oci");
  return JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: oci
        ? "application/vnd.oci.image.config.v1+json"
        : "application/vnd.docker.container.image.v1+json",
      ...config,
    },
    layers: layers.map((l) => ({
      mediaType: oci
        ? "application/vnd.oci.image.layer.v1.tar+gzip"
        : "application/vnd.docker.image.rootfs.diff.tar.gzip",
      ...l,
    })),
    ...extra,
  });
}

/** PUTs a manifest; returns the response (body consumed). */
export async function putManifest(
  url: string,
  path: string,
  body: string,
  mediaType: string,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await fetch(`${url}/v2/${path}`, {
    method: "PUT",
    body,
    headers: { "Content-Type": mediaType },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

/** Pushes a config and one layer of random bytes plus a manifest; returns the manifest digest. */
export async function pushImage(
  url: string,
  name: string,
  tag: string,
  layerBytes = 1024,
): Promise<string> {
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: "amd64", os: "linux", tag }),
  );
  const layer = randomBytes(layerBytes);
  const configDigest = await pushBlob(url, name, config);
  const layerDigest = await pushBlob(url, name, layer);
  const manifest = imageManifest({ digest: configDigest, size: config.byteLength }, [{
    digest: layerDigest,
    size: layer.byteLength,
  }]);
  const res = await putManifest(
    url,
    `${name}/manifests/${tag}`,
    manifest,
    "application/vnd.docker.distribution.manifest.v2+json",
  );
  if (res.status !== 201) {
    throw new Error(`manifest push answered ${res.status}: ${JSON.stringify(res.json)}`);
  }
  return digestOf(manifest);
}

/** Runs a command; returns its exit code and output. */
export async function run(
  cmd: string[],
  input?: Uint8Array,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0] ?? "", {
    args: cmd.slice(1),
    env,
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input) {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs a command and throws with its output when it fails. */
export async function mustRun(
  cmd: string[],
  input?: Uint8Array,
  env?: Record<string, string>,
): Promise<string> {
  const r = await run(cmd, input, env);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Whether a Docker daemon answers on its socket. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    return (await run(["docker", "version", "--format", "{{.Server.Version}}"])).code === 0;
  } catch {
    return false;
  }
}

/** The OCI error codes of an error body. */
export function errorCodes(json: unknown): string[] {
  if (
    typeof json !== "object" || json === null || !("errors" in json) || !Array.isArray(json.errors)
  ) return [];
  return json.errors.map((e: unknown) =>
    typeof e === "object" && e !== null && "code" in e ? String(e.code) : "?"
  );
}
