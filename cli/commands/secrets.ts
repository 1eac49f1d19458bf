/**
 * `secrets put PATH < VALUE`, `secrets ls` and `secrets rm PATH` on Marathon's
 * `/v2/secrets`. The value is read from standard input, never from argv, where `ps` would show it.
 */
import { z } from "zod";
import type { Command } from "../command.ts";
import { CliError, usageError } from "../errors.ts";
import { table } from "../table.ts";

/** Most bytes of a value read from stdin (Marathon's limit is 32 KiB). */
const MAX_VALUE = 32 * 1024;

const SecretsSchema = z.object({
  secrets: z.array(z.object({ path: z.string(), updatedAt: z.string() })),
});

function secretUrl(path: string): string {
  return `/v2/secrets/${path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/")}`;
}

const put: Command = {
  name: "secrets put",
  usage: "secrets put PATH < VALUE",
  summary: "store the value read from stdin as Marathon's secret PATH (as /prod/db)",
  async run(ctx) {
    const [path, ...rest] = ctx.args;
    if (path === undefined || rest.length > 0) {
      throw usageError("usage: tender secrets put PATH < VALUE (the value is read from stdin)");
    }
    if (!ctx.io.stdin) throw new CliError("secrets put: no standard input to read the value from");
    // One line from a terminal or echo: its trailing line feed is not part of the value.
    const value = (await ctx.io.stdin(MAX_VALUE + 2)).replace(/\r?\n$/, "");
    if (value === "") throw usageError("secrets put: the value on standard input is empty");
    if (new TextEncoder().encode(value).length > MAX_VALUE) {
      throw usageError(`secrets put: the value is over ${MAX_VALUE} bytes`);
    }
    const marathon = ctx.api("marathon");
    const url = secretUrl(path);
    const r = await marathon.raw(url, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ value }),
    });
    const text = await r.text();
    if (!r.ok) throw marathon.failure(r, url, text);
    const stored = z.object({ path: z.string() }).parse(JSON.parse(text)).path;
    const verb = r.status === 201 ? "Created" : "Replaced";
    ctx.output(() => `${verb} secret ${stored}.\n`, { path: stored, created: r.status === 201 });
  },
};

const list: Command = {
  name: "secrets ls",
  usage: "secrets ls",
  summary: "the paths of Marathon's secrets (never their values)",
  async run(ctx) {
    if (ctx.args.length > 0) throw usageError("`tender secrets ls` takes no arguments");
    const { secrets } = await ctx.api("marathon").json("/v2/secrets", SecretsSchema);
    ctx.output(
      () =>
        secrets.length === 0
          ? "No secrets.\n"
          : table(["path", "updated"], secrets.map((s) => [s.path, s.updatedAt])),
      secrets,
    );
  },
};

const rm: Command = {
  name: "secrets rm",
  usage: "secrets rm PATH",
  summary: "delete Marathon's secret PATH (refused while an app uses it)",
  async run(ctx) {
    const [path, ...rest] = ctx.args;
    if (path === undefined || rest.length > 0) throw usageError("usage: tender secrets rm PATH");
    const marathon = ctx.api("marathon");
    const url = secretUrl(path);
    const r = await marathon.raw(url, { method: "DELETE" });
    const text = await r.text();
    if (!r.ok) throw marathon.failure(r, url, text);
    ctx.output(() => `Deleted secret ${path}.\n`, { deleted: path });
  },
};

/** The secret commands. */
export const secretCommands: Command[] = [put, list, rm];
