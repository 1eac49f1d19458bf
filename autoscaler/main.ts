/**
 * `deno task autoscaler --marathon URL [--router URL[,URL...]] [--master URL] [--interval 5]
 *   [--port 9090] [--host 127.0.0.1] [--log-level info]
 *   [--principal NAME --secret-file FILE | --token-file FILE] [--ca FILE]`
 */
import { loggerFlag, parseFlags, portFlag, secondsFlag, usageError } from "../base/mod.ts";
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  clientSecurityFlags,
  loadCredentials,
  loadTls,
  ServerSecurity,
} from "../security/mod.ts";
import { startAutoscaler } from "./start_autoscaler.ts";

const USAGE = "Usage: deno task autoscaler --marathon http://HOST:8080 " +
  "[--router http://HOST:8081[,URL...] (request rates)] [--master http://HOST:5050 (agents' CPU)] " +
  "[--interval 5 (seconds between passes)] [--port 9090] [--host 127.0.0.1] " +
  "[--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]\n" +
  "  --credentials FILE    principals and secrets (Mesos' JSON shape) its API requires (all but /ping)\n" +
  "  --tls-cert FILE       serve its API over HTTPS with this certificate chain (PEM), with\n" +
  "  --tls-key FILE        its private key (PEM); both or neither\n" +
  "Its calls to Marathon, the routers, the master and agents:\n" + CLIENT_SECURITY_USAGE;

const args = parseFlags(USAGE, {
  marathon: { type: "string" },
  router: { type: "string" },
  master: { type: "string" },
  interval: { type: "string" },
  port: { type: "string", default: "9090" },
  host: { type: "string", default: "127.0.0.1" },
  "log-level": { type: "string" },
  ...CLIENT_SECURITY_FLAGS,
  credentials: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  help: { type: "boolean" },
});
const client = await clientSecurityFlags(args, USAGE);
const credentials = args.credentials === undefined
  ? undefined
  : await loadCredentials(args.credentials).catch((e) => usageError(String(e.message), USAGE));
const tls = await loadTls(args["tls-cert"], args["tls-key"])
  .catch((e) => usageError(String(e.message), USAGE));
if (!args.marathon) usageError("--marathon is required", USAGE);
const url = (u: string) => (/^https?:\/\//.test(u) ? u : `http://${u}`).replace(/\/+$/, "");
const running = await startAutoscaler({
  marathon: url(args.marathon),
  routers: (args.router ?? "").split(",").map((u) => u.trim()).filter(Boolean).map(url),
  ...(args.master ? { master: url(args.master) } : {}),
  intervalMs: secondsFlag("interval", args.interval, { usage: USAGE, fallback: 5000 }),
  port: portFlag("port", args.port, { usage: USAGE }),
  host: args.host!,
  log: loggerFlag("autoscaler", args["log-level"], USAGE),
  client,
  security: new ServerSecurity({ credentials }),
  tls,
});
console.log(`autoscaler: API on ${running.url}, marathon ${url(args.marathon)}`);
const stop = async () => {
  await running.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
