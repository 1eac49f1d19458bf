/** `deno task master`: flags in, a master out. */
import {
  fileLimitWarning,
  loggerFlag,
  openFilesLimit,
  parseFlags,
  portFlag,
  secondsFlag,
  urlFlag,
  usageError,
} from "../base/mod.ts";
import { serveRegistry } from "../registry/mod.ts";
import { parseStoreSpec, type StoreSpec } from "../store/mod.ts";
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  clientSecurityFlags,
  SERVER_SECURITY_FLAGS,
  SERVER_SECURITY_USAGE,
  serverSecurityFlags,
} from "../security/mod.ts";
import { startHaMaster } from "./ha_master.ts";
import { startMaster } from "./mod.ts";

const USAGE =
  `Usage: deno task master [--host 127.0.0.1] [--port 5050] [--work-dir ./.tender/master]
  [--store etcd://HOST:PORT[,HOST:PORT...][/prefix] | PATH (default WORK_DIR/master.kv)]
  [--advertise-url URL (http://HOST:PORT): how other masters' redirects name this one]
  [--hostname NAME] [--agent-reregister-timeout SECS (60)]
  [--agent-ping-timeout SECS (15)] [--max-agent-ping-timeouts N (5)]: an agent silent for
    N × SECS (75 s) is unreachable; agents post a heartbeat every --heartbeat-interval
  [--agent-timeout SECS: instead of the two above, unreachable after SECS of silence]
  [--offer-timeout SECS (0: never)] [--allocation-interval SECS (1)] [--heartbeat-interval SECS (15)]
  [--weights 'role=2,other=0.5'] [--dns-port 8053 | off] [--registry-port 5000 | off]
  [--dns-host ADDR (--host): DNS answers anyone who reaches it, whatever the switches below]
  [--drain-seconds SECS (1): routers drain a task this long before its kill]
  [--agent-max-age SECS (1209600, two weeks): unreachable agents are forgotten after this]
  [--cluster-id ID: on an empty store only, take this cluster id (adopt a lost store's agents)]
  [--marathon-url URL: the Marathon whose apps the dashboard shows (default: none)]
  [--jobs-url URL: the jobs framework whose jobs the dashboard shows (default: none)]
  [--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]
Security (all off unless given):
${SERVER_SECURITY_USAGE}
  --authenticate-frameworks      the scheduler API needs credentials (needs --credentials)
  --authenticate-agents          the agent API needs credentials (needs --credentials)
  --authenticate-http-readwrite  operator calls that change state need credentials
  --authenticate-http-readonly   state, operator reads, catalog, /metrics and the dashboard do
The master's own calls to agents (the dashboard's log proxy):
${CLIENT_SECURITY_USAGE}`;

const args = parseFlags(USAGE, {
  host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "5050" },
  "work-dir": { type: "string", default: "./.tender/master" },
  hostname: { type: "string" },
  store: { type: "string" },
  "advertise-url": { type: "string" },
  "agent-timeout": { type: "string" },
  "agent-ping-timeout": { type: "string" },
  "max-agent-ping-timeouts": { type: "string" },
  "agent-reregister-timeout": { type: "string" },
  "offer-timeout": { type: "string" },
  "allocation-interval": { type: "string" },
  "heartbeat-interval": { type: "string" },
  weights: { type: "string" },
  "dns-port": { type: "string", default: "8053" },
  "dns-host": { type: "string" },
  "registry-port": { type: "string", default: "5000" },
  "drain-seconds": { type: "string" },
  "agent-max-age": { type: "string" },
  "cluster-id": { type: "string" },
  "marathon-url": { type: "string" },
  "jobs-url": { type: "string" },
  "log-level": { type: "string" },
  ...SERVER_SECURITY_FLAGS,
  "authenticate-frameworks": { type: "boolean" },
  "authenticate-agents": { type: "boolean" },
  "authenticate-http-readwrite": { type: "boolean" },
  "authenticate-http-readonly": { type: "boolean" },
  ...CLIENT_SECURITY_FLAGS,
  help: { type: "boolean" },
});
const log = loggerFlag("master", args["log-level"], USAGE);
const lowFiles = fileLimitWarning(openFilesLimit());
if (lowFiles) log.warn(lowFiles);
const seconds = (name: string, value: string | undefined, fallback: number) =>
  secondsFlag(name, value, { usage: USAGE, fallback });

/**
 * Mesos' `--agent_ping_timeout` and `--max_agent_ping_timeouts`; Tender's older
 * `--agent-timeout SECS` is one ping of SECS (and cannot be given with them).
 */
function agentPings(): { agentPingTimeoutMs: number; maxAgentPingTimeouts: number } {
  const total = args["agent-timeout"];
  const ping = args["agent-ping-timeout"], max = args["max-agent-ping-timeouts"];
  if (total !== undefined) {
    if (ping !== undefined || max !== undefined) {
      usageError(
        "--agent-timeout cannot be given with --agent-ping-timeout or --max-agent-ping-timeouts",
        USAGE,
      );
    }
    return { agentPingTimeoutMs: seconds("agent-timeout", total, 0), maxAgentPingTimeouts: 1 };
  }
  const count = max === undefined ? 5 : Number(max);
  if (!Number.isInteger(count) || count < 1) {
    usageError(
      `--max-agent-ping-timeouts must be a whole number of at least 1, got "${max}"`,
      USAGE,
    );
  }
  return {
    agentPingTimeoutMs: seconds("agent-ping-timeout", ping, 15_000),
    maxAgentPingTimeouts: count,
  };
}

