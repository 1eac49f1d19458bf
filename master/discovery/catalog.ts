/**
 * The service catalog: a pure function from the master's tasks to a map of service name →
 * healthy endpoints, plus the diff that feeds the change stream. See README.md for the naming
 * rules and the labels read here.
 */
import { z } from "zod";
import type { DiscoveryInfo, TaskState } from "../../protocol/mod.ts";

/** The minimal data the master holds per task that discovery needs. */
export interface CatalogTask {
  /** Framework name as registered (`marathon`); becomes the DNS zone under the domain. */
  frameworkName: string;
  taskId: string;
  taskName: string;
  state: TaskState;
  /** Latest `TaskStatus.healthy`; undefined until a health check reported. */
  healthy?: boolean;
  /** Whether the task was launched with a health check (then only `healthy: true` counts). */
  hasHealthCheck: boolean;
  /**
   * Set by the master from the moment it decides to kill the task until the kill is sent:
   * the task loses its endpoints at once, so routers drain it before it stops.
   */
  draining?: boolean;
  agentHostname: string;
  agentIp: string;
  /** Host ports of the task, in port-index order. */
  hostPorts: number[];
  discovery?: DiscoveryInfo;
  /** Task labels, flattened (`MARATHON_APP_ID`, `TENDER_WEIGHT`, `HAPROXY_0_VHOST`, ...). */
  labels: Record<string, string>;
  /** The user the task runs as (its command's, else its framework's): `view_tasks` asks it. */
  user?: string;
  /** Its framework's user: `view_frameworks` asks it. */
  frameworkUser?: string;
}

export const BalanceSchema = z.enum(["roundrobin", "leastconn"]);
/** How a router spreads new connections over a pool. */
export type Balance = z.infer<typeof BalanceSchema>;

export const EndpointSchema = z.object({
  taskId: z.string(),
  /** Agent hostname. */
  host: z.string(),
  /** Agent IP address (what DNS A records and routers use). */
  ip: z.string(),
  /** Host port. */
  port: z.number().int().min(0).max(65535),
  portIndex: z.number().int().nonnegative(),
  portName: z.string().optional(),
  protocol: z.enum(["tcp", "udp"]),
  weight: z.number().nonnegative(),
  /** The LB-facing port a router listens on for this port index, if any. */
  servicePort: z.number().int().min(1).max(65535).optional(),
  /** HTTP virtual hosts routed to this endpoint (lower case). */
  vhosts: z.array(z.string()),
  balance: BalanceSchema,
  /**
   * The router groups this endpoint is exposed by (marathon-lb's `HAPROXY_GROUP`): a router
   * started with `--group` routes only endpoints of its groups. Absent: in no group.
   */
  groups: z.array(z.string()).optional(),
});
/** One reachable port of one healthy task. */
export type Endpoint = z.infer<typeof EndpointSchema>;

export const ServiceSchema = z.object({
  /** Catalog key and DNS name under the domain: `<name>.<framework>`. */
  id: z.string(),
  name: z.string(),
  framework: z.string(),
  /** Marathon app id (`/prod/web`) when the tasks carry one. */
  appId: z.string().optional(),
  endpoints: z.array(EndpointSchema),
});
/** A named service and its healthy endpoints (possibly none). */
export type Service = z.infer<typeof ServiceSchema>;

export const CatalogSchema = z.object({ services: z.array(ServiceSchema) });
/** Every known service, sorted by id. */
export type Catalog = z.infer<typeof CatalogSchema>;

export const CatalogChangeSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("added"), service: ServiceSchema }),
  z.object({ type: z.literal("updated"), service: ServiceSchema }),
  z.object({ type: z.literal("removed"), id: z.string() }),
]);
/** One difference between two catalogs. */
export type CatalogChange = z.infer<typeof CatalogChangeSchema>;

/** Options of `deriveCatalog()`. */
export interface CatalogOptions {
  /** Balance used when no label picks one. Default `roundrobin`. */
  defaultBalance?: Balance;
}

/** An empty catalog. */
export const EMPTY_CATALOG: Catalog = { services: [] };

/** Turns a string into one DNS label as Mesos-DNS does: lower case, dots to `-`, rest dropped. */
export function dnsLabel(raw: string): string {
  return raw.toLowerCase().replaceAll(".", "-").replace(/[^a-z0-9-]/g, "")
    .replace(/^-+/, "").slice(0, 63).replace(/-+$/, "");
}

/** Mesos-DNS name of a Marathon app: path reversed, joined with `-` (`/prod/web` → `web-prod`). */
export function marathonServiceName(appId: string): string {
  return dnsLabel(appId.split("/").filter((s) => s !== "").reverse().join("-"));
}

/** The service name of a task: app id label, else discovery name, else task name. */
export function serviceName(task: CatalogTask): string {
  const appId = task.labels["MARATHON_APP_ID"];
  if (appId !== undefined && appId !== "") return marathonServiceName(appId);
  return dnsLabel(task.discovery?.name ?? task.taskName);
}

