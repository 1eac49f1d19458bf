/** `images list` and `registry gc`, against the registry's Distribution API and admin routes. */
import { z } from "zod";
import type { Api } from "../api.ts";
import type { Command } from "../command.ts";
import { usageError } from "../errors.ts";
import { table } from "../table.ts";
import { imagesPush } from "./images_push.ts";

const CatalogSchema = z.object({ repositories: z.array(z.string()).nullable().default([]) });
const TagsSchema = z.object({ name: z.string(), tags: z.array(z.string()).nullable().default([]) });
const GcReportSchema = z.object({
  blobsMarked: z.number(),
  blobsDeleted: z.number(),
  bytesFreed: z.number(),
  uploadsDeleted: z.number(),
});

/** Follows the `Link: <...>; rel="next"` pages of a list endpoint. */
async function pages<T>(
  api: Api,
  first: string,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): Promise<T[]> {
  const out: T[] = [];
  let path: string | undefined = first;
  while (path !== undefined) {
    const r = await api.raw(path);
    const text = await r.text();
    if (!r.ok) throw api.failure(r, path, text);
    out.push(schema.parse(JSON.parse(text)));
    const next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get("Link") ?? "")?.[1];
    path = next === undefined ? undefined : next.replace(/^https?:\/\/[^/]+/, "");
    if (out.length > 10_000) break;
  }
  return out;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) v /= 1024, i++;
  return `${v.toFixed(1)} ${units[i]}`;
}

const imagesList: Command = {
  name: "images list",
  usage: "images list [REPOSITORY...]",
  summary: "repositories in the registry and their tags",
  async run(ctx) {
    const registry = ctx.api("registry");
    const names = ctx.args.length > 0
      ? ctx.args
      : (await pages(registry, "/v2/_catalog?n=1000", CatalogSchema)).flatMap((p) =>
        p.repositories ?? []
      );
    const rows: { repository: string; tags: string[] }[] = [];
    for (const name of names) {
      const tags = (await pages(registry, `/v2/${name}/tags/list?n=1000`, TagsSchema))
        .flatMap((p) => p.tags ?? []);
      rows.push({ repository: name, tags: tags.sort() });
    }
    const host = registry.base.replace(/^https?:\/\//, "");
    ctx.output(
      () =>
        rows.length === 0
          ? `No images in the registry at ${registry.base}. Push one with \`docker push ${host}/NAME:TAG\`.\n`
          : table(["repository", "tags"], rows.map((r) => [r.repository, r.tags.join(", ")])),
      rows,
    );
  },
};

const registryGc: Command = {
  name: "registry gc",
  usage: "registry gc [--dry-run]",
  summary: "delete blobs no manifest references and stale uploads (--dry-run: only count)",
  async run(ctx) {
    if (ctx.args.length > 0) throw usageError("`tender registry gc` takes no arguments");
    const registry = ctx.api("registry");
    const report = await registry.json(
      `/admin/gc${ctx.flags.dryRun ? "?dryRun=true" : ""}`,
      GcReportSchema,
      { method: "POST" },
    );
    const verb = ctx.flags.dryRun ? "Would delete" : "Deleted";
    ctx.output(
      () =>
        `${verb} ${report.blobsDeleted} blob(s) (${
          bytes(report.bytesFreed)
        }) and ${report.uploadsDeleted} stale upload(s); ${report.blobsMarked} blob(s) in use.\n`,
      { dryRun: ctx.flags.dryRun, ...report },
    );
  },
};

/** The registry commands. */
export const registryCommands: Command[] = [imagesList, imagesPush, registryGc];
