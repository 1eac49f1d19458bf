/** `images push`: a `docker save` archive or an OCI layout into the registry, without Docker. */
import { Api, normalizeUrl } from "../api.ts";
import type { Command } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import { readImage } from "../image_archive.ts";

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Splits `[host[:port]/]name[:tag]`; a first part with `.` or `:` (or `localhost`) is a host. */
export function parseReference(ref: string): { host?: string; name: string; tag: string } {
  const slash = ref.indexOf("/");
  const first = slash === -1 ? "" : ref.slice(0, slash);
  const hasHost = first !== "" &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  const rest = hasHost ? ref.slice(slash + 1) : ref;
  const colon = rest.lastIndexOf(":");
  const name = colon === -1 ? rest : rest.slice(0, colon);
  const tag = colon === -1 ? "latest" : rest.slice(colon + 1);
  if (!NAME.test(name)) {
    throw usageError(`invalid repository name "${name}": use lower-case parts like team/web`);
  }
  if (!TAG.test(tag)) throw usageError(`invalid tag "${tag}"`);
  return { ...(hasHost ? { host: first } : {}), name, tag };
}

function size(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function ok(api: Api, r: Response, what: string, expected: number[]): Promise<void> {
  if (!expected.includes(r.status)) throw api.failure(r, what, await r.text());
  await r.body?.cancel();
}

/** `images push`. */
export const imagesPush: Command = {
  name: "images push",
  usage: "images push ARCHIVE|LAYOUT[:REF] [HOST/]NAME[:TAG]",
  summary: "push a `docker save` archive or an OCI layout to the registry (no Docker needed)",
  async run(ctx) {
    const [source, target, ...extra] = ctx.args;
    if (source === undefined || target === undefined || extra.length > 0) {
      throw usageError("usage: tender images push ARCHIVE|LAYOUT[:REF] NAME[:TAG]");
    }
    const ref = parseReference(target);
    const registry = ref.host
      ? new Api("registry", normalizeUrl(ref.host), ctx.io)
      : ctx.api("registry");
    // `layout:ref` picks one image of several; a plain path that exists is taken whole.
    let path = source, pick: string | undefined;
    const colon = source.lastIndexOf(":");
    if (colon > 0) {
      const exists = await Deno.stat(source).then(() => true, () => false);
      if (!exists) path = source.slice(0, colon), pick = source.slice(colon + 1);
    }
    const plan = await readImage(path, pick);
    const pushed: { digest: string; size: number; pushed: boolean }[] = [];
    for (const blob of plan.blobs) {
      const blobPath = `/v2/${ref.name}/blobs/${blob.digest}`;
      const head = await registry.raw(blobPath, { method: "HEAD" });
      await head.body?.cancel();
      if (head.status === 200) {
        pushed.push({ digest: blob.digest, size: blob.bytes.length, pushed: false });
        if (!ctx.flags.json) ctx.io.out(`${blob.digest.slice(0, 19)}  exists\n`);
        continue;
      }
      const start = await registry.raw(`/v2/${ref.name}/blobs/uploads/`, { method: "POST" });
      await ok(registry, start, `/v2/${ref.name}/blobs/uploads/`, [202]);
      const location = start.headers.get("Location");
      if (!location) throw new CliError(`the registry at ${registry.base} gave no upload Location`);
      const url = new URL(location, `${registry.base}/`);
      url.searchParams.set("digest", blob.digest);
      const put = await registry.raw(`${url.pathname}${url.search}`, {
        method: "PUT",
        headers: { "Content-Type": "application/octet-stream" },
        body: blob.bytes.slice().buffer,
      });
      await ok(registry, put, url.pathname, [201]);
      pushed.push({ digest: blob.digest, size: blob.bytes.length, pushed: true });
      if (!ctx.flags.json) {
        ctx.io.out(`${blob.digest.slice(0, 19)}  pushed ${size(blob.bytes.length)}\n`);
      }
    }
    const manifestPath = `/v2/${ref.name}/manifests/${ref.tag}`;
    const put = await registry.raw(manifestPath, {
      method: "PUT",
      headers: { "Content-Type": plan.mediaType },
      body: plan.manifest.slice().buffer,
    });
    const digest = put.headers.get("Docker-Content-Digest") ?? "";
    await ok(registry, put, manifestPath, [201]);
    const host = registry.base.replace(/^https?:\/\//, "");
    ctx.output(
      () => `Pushed ${host}/${ref.name}:${ref.tag} from ${plan.source} (${digest})\n`,
      {
        repository: ref.name,
        tag: ref.tag,
        registry: registry.base,
        digest,
        mediaType: plan.mediaType,
        source: plan.source,
        blobs: pushed,
      },
    );
  },
};