/** Whether a task may receive traffic: running, not draining, healthy if it has a check. */
export function isServing(task: CatalogTask): boolean {
  if (task.state !== "TASK_RUNNING" || task.draining === true) return false;
  return task.hasHealthCheck ? task.healthy === true : task.healthy !== false;
}

/** Whether a task still belongs to its service (so the service name keeps resolving). */
function isLive(state: TaskState): boolean {
  return state === "TASK_STAGING" || state === "TASK_STARTING" || state === "TASK_RUNNING" ||
    state === "TASK_KILLING";
}

/** Derives the catalog from the master's tasks. Deterministic: same tasks, same catalog. */
export function deriveCatalog(
  tasks: readonly CatalogTask[],
  options: CatalogOptions = {},
): Catalog {
  return deriveCatalogWithTasks(tasks, options).catalog;
}

/** A derived catalog and, per service id, the live tasks behind it (what a view filters on). */
export interface DerivedCatalog {
  catalog: Catalog;
  tasks: ReadonlyMap<string, readonly CatalogTask[]>;
}

/** `deriveCatalog()`, also telling which live tasks each service holds. */
export function deriveCatalogWithTasks(
  tasks: readonly CatalogTask[],
  options: CatalogOptions = {},
): DerivedCatalog {
  const byId = new Map<string, Service>();
  const tasksOf = new Map<string, CatalogTask[]>();
  const names = new Map<string, string>();
  const memo = (key: string, make: () => string) => {
    let value = names.get(key);
    if (value === undefined) names.set(key, value = make());
    return value;
  };
  for (const task of tasks) {
    if (!isLive(task.state)) continue;
    const appId = task.labels["MARATHON_APP_ID"];
    const name = appId
      ? memo(`a:${appId}`, () => serviceName(task))
      : memo(`n:${task.discovery?.name ?? task.taskName}`, () => serviceName(task));
    const framework = memo(`f:${task.frameworkName}`, () => dnsLabel(task.frameworkName));
    if (name === "" || framework === "") continue;
    const id = `${name}.${framework}`;
    let service = byId.get(id);
    if (service === undefined) {
      service = { id, name, framework, endpoints: [] };
      const appId = task.labels["MARATHON_APP_ID"];
      if (appId !== undefined && appId !== "") service.appId = appId;
      byId.set(id, service);
      tasksOf.set(id, []);
    }
    tasksOf.get(id)!.push(task);
    if (isServing(task)) service.endpoints.push(...taskEndpoints(task, options));
  }
  const services = [...byId.values()].sort((a, b) => compare(a.id, b.id));
  for (const s of services) {
    s.endpoints.sort((a, b) =>
      compare(a.taskId, b.taskId) || a.portIndex - b.portIndex || compare(a.protocol, b.protocol)
    );
  }
  return { catalog: { services }, tasks: tasksOf };
}

/**
 * The part of `catalog` a caller may see: the services holding at least one live task
 * `canView` accepts, each with only those tasks' endpoints. A service whose tasks are unknown
 * (`tasksOf` answers undefined, as for a mirrored catalog) is hidden: nothing says who may see it.
 */
export function visibleCatalog(
  catalog: Catalog,
  tasksOf: (serviceId: string) => readonly CatalogTask[] | undefined,
  canView: (task: CatalogTask) => boolean,
): Catalog {
  const services: Service[] = [];
  for (const service of catalog.services) {
    const visible = new Set((tasksOf(service.id) ?? []).filter(canView).map((t) => t.taskId));
    if (visible.size === 0) continue;
    const endpoints = service.endpoints.filter((e) => visible.has(e.taskId));
    services.push(
      endpoints.length === service.endpoints.length ? service : { ...service, endpoints },
    );
  }
  return { services };
}

interface PortSpec {
  number: number;
  name?: string;
  protocols: ("tcp" | "udp")[];
  labels: Record<string, string>;
}

/** The ports of a task: its DiscoveryInfo ports when declared, else its host ports. */
function taskPorts(task: CatalogTask): PortSpec[] {
  const declared = task.discovery?.ports?.ports ?? [];
  if (declared.length > 0) {
    return declared.map((p) => {
      const spec: PortSpec = {
        number: p.number,
        protocols: protocols(p.protocol),
        labels: flatten(p.labels?.labels ?? []),
      };
      if (p.name !== undefined && p.name !== "") spec.name = p.name;
      return spec;
    });
  }
  return task.hostPorts.map((number) => ({ number, protocols: ["tcp"], labels: {} }));
}

function taskEndpoints(task: CatalogTask, options: CatalogOptions): Endpoint[] {
  const out: Endpoint[] = [];
  taskPorts(task).forEach((port, index) => {
    if (port.number === 0) return;
    const servicePort = servicePortOf(task.labels, port.labels, index);
    for (const protocol of port.protocols) {
      const endpoint: Endpoint = {
        taskId: task.taskId,
        host: task.agentHostname,
        ip: task.agentIp,
        port: port.number,
        portIndex: index,
        protocol,
        weight: weightOf(task.labels, index),
        vhosts: vhostsOf(task.labels, index, port.labels),
        balance: balanceOf(task.labels, index) ?? options.defaultBalance ?? "roundrobin",
      };
      if (port.name !== undefined) endpoint.portName = port.name;
      if (servicePort !== undefined) endpoint.servicePort = servicePort;
      const groups = groupsOf(task.labels, index);
      if (groups.length > 0) endpoint.groups = groups;
      out.push(endpoint);
    }
  });
  return out;
}

