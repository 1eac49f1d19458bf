/**
 * `deno task router --master URL[,URL...] [--host 127.0.0.1] [--http-port 8081] [--poll-ms 1000]
 *   [--group NAME ...] [--log-level debug|info|warn|error] [--credentials FILE]
 *   [--tls-cert FILE --tls-key FILE]
 *   [--principal NAME --secret-file FILE | --token-file FILE] [--ca FILE]`
 */
import {
  fileLimitWarning,
  loggerFlag,
  mastersFlag,
  openFilesLimit,
  parseFlags,
  portFlag,
  usageError,
} from "../base/mod.ts";
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  clientSecurityFlags,
  loadCredentials,
  loadTls,
  schemeOf,
  ServerSecurity,
} from "../security/mod.ts";
import { etcdMasterLeader } from "../store/mod.ts";
import { startRouter } from "./mod.ts";

const USAGE = "usage: deno task router --master URL[,URL...] [--host H] [--http-port P] " +
  "[--poll-ms MS] [--group NAME (repeatable; only apps whose HAPROXY_GROUP is one; * for all)] " +
  "[--log-level debug|info|warn|error]\n" +
  "  --credentials FILE    principals and secrets (Mesos' JSON shape): /_router/state and\n" +
  "                        /metrics need them (proxied traffic never does)\n" +
  "  --tls-cert FILE       terminate TLS on the HTTP port (app traffic and admin endpoints over\n" +
  "  --tls-key FILE        https) with this certificate chain and key (PEM); both or neither;\n" +
  "                        backends are still reached over plain HTTP; service ports stay\n" +
  "                        TCP passthrough\n" +
  "Its calls to the master:\n" + CLIENT_SECURITY_USAGE;
const flags = parseFlags(USAGE, {
  master: { type: "string" },
  host: { type: "string", default: "127.0.0.1" },
  "http-port": { type: "string", default: "8081" },
  "poll-ms": { type: "string", default: "1000" },
  group: { type: "string", multiple: true },
  "log-level": { type: "string" },
  credentials: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  ...CLIENT_SECURITY_FLAGS,
  help: { type: "boolean" },
});
const client = await clientSecurityFlags(flags, USAGE);
const credentials = flags.credentials === undefined
  ? undefined
  : await loadCredentials(flags.credentials).catch((e) => usageError(String(e.message), USAGE));
const tls = await loadTls(flags["tls-cert"], flags["tls-key"])
  .catch((e) => usageError(String(e.message), USAGE));
const masters = mastersFlag(flags.master, {
  usage: USAGE,
  deps: { etcd: etcdMasterLeader(), fetch: client.fetch },
});
const httpPort = portFlag("http-port", flags["http-port"], { usage: USAGE });
const pollMs = Number(flags["poll-ms"]);
if (!Number.isFinite(pollMs) || pollMs <= 0) {
  usageError(`--poll-ms must be a positive number of ms, got "${flags["poll-ms"]}"`, USAGE);
}
const groups = flags.group?.map((g) => g.trim());
if (groups?.some((g) => g === "" || g.includes(","))) {
  usageError(`--group must name one group (repeat the flag for more), got "${flags.group}"`, USAGE);
}
const log = loggerFlag("router", flags["log-level"], USAGE);
const lowFiles = fileLimitWarning(openFilesLimit());
if (lowFiles) log.warn(lowFiles);
const router = await startRouter({
  master: masters,
  hostname: flags.host,
  httpPort,
  pollMs,
  ...(groups ? { groups } : {}),
  security: new ServerSecurity({ credentials }),
  tls,
});
console.log(
  `router: following ${masters.text}; vhosts on ${
    schemeOf(tls)
  }://${router.hostname}:${router.httpPort}, ` +
    `state at /_router/state`,
);
log.info("router started", { master: masters.text, servicePorts: router.servicePorts() });
const shutdown = async () => {
  log.info("stopping");
  await router.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