function weights(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  // Mesos writes `role=w,role=w`; Tender took `;` first: both separate.
  for (const part of (text ?? "").split(/[;,]/).map((p) => p.trim()).filter(Boolean)) {
    const [role, value] = part.split("=");
    const weight = Number(value);
    if (!role || !(weight > 0)) {
      usageError(`--weights: "${part}" must be role=positive-number`, USAGE);
    }
    out[role] = weight;
  }
  return out;
}

const port = portFlag("port", args.port, { usage: USAGE });
const dnsHost = args["dns-host"] ?? args.host!;
const isLoopback = (host: string) =>
  host === "localhost" || host === "::1" || host.startsWith("127.");
const dnsPort = portFlag("dns-port", args["dns-port"], { usage: USAGE, allowOff: true });
const registryPort = portFlag("registry-port", args["registry-port"], {
  usage: USAGE,
  allowOff: true,
});
let store: StoreSpec | undefined;
try {
  store = args.store === undefined ? undefined : parseStoreSpec(args.store);
} catch (e) {
  usageError((e as Error).message, USAGE);
}
const { security, tls } = await serverSecurityFlags(args, USAGE);
const client = await clientSecurityFlags(args, USAGE);
const authenticate = {
  frameworks: args["authenticate-frameworks"],
  agents: args["authenticate-agents"],
  httpReadwrite: args["authenticate-http-readwrite"],
  httpReadonly: args["authenticate-http-readonly"],
};
for (const [flag, on] of Object.entries(args)) {
  if (flag.startsWith("authenticate-") && on && !security.authenticating) {
    usageError(`--${flag} needs --credentials FILE (whom to authenticate against)`, USAGE);
  }
}
const options = {
  host: args.host,
  port,
  workDir: args["work-dir"]!,
  hostname: args.hostname,
  ...agentPings(),
  agentReregisterTimeoutMs: seconds(
    "agent-reregister-timeout",
    args["agent-reregister-timeout"],
    60_000,
  ),
  offerTimeoutMs: seconds("offer-timeout", args["offer-timeout"], 0),
  allocationIntervalMs: seconds("allocation-interval", args["allocation-interval"], 1_000),
  heartbeatIntervalMs: seconds("heartbeat-interval", args["heartbeat-interval"], 15_000),
  weights: weights(args.weights),
  drainMs: seconds("drain-seconds", args["drain-seconds"], 1_000),
  agentMaxAgeMs: seconds("agent-max-age", args["agent-max-age"], 14 * 24 * 60 * 60 * 1000),
  clusterId: args["cluster-id"],
  dnsPort,
  dnsHost: args["dns-host"],
  marathonUrl: urlFlag("marathon-url", args["marathon-url"], { usage: USAGE }),
  jobsUrl: urlFlag("jobs-url", args["jobs-url"], { usage: USAGE }),
  security,
  authenticate,
  tls,
  client,
};
const master = store?.kind === "etcd"
  ? await startHaMaster({
    ...options,
    etcd: store,
    advertiseUrl: args["advertise-url"],
    log,
  }).catch((e) => {
    console.error(`master: ${(e as Error).message}`);
    Deno.exit(1);
  })
  : await startMaster({ ...options, kvPath: store?.path });
console.log(
  JSON.stringify({
    level: "info",
    msg: "master listening",
    url: master.url,
    id: "runtime" in master ? master.runtime.core.id : undefined,
    cluster: "runtime" in master ? master.runtime.cluster.id : undefined,
    // A new cluster on a master that ran before means its store was lost: said where it is seen.
    newCluster: "runtime" in master ? master.runtime.cluster.created : undefined,
    store: args.store ?? `${args["work-dir"]}/master.kv`,
    dns: dnsPort === undefined ? "off" : `${dnsHost}:${dnsPort}`,
  }),
);
if (dnsPort !== undefined && security.authenticating && !isLoopback(dnsHost)) {
  // As Mesos-DNS and Consul's DNS: no credentials in DNS, so the names are public where it listens.
  log.warn(
    "DNS answers anyone who can reach it (it cannot authenticate); keep it on a private address " +
      "with --dns-host, or turn it off with --dns-port off",
    { dns: `${dnsHost}:${dnsPort}` },
  );
}
// The registry beside the master answers to the master's credentials and ACLs (pull_images,
// push_images), serves TLS with its certificate, and lets anonymous callers pull unless reads
// must be authenticated too.
const registry = registryPort === undefined ? undefined : await serveRegistry({
  workDir: `${args["work-dir"]}/registry`,
  hostname: args.host,
  port: registryPort,
  auth: { security, anonymousPull: !authenticate.httpReadonly },
  tls,
}).catch((e) => {
  console.error(`master: registry: ${(e as Error).message}`);
  Deno.exit(1);
});
if (registry) {
  console.log(JSON.stringify({ level: "info", msg: "registry listening", url: registry.url }));
}
log.info("master started", {
  workDir: args["work-dir"],
  registry: registry?.url ?? "off",
});
// Stops once: a second signal while stopping (SIGTERM to the process group of `deno task`,
// which forwards it, or Ctrl-C then SIGTERM) waits for the first stop instead of stopping again.
let stopping: Promise<void> | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    stopping ??= (async () => {
      log.info("stopping", { signal });
      await registry?.close();
      await master.stop();
      Deno.exit(0);
    })();
  });
}