function protocols(raw: string | undefined): ("tcp" | "udp")[] {
  const parts = (raw ?? "tcp").toLowerCase().split(",").map((s) => s.trim());
  const out = (["tcp", "udp"] as const).filter((p) => parts.includes(p));
  return out.length > 0 ? [...out] : ["tcp"];
}

function flatten(labels: readonly { key: string; value?: string }[]): Record<string, string> {
  return Object.fromEntries(labels.map((l) => [l.key, l.value ?? ""]));
}

function port(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `HAPROXY_{n}_PORT`, then discovery port label `service_port`, then `TENDER_SERVICE_PORTS`. */
function servicePortOf(
  labels: Record<string, string>,
  portLabels: Record<string, string>,
  index: number,
): number | undefined {
  return port(labels[`HAPROXY_${index}_PORT`]) ?? port(portLabels["service_port"]) ??
    port(labels["TENDER_SERVICE_PORTS"]?.split(",")[index]);
}

/** `TENDER_{n}_WEIGHT`, `TENDER_WEIGHT`, then `HAPROXY_{n}_BACKEND_WEIGHT`; default 1. */
function weightOf(labels: Record<string, string>, index: number): number {
  for (
    const key of [`TENDER_${index}_WEIGHT`, "TENDER_WEIGHT", `HAPROXY_${index}_BACKEND_WEIGHT`]
  ) {
    const raw = labels[key]?.trim();
    if (raw !== undefined && /^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  }
  return 1;
}

/**
 * `HAPROXY_{n}_VHOST` and `TENDER_{n}_VHOST` (plus `TENDER_VHOST` for port 0), comma lists;
 * and a port's own `TENDER_VHOST` label (a Marathon pod endpoint's labels are its port's).
 */
function vhostsOf(
  labels: Record<string, string>,
  index: number,
  portLabels: Record<string, string>,
): string[] {
  const keys = [`HAPROXY_${index}_VHOST`, `TENDER_${index}_VHOST`];
  if (index === 0) keys.push("TENDER_VHOST");
  const raw = [...keys.map((k) => labels[k]), portLabels["TENDER_VHOST"]]
    .filter((v) => v !== undefined);
  if (raw.length === 0) return [];
  const hosts = raw.flatMap((v) => v.split(",")).map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  return [...new Set(hosts)].sort();
}

/** `HAPROXY_{n}_GROUP`, else `HAPROXY_GROUP` (marathon-lb's): a comma list of router groups. */
function groupsOf(labels: Record<string, string>, index: number): string[] {
  const raw = labels[`HAPROXY_${index}_GROUP`] ?? labels["HAPROXY_GROUP"] ?? "";
  return [...new Set(raw.split(",").map((g) => g.trim()).filter((g) => g !== ""))].sort();
}

/** `TENDER_BALANCE` or `HAPROXY_{n}_BALANCE`: `leastconn` or `roundrobin`. */
function balanceOf(labels: Record<string, string>, index: number): Balance | undefined {
  const raw = (labels[`HAPROXY_${index}_BALANCE`] ?? labels["TENDER_BALANCE"])?.trim()
    .toLowerCase();
  return raw === "roundrobin" || raw === "leastconn" ? raw : undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The changes that turn catalog `a` into catalog `b`, in service-id order. */
export function diffCatalog(a: Catalog, b: Catalog): CatalogChange[] {
  const before = new Map(a.services.map((s) => [s.id, s]));
  const after = new Map(b.services.map((s) => [s.id, s]));
  const changes: CatalogChange[] = [];
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort(compare);
  for (const id of ids) {
    const old = before.get(id);
    const now = after.get(id);
    if (now === undefined) changes.push({ type: "removed", id });
    else if (old === undefined) changes.push({ type: "added", service: now });
    else if (JSON.stringify(old) !== JSON.stringify(now)) {
      changes.push({ type: "updated", service: now });
    }
  }
  return changes;
}

/** Applies changes from `diffCatalog()` to a catalog (what a router does with the stream). */
export function applyChanges(catalog: Catalog, changes: readonly CatalogChange[]): Catalog {
  const byId = new Map(catalog.services.map((s) => [s.id, s]));
  for (const change of changes) {
    if (change.type === "removed") byId.delete(change.id);
    else byId.set(change.service.id, change.service);
  }
  return { services: [...byId.values()].sort((x, y) => compare(x.id, y.id)) };
}

/** Finds a service by id (`web-prod.marathon`), bare name (`web-prod`) or app id (`/prod/web`). */
export function findService(catalog: Catalog, key: string): Service | undefined {
  const k = key.toLowerCase();
  return catalog.services.find((s) => s.id === k) ??
    catalog.services.find((s) => s.name === k) ??
    catalog.services.find((s) => s.appId === key || s.appId === `/${key}`);
}
