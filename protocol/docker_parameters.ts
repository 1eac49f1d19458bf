/**
 * Mesos' `DockerInfo.parameters` (Marathon's `container.docker.parameters`): `docker run` long
 * options as key/value pairs. Tender maps the common ones onto the Engine API and refuses every
 * other, so none is accepted and ignored. One parser, read by Marathon (422 naming the
 * parameter), the master (options that reach past the container need the same ACLs as
 * `privileged` and host mounts) and the agent (TASK_ERROR naming the key; the Engine body).
 */

/** A `docker run` option as Mesos carries it. */
export interface DockerParameter {
  key: string;
  value: string;
}

/** What the supported parameters ask of the Engine, parsed and checked. */
export interface DockerRunOptions {
  labels: Record<string, string>;
  env: string[];
  hostname?: string;
  user?: string;
  workdir?: string;
  memorySwap?: number;
  memoryReservation?: number;
  shmSize?: number;
  pidsLimit?: number;
  ulimits: { Name: string; Soft: number; Hard: number }[];
  capAdd: string[];
  capDrop: string[];
  extraHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  logDriver?: string;
  logOptions: Record<string, string>;
  readOnly?: boolean;
  tmpfs: Record<string, string>;
  init?: boolean;
  stopSignal?: string;
  sysctls: Record<string, string>;
  securityOpt: string[];
  devices: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  privileged?: boolean;
  pidMode?: string;
  ipcMode?: string;
  usernsMode?: string;
  /** `volume` binds (`/host:/container[:ro]`); host paths are absolute. */
  binds: string[];
}

/** A parameter refused: its index, its key, and why. */
export interface ParameterRefusal {
  index: number;
  key: string;
  /** Whether the key itself is the problem (else its value). */
  field: "key" | "value";
  reason: string;
}

/**
 * Keys that reach past the container, gated exactly like `privileged`
 * (`launch_privileged_containers`; `pid`, `ipc` and `userns` only as `host`; `security-opt`
 * except `no-new-privileges`); `volume` is gated by `mount_host_paths` per host path.
 */
export const PRIVILEGED_PARAMETERS: ReadonlySet<string> = new Set([
  "privileged",
  "cap-add",
  "security-opt",
  "device",
  "pid",
  "ipc",
  "userns",
]);

