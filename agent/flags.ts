/** The command line of `deno task agent`, parsed into `StartAgentOptions`. */
import { parseArgs } from "node:util";
import { type LogLevel, parseMasterSpec, resolveLogLevel } from "../base/mod.ts";
import { parseSize } from "../protocol/mod.ts";
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  SERVER_SECURITY_FLAGS,
  SERVER_SECURITY_USAGE,
} from "../security/mod.ts";
import type { ContainerizerKind, StartAgentOptions } from "./start_agent.ts";

/** The usage text. */
export const USAGE = `deno task agent --master URL[,URL...] [--port 5051] [--hostname NAME]
  [--advertise-ip IP (default: the local address of the route to the master)]
  [--host IP (API; default: the advertised IP, or 0.0.0.0 when not this machine's)]
  [--publish-ip IP (task ports; default as --host; 0.0.0.0: every interface)]
  [--work-dir DIR] [--resources 'cpus:2;mem:1024;ports:[31000-31100]']
  [--attributes 'rack:r1;zone:a'] [--containerizer process|docker|containerd|simulated] [--docker-socket PATH]
  [--containerd-socket PATH (/run/containerd/containerd.sock)]
  [--kill-grace 5s] [--status-update-retry-ms 10000] [--cgroups-enable-cfs] [--gc-delay 1w]
  [--no-switch-user (run every task as the agent's user, not as its own)]
  [--fetcher-cache-size 2GB] [--fetcher-max-size 4GB (per URI, and what an archive expands to)]
  [--fetcher-timeout 10m (a task's fetching)]
  [--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]
Calls to the master:
${CLIENT_SECURITY_USAGE}
The agent's API:
${SERVER_SECURITY_USAGE}
  --authenticate-http-readonly  every route but /health needs credentials (needs --credentials)`;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `500ms`, `5s`, `2m`, `1h`, `2d`, `1w` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}": use e.g. 500ms, 5s, 2m, 1h, 2d or 1w`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "s"]!);
}

/** A size flag (`2GB`, `512m`, bytes); undefined when not given. */
function sizeFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) throw new Error(`invalid ${flag} "${text}": use e.g. 512MB or 2GB`);
  return bytes;
}

function parsePort(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid ${flag} "${text}"`);
  return n;
}

/** `--master`: one URL or a comma-separated list (`host:port` gets `http://`). */
function masterFlag(text: string): string {
  try {
    return parseMasterSpec(text).text;
  } catch (e) {
    throw new Error(`invalid --master: ${e instanceof Error ? e.message : e}`);
  }
}

const KINDS: readonly ContainerizerKind[] = ["docker", "containerd", "process", "simulated"];

/** The security flags as given: files are read by `main.ts` (`security/flags.ts`). */
export interface AgentSecurityFlags {
  server: {
    credentials?: string;
    acls?: string;
    "tls-cert"?: string;
    "tls-key"?: string;
    "http-header-timeout"?: string;
  };
  client: { principal?: string; "secret-file"?: string; "token-file"?: string; ca?: string };
}

/** The agent's options (`master` as written back by `parseMasterSpec`) plus `--log-level`. */
export type AgentFlags = StartAgentOptions & {
  master: string;
  logLevel?: LogLevel;
  securityFlags: AgentSecurityFlags;
};

/** Parses the agent's flags; throws an error naming the bad flag. */
export function parseAgentFlags(args: string[]): AgentFlags {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      master: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      hostname: { type: "string" },
      "advertise-ip": { type: "string" },
      "publish-ip": { type: "string" },
      "work-dir": { type: "string" },
      resources: { type: "string" },
      attributes: { type: "string" },
      containerizer: { type: "string" },
      "docker-socket": { type: "string" },
      "containerd-socket": { type: "string" },
      "cgroups-enable-cfs": { type: "boolean" },
      "kill-grace": { type: "string" },
      "status-update-retry-ms": { type: "string" },
      "gc-delay": { type: "string" },
      "no-switch-user": { type: "boolean" },
      "fetcher-cache-size": { type: "string" },
      "fetcher-max-size": { type: "string" },
      "fetcher-timeout": { type: "string" },
      "log-level": { type: "string" },
      ...SERVER_SECURITY_FLAGS,
      ...CLIENT_SECURITY_FLAGS,
      "authenticate-http-readonly": { type: "boolean" },
    },
  });
  if (values["authenticate-http-readonly"] && !values.credentials) {
    throw new Error("--authenticate-http-readonly needs --credentials FILE");
  }
  if (!values.master) throw new Error("--master is required");
  const kind = values.containerizer;
  if (kind !== undefined && !KINDS.includes(kind as ContainerizerKind)) {
    throw new Error(`invalid --containerizer "${kind}": use ${KINDS.join(", ")}`);
  }
  const options: AgentFlags = {
    master: masterFlag(values.master),
    port: values.port === undefined ? 5051 : parsePort(values.port, "--port"),
    host: values.host,
    hostname: values.hostname,
    advertiseIp: values["advertise-ip"],
    publishIp: values["publish-ip"],
    workDir: values["work-dir"],
    resources: values.resources,
    attributes: values.attributes,
    containerizer: KINDS.find((k) => k === kind),
    dockerSocket: values["docker-socket"],
    containerdSocket: values["containerd-socket"],
    cgroupsEnableCfs: values["cgroups-enable-cfs"],
    killGraceMs: values["kill-grace"] === undefined
      ? undefined
      : parseDuration(values["kill-grace"]),
    statusUpdateRetryMs: values["status-update-retry-ms"] === undefined
      ? undefined
      : parseDuration(`${values["status-update-retry-ms"]}ms`),
    gcDelayMs: values["gc-delay"] === undefined ? undefined : parseDuration(values["gc-delay"]),
    fetcherCacheBytes: sizeFlag(values["fetcher-cache-size"], "--fetcher-cache-size"),
    fetcherMaxBytes: sizeFlag(values["fetcher-max-size"], "--fetcher-max-size"),
    fetcherTimeoutMs: values["fetcher-timeout"] === undefined
      ? undefined
      : parseDuration(values["fetcher-timeout"]),
    authenticateHttpReadonly: values["authenticate-http-readonly"],
    securityFlags: {
      server: {
        credentials: values.credentials,
        acls: values.acls,
        "tls-cert": values["tls-cert"],
        "tls-key": values["tls-key"],
        "http-header-timeout": values["http-header-timeout"],
      },
      client: {
        principal: values.principal,
        "secret-file": values["secret-file"],
        "token-file": values["token-file"],
        ca: values.ca,
      },
    },
    switchUser: !values["no-switch-user"],
  };
  if (values["log-level"] !== undefined) options.logLevel = resolveLogLevel(values["log-level"]);
  return options;
}
