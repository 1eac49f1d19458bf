/**
 * `deno task registry [serve] [--host 127.0.0.1] [--port 5000] [--work-dir DIR]
 *   [--auth-htpasswd FILE] [--auth-token TOKEN]... [--anonymous-pull] [--auth-scheme basic|bearer]`
 * `deno task registry gc [--work-dir DIR] [--dry-run] [--grace-seconds N] [--upload-max-age-seconds N]`
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { createLogger, type Logger, resolveLogLevel } from "../protocol/log.ts";
import type { AuthOptions } from "./auth.ts";
import { openRegistry, serveRegistry } from "./server.ts";

const FlagsSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(5000),
  "work-dir": z.string().default(".tender/registry"),
  "auth-htpasswd": z.string().optional(),
  "auth-token": z.array(z.string()).optional(),
  "auth-scheme": z.enum(["basic", "bearer"]).optional(),
  "anonymous-pull": z.boolean().optional(),
  "dry-run": z.boolean().optional(),
  "grace-seconds": z.coerce.number().nonnegative().optional(),
  "upload-max-age-seconds": z.coerce.number().nonnegative().optional(),
  "log-level": z.string().optional(),
});

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string" },
    port: { type: "string" },
    "work-dir": { type: "string" },
    "auth-htpasswd": { type: "string" },
    "auth-token": { type: "string", multiple: true },
    "auth-scheme": { type: "string" },
    "anonymous-pull": { type: "boolean" },
    "dry-run": { type: "boolean" },
    "grace-seconds": { type: "string" },
    "upload-max-age-seconds": { type: "string" },
    "log-level": { type: "string" },
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
} else if (command === "serve") {
  const wantsAuth = flags["auth-htpasswd"] !== undefined || flags["auth-token"] !== undefined;
  const auth: AuthOptions | undefined = wantsAuth
    ? {
      htpasswd: flags["auth-htpasswd"]
        ? await Deno.readTextFile(flags["auth-htpasswd"])
        : undefined,
      tokens: flags["auth-token"],
      anonymousPull: flags["anonymous-pull"],
      scheme: flags["auth-scheme"],
    }
    : undefined;
  const registry = await serveRegistry({
    workDir: flags["work-dir"],
    hostname: flags.host,
    port: flags.port,
    auth,
    gc: { ...gc, intervalMs: 60 * 60 * 1000 },
  });
  console.log(`registry listening on ${registry.url} (work dir ${flags["work-dir"]})`);
  log.info("registry started", { auth: auth ? auth.scheme ?? "basic" : "off" });
  const stop = () => {
    log.info("stopping");
    void registry.close().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
} else {
  console.error(`unknown command "${command}": use serve or gc`);
  Deno.exit(2);
}