/** Keys that Tender sets itself or does another way: refused with where to say it instead. */
const ELSEWHERE: Record<string, string> = {
  network: "set the network with `networks` (Marathon) or `container.docker.network`",
  net: "set the network with `networks` (Marathon) or `container.docker.network`",
  name: "Tender names each task's container itself",
  memory: "the memory limit is the task's `mem`",
  m: "the memory limit is the task's `mem`",
  cpus: "the CPU limit is the task's `cpus`",
  "cpu-shares": "CPU shares come from the task's `cpus`",
  publish: "publish ports with `portMappings`",
  p: "publish ports with `portMappings`",
  rm: "Tender removes containers itself",
  restart: "Marathon restarts failed tasks; Docker must not",
  "volumes-from": "mount volumes with `container.volumes`",
  mount: "mount volumes with `container.volumes`",
  entrypoint: "set the command with `cmd`/`args` (`shell: false` keeps the image's entrypoint)",
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([bkmgtp]?)(?:i?b)?$/i;
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

/** Docker's sizes: `512m`, `1g`, `1024` (bytes). Undefined when not one. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? NaN);
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

function keyValue(text: string): [string, string] | undefined {
  const eq = text.indexOf("=");
  return eq > 0 ? [text.slice(0, eq), text.slice(eq + 1)] : undefined;
}

function bool(text: string): boolean | undefined {
  return text === "" || text === "true" ? true : text === "false" ? false : undefined;
}

const ABS = /^\/[^\0]*$/;

/** The keys Tender maps, for messages. */
export const SUPPORTED_PARAMETERS: readonly string[] = [
  "label",
  "env",
  "hostname",
  "user",
  "workdir",
  "memory-swap",
  "memory-reservation",
  "shm-size",
  "pids-limit",
  "ulimit",
  "cap-add",
  "cap-drop",
  "add-host",
  "dns",
  "dns-search",
  "dns-option",
  "log-driver",
  "log-opt",
  "read-only",
  "tmpfs",
  "init",
  "stop-signal",
  "sysctl",
  "security-opt",
  "device",
  "privileged",
  "pid",
  "ipc",
  "userns",
  "volume",
];

/** Aliases Docker's CLI takes for some keys. */
const ALIASES: Record<string, string> = {
  l: "label",
  e: "env",
  h: "hostname",
  u: "user",
  w: "workdir",
  v: "volume",
  "dns-opt": "dns-option",
};

/** Applies one parameter to `out`; a string says why it is refused. */
function apply(out: DockerRunOptions, key: string, value: string): string | undefined {
  const kv = () => keyValue(value);
  switch (key) {
    case "label": {
      const pair = kv() ?? (value !== "" ? [value, ""] as [string, string] : undefined);
      if (!pair) return "expected KEY=VALUE";
      if (pair[0].startsWith("tender.")) return "labels `tender.*` are Tender's own";
      out.labels[pair[0]] = pair[1];
      return;
    }
    case "env":
      if (!kv()) return "expected NAME=VALUE";
      out.env.push(value);
      return;
    case "hostname":
    case "user":
    case "workdir":
    case "log-driver":
    case "stop-signal":
      if (value === "") return "must not be empty";
      if (key === "workdir" && !ABS.test(value)) return "must be an absolute path";
      if (key === "hostname") out.hostname = value;
      else if (key === "user") out.user = value;
      else if (key === "workdir") out.workdir = value;
      else if (key === "log-driver") out.logDriver = value;
      else out.stopSignal = value;
      return;
    case "memory-swap": {
      const n = value === "-1" ? -1 : parseSize(value);
      if (n === undefined) return "expected a size such as 1g, or -1";
      out.memorySwap = n;
      return;
    }
    case "memory-reservation":
    case "shm-size": {
      const n = parseSize(value);
      if (n === undefined) return "expected a size such as 64m";
      if (key === "shm-size") out.shmSize = n;
      else out.memoryReservation = n;
      return;
    }
    case "pids-limit": {
      if (!/^-?\d+$/.test(value)) return "expected a whole number";
      out.pidsLimit = Number(value);
      return;
    }
    case "ulimit": {
      const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
      if (!m) return "expected NAME=SOFT[:HARD], e.g. nofile=1024:2048";
      out.ulimits.push({ Name: m[1]!, Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) });
      return;
    }
    case "cap-add":
    case "cap-drop":
    case "dns":
    case "dns-search":
    case "dns-option":
    case "security-opt":
      if (value === "") return "must not be empty";
      ({
        "cap-add": out.capAdd,
        "cap-drop": out.capDrop,
        dns: out.dns,
        "dns-search": out.dnsSearch,
        "dns-option": out.dnsOptions,
        "security-opt": out.securityOpt,
      })[key].push(value);
      return;
    case "add-host":
      if (!/^[^:\s]+:[0-9a-fA-F.:]+$/.test(value)) return "expected HOST:IP";
      out.extraHosts.push(value);
      return;
    case "log-opt":
    case "sysctl": {
      const pair = kv();
      if (!pair) return "expected KEY=VALUE";
      (key === "log-opt" ? out.logOptions : out.sysctls)[pair[0]] = pair[1];
      return;
    }
    case "read-only":
    case "init":
    case "privileged": {
      const b = bool(value);
      if (b === undefined) return "expected true or false";
      if (key === "read-only") out.readOnly = b;
      else if (key === "init") out.init = b;
      else out.privileged = b;
      return;
    }
    case "tmpfs": {
      const colon = value.indexOf(":");
      const path = colon < 0 ? value : value.slice(0, colon);
      if (!ABS.test(path)) return "expected /PATH[:OPTIONS]";
      out.tmpfs[path] = colon < 0 ? "" : value.slice(colon + 1);
      return;
    }
    case "device": {
      const [host, inside, perms, extra] = value.split(":");
      if (!host || !ABS.test(host) || extra !== undefined) {
        return "expected /dev/HOST[:/dev/CONTAINER[:rwm]]";
      }
      const mode = inside !== undefined && !inside.startsWith("/") ? inside : perms;
      if (mode !== undefined && !/^[rwm]+$/.test(mode)) return "permissions are r, w and m";
      out.devices.push({
        PathOnHost: host,
        PathInContainer: inside?.startsWith("/") ? inside : host,
        CgroupPermissions: mode ?? "rwm",
      });
      return;
    }
    case "pid":
    case "ipc":
    case "userns":
      if (
        value !== "host" && !(key === "ipc" && ["private", "shareable", "none"].includes(value))
      ) {
        return key === "ipc" ? "expected host, private, shareable or none" : "expected host";
      }
      if (key === "pid") out.pidMode = value;
      else if (key === "ipc") out.ipcMode = value;
      else out.usernsMode = value;
      return;
    case "volume": {
      const parts = value.split(":");
      const [host, inside, mode] = parts;
      if (parts.length > 3 || !host || !inside || !ABS.test(inside)) {
        return "expected /HOST/PATH:/CONTAINER/PATH[:ro|rw]";
      }
      if (!ABS.test(host)) {
        return "named Docker volumes are not supported: give an absolute host path, or use " +
          "container.volumes";
      }
      if (host.split("/").includes("..")) return "the host path must not contain ..";
      if (mode !== undefined && mode !== "ro" && mode !== "rw") return "the mode is ro or rw";
      out.binds.push(`${host}:${inside}:${mode ?? "rw"}`);
      return;
    }
  }
  return undefined;
}

