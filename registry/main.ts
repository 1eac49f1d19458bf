/**
 * `deno task registry [serve] [--host 127.0.0.1] [--port 5000] [--work-dir DIR]
 *   [--credentials FILE] [--acls FILE] [--tls-cert FILE --tls-key FILE]
 *   [--auth-htpasswd FILE] [--auth-token-file FILE] [--anonymous-pull] [--auth-scheme basic|bearer]
 *   [--upload-max-age-seconds N (3600)]`
 *   (static tokens, one per line, come from --auth-token-file or TENDER_REGISTRY_TOKENS, never argv)
 * `deno task registry hash-password USER` (reads the password from stdin; prints an htpasswd line)
 * `deno task registry gc [--work-dir DIR] [--dry-run] [--grace-seconds N] [--upload-max-age-seconds N]`
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { createLogger, type Logger, resolveLogLevel } from "../base/mod.ts";
import {
  hashPassword,
  SERVER_SECURITY_FLAGS,
  SERVER_SECURITY_USAGE,
  serverSecurityFlags,
} from "../security/mod.ts";
import type { AuthOptions } from "./auth.ts";
import { openRegistry, serveRegistry } from "./server.ts";

const FlagsSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(5000),
  "work-dir": z.string().default(".tender/registry"),
  "auth-htpasswd": z.string().optional(),
  "auth-token": z.array(z.string()).optional(),
  "auth-token-file": z.string().optional(),
  "auth-scheme": z.enum(["basic", "bearer"]).optional(),
  "anonymous-pull": z.boolean().optional(),
  "dry-run": z.boolean().optional(),
  "grace-seconds": z.coerce.number().nonnegative().optional(),
  "upload-max-age-seconds": z.coerce.number().nonnegative().optional(),
  "log-level": z.string().optional(),
  credentials: z.string().optional(),
  acls: z.string().optional(),
  "tls-cert": z.string().optional(),
  "tls-key": z.string().optional(),
});

const USAGE = `Usage: deno task registry [serve] [--host 127.0.0.1] [--port 5000]
  [--work-dir .tender/registry] [--auth-htpasswd FILE] [--auth-token-file FILE]
  [--anonymous-pull] [--auth-scheme bearer|basic] [--upload-max-age-seconds 3600]
${SERVER_SECURITY_USAGE}
       deno task registry gc [--work-dir DIR] [--dry-run] [--grace-seconds N]
       deno task registry hash-password USER   (password on stdin)`;

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string" },
    port: { type: "string" },
    "work-dir": { type: "string" },
    "auth-htpasswd": { type: "string" },
    "auth-token": { type: "string", multiple: true },
    "auth-token-file": { type: "string" },
    "auth-scheme": { type: "string" },
    "anonymous-pull": { type: "boolean" },
    "dry-run": { type: "boolean" },
    "grace-seconds": { type: "string" },
    "upload-max-age-seconds": { type: "string" },
    "log-level": { type: "string" },
    ...SERVER_SECURITY_FLAGS,
  },
});
const flags = FlagsSchema.parse(values);
const command = positionals[0] ?? "serve";
let log: Logger;
try {
  log = createLogger({
    level: resolveLogLevel(flags["log-level"], Deno.env.get("TENDER_LOG_LEVEL")),
    component: "registry",
  });
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(2);
}
const gc = {
  graceMs: flags["grace-seconds"] === undefined ? undefined : flags["grace-seconds"] * 1000,
  uploadMaxAgeMs: flags["upload-max-age-seconds"] === undefined
    ? undefined
    : flags["upload-max-age-seconds"] * 1000,
};

if (command === "gc") {
  const opened = await openRegistry({ workDir: flags["work-dir"] });
  const report = await opened.registry.gc({ ...gc, dryRun: flags["dry-run"] });
  console.log(
    `${report.blobsMarked} blobs marked, ${report.blobsDeleted} blobs ${
      flags["dry-run"] ? "eligible for deletion" : "deleted"
    } ` +
      `(${report.bytesFreed} bytes), ${report.uploadsDeleted} stale uploads removed`,
  );
  opened.close();
} else if (command === "hash-password") {
  const user = positionals[1];
  if (!user) {
    console.error("usage: deno task registry hash-password USER  (password on stdin)");
    Deno.exit(2);
  }
  const password = (await new Response(Deno.stdin.readable).text()).replace(/\r?\n$/, "");
  console.log(`${user}:${hashPassword(password)}`);
} else if (command === "serve") {
  if (flags["auth-token"] !== undefined) {
    console.error(
      "registry: --auth-token is no longer accepted (a token on the command line shows in ps); " +
        "put the tokens, one per line, in a file for --auth-token-file, or in " +
        "TENDER_REGISTRY_TOKENS",
    );
    Deno.exit(2);
  }
  const tokenText = flags["auth-token-file"] !== undefined
    ? await Deno.readTextFile(flags["auth-token-file"])
    : Deno.env.get("TENDER_REGISTRY_TOKENS");
  const tokens = tokenText?.split(/[\n,]/).map((t) => t.trim()).filter((t) => t !== "");
  const { security, tls } = await serverSecurityFlags(flags, USAGE);
  const wantsAuth = flags["auth-htpasswd"] !== undefined || tokens !== undefined ||
    security.authenticating || flags.acls !== undefined;
  let auth: AuthOptions | undefined;
  try {
    auth = wantsAuth
      ? {
        security,
        htpasswd: flags["auth-htpasswd"]
          ? await Deno.readTextFile(flags["auth-htpasswd"])
          : undefined,
        tokens,
        anonymousPull: flags["anonymous-pull"],
        scheme: flags["auth-scheme"],
      }
      : undefined;
  } catch (e) {
    console.error(`registry: --auth-htpasswd: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const registry = await serveRegistry({
    workDir: flags["work-dir"],
    hostname: flags.host,
    port: flags.port,
    auth,
    tls,
    gc: { ...gc, intervalMs: 10 * 60 * 1000 },
  }).catch((e) => {
    console.error(`registry: ${(e as Error).message}`);
    Deno.exit(2);
  });
  console.log(`registry listening on ${registry.url} (work dir ${flags["work-dir"]})`);
  log.info("registry started", {
    auth: auth ? auth.scheme ?? "bearer" : "off",
    acls: flags.acls !== undefined,
    tls: tls !== undefined,
  });
  const stop = () => {
    log.info("stopping");
    void registry.close().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
} else {
  console.error(`unknown command "${command}": use serve, gc or hash-password`);
  Deno.exit(2);
}