function empty(): DockerRunOptions {
  return {
    labels: {},
    env: [],
    ulimits: [],
    capAdd: [],
    capDrop: [],
    extraHosts: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    logOptions: {},
    tmpfs: {},
    sysctls: {},
    securityOpt: [],
    devices: [],
    binds: [],
  };
}

/** A key as Docker's CLI reads it: leading dashes dropped, short aliases resolved. */
export function parameterKey(key: string): string {
  const bare = key.replace(/^--?/, "");
  return ALIASES[bare] ?? bare;
}

/** Parses the parameters; the first refused one (unknown key or bad value) is returned instead. */
export function parseDockerParameters(
  parameters: readonly DockerParameter[],
): { ok: true; options: DockerRunOptions } | { ok: false; refusal: ParameterRefusal } {
  const out = empty();
  for (const [index, p] of parameters.entries()) {
    const key = parameterKey(p.key);
    if (!SUPPORTED_PARAMETERS.includes(key)) {
      const reason = ELSEWHERE[key] ??
        `is not a docker parameter Tender supports (supported: ${SUPPORTED_PARAMETERS.join(", ")})`;
      return {
        ok: false,
        refusal: {
          index,
          key: p.key,
          field: "key",
          reason: ELSEWHERE[key] ? `is not supported: ${reason}` : reason,
        },
      };
    }
    const why = apply(out, key, p.value);
    if (why !== undefined) {
      return {
        ok: false,
        refusal: {
          index,
          key: p.key,
          field: "value",
          reason: `${JSON.stringify(p.value)}: ${why}`,
        },
      };
    }
  }
  return { ok: true, options: out };
}

/** The message of a refusal, naming the parameter. */
export function refusalMessage(r: ParameterRefusal): string {
  return `docker parameter ${JSON.stringify(r.key)} (parameters[${r.index}]) ${
    r.field === "key" ? r.reason : `has a bad value ${r.reason}`
  }`;
}

/**
 * What parameters reach past the container, for authorization: whether any needs
 * `launch_privileged_containers`, and the host paths `volume` mounts (`mount_host_paths`).
 * Unparseable parameters count by key alone (the agent refuses them anyway).
 */
export function parameterReach(
  parameters: readonly DockerParameter[],
): { privileged: boolean; hostPaths: string[] } {
  let privileged = false;
  const hostPaths: string[] = [];
  for (const p of parameters) {
    const key = parameterKey(p.key);
    if (key === "privileged") privileged ||= p.value !== "false";
    else if (key === "pid" || key === "ipc" || key === "userns") privileged ||= p.value === "host";
    // Only narrowing the container: no-new-privileges needs nothing.
    else if (key === "security-opt" && /^no-new-privileges([:=]true)?$/.test(p.value)) continue;
    else if (PRIVILEGED_PARAMETERS.has(key)) privileged = true;
    if (key === "volume") {
      const host = p.value.split(":")[0] ?? "";
      hostPaths.push(host);
    }
  }
  return { privileged, hostPaths };
}
