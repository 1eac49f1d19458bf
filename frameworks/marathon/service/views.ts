/**
 * The JSON Marathon answers with: AppInfo (app + counts + deployments + tasks), Task, and the
 * group tree (stored groups and those app and pod ids imply). Pure renderers over canonical apps
 * and instances.
 */
import type { App } from "../app/normalize.ts";
import { ServicePortAllocator } from "../placement/service_ports.ts";
import { isChildOf, parentId, segments } from "../app/path_id.ts";
import type { GroupRecord } from "../store/group_record.ts";
import { type Condition, type Instance, isActive } from "../model/instance.ts";
import { isHealthy } from "../deployment/reconcile.ts";

const TASK_STATE: Record<Condition, string> = {
  Scheduled: "TASK_STAGING",
  Provisioned: "TASK_STAGING",
  Staging: "TASK_STAGING",
  Starting: "TASK_STARTING",
  Running: "TASK_RUNNING",
  Killing: "TASK_KILLING",
  Unreachable: "TASK_UNREACHABLE",
  UnreachableInactive: "TASK_UNREACHABLE",
  Finished: "TASK_FINISHED",
  Failed: "TASK_FAILED",
  Killed: "TASK_KILLED",
  Error: "TASK_ERROR",
  Gone: "TASK_GONE",
  Dropped: "TASK_DROPPED",
  Unknown: "TASK_UNKNOWN",
  // Marathon's Condition.toMesosTaskStateOrStaging: a reserved instance shows as staging.
  Reserved: "TASK_STAGING",
};

/** What an AppInfo embeds beyond the counts and deployments always shown. */
export interface Embed {
  tasks: boolean;
  /** Marathon's `lastTaskFailure`, shown when known. */
  lastTaskFailure?: unknown;
}

/**
 * Marathon's Task JSON for an instance. A resident one shows its `localVolumes`; while it only
 * holds its reservation (no task runs) it shows no ports, times or version, as Marathon.
 */
export function taskJson(app: App | undefined, i: Instance): Record<string, unknown> {
  const waiting = i.condition === "Reserved";
  return {
    id: i.taskId,
    appId: i.appId,
    host: i.hostname ?? "",
    ports: waiting ? [] : i.hostPorts,
    servicePorts: app ? ServicePortAllocator.portsOf(app) : [],
    slaveId: i.agentId ?? "",
    state: TASK_STATE[i.condition],
    ...(waiting ? {} : { stagedAt: new Date(i.stagedAt).toISOString() }),
    ...(i.startedAt !== undefined && !waiting
      ? { startedAt: new Date(i.startedAt).toISOString() }
      : {}),
    ...(waiting ? {} : { version: i.version }),
    ...(i.reservation ? { localVolumes: i.reservation.volumes } : {}),
    ipAddresses: i.ipAddress ? [{ ipAddress: i.ipAddress, protocol: "IPv4" }] : [],
    healthCheckResults: i.healthy === undefined ? [] : [{
      alive: i.healthy,
      consecutiveFailures: i.healthy ? 0 : 1,
      firstSuccess: null,
      lastSuccess: null,
      lastFailure: null,
      lastFailureCause: null,
      instanceId: i.instanceId,
    }],
  };
}

/** Marathon's AppInfo: the app with task counts, deployments and optionally tasks. */
export function appInfo(
  app: App,
  instances: readonly Instance[],
  lock: string | undefined,
  embed: Embed,
): Record<string, unknown> {
  const active = instances.filter(isActive);
  // Reserved instances are listed too, running or not (a suspended app's reservations).
  const listed = instances.filter((i) => isActive(i) || i.condition === "Reserved");
  const withChecks = app.healthChecks.length > 0;
  return {
    ...app,
    tasksStaged:
      active.filter((i) =>
        ["Scheduled", "Provisioned", "Staging", "Starting"].includes(i.condition)
      )
        .length,
    tasksRunning: active.filter((i) => i.condition === "Running").length,
    tasksHealthy: withChecks ? active.filter((i) => isHealthy(app, i)).length : 0,
    tasksUnhealthy: withChecks
      ? active.filter((i) => i.condition === "Running" && i.healthy === false).length
      : 0,
    deployments: lock ? [{ id: lock }] : [],
    ...(embed.tasks ? { tasks: listed.map((i) => taskJson(app, i)) } : {}),
    ...(embed.lastTaskFailure !== undefined ? { lastTaskFailure: embed.lastTaskFailure } : {}),
  };
}

/** A group of the tree. */
export interface GroupView {
  id: string;
  apps?: Record<string, unknown>[];
  groups?: GroupView[];
  /** Marathon's `PodStatus` of each pod directly in the group. */
  pods?: Record<string, unknown>[];
  dependencies: string[];
  enforceRole?: boolean;
  version: string;
}

/** A pod as the group tree shows it: its id, version and rendered `PodStatus`. */
export interface GroupPod {
  id: string;
  version?: string;
  status: Record<string, unknown>;
}

/** What a group tree shows besides its apps and groups. */
export interface GroupTreeOptions {
  /** Which of `apps`, `groups` and `pods` are shown (Marathon's `group.…` embeds; all by default). */
  embed?: GroupEmbed;
  /** The pods of the tree, shown in their groups as Marathon does (`pods`: their `PodStatus`). */
  pods?: readonly GroupPod[];
}

/**
 * The group tree rooted at `rootId`: the groups `records` name and those the app and pod ids
 * imply (an app `/a/b/c` lies in `/a/b` and `/a`), with `apps` rendered by `render`. A group
 * without a record shows its newest app's or pod's version; the root shows `rootVersion`.
 */
export function groupTree(
  rootId: string,
  apps: readonly App[],
  records: readonly GroupRecord[],
  render: (app: App) => Record<string, unknown>,
  rootVersion: string,
  options: GroupTreeOptions = {},
): GroupView {
  const embed = options.embed ?? { apps: true, groups: true, pods: true };
  const pods = options.pods ?? [];
  const byId = new Map(records.map((r) => [r.id, r]));
  const ids = new Set<string>();
  const members = [...apps, ...pods];
  for (const group of [...records.map((r) => r.id), ...members.map((m) => parentId(m.id))]) {
    const s = segments(group);
    for (let n = 1; n <= s.length; n++) ids.add("/" + s.slice(0, n).join("/"));
  }
  const build = (id: string): GroupView => {
    const below = members.filter((m) => isChildOf(m.id, id));
    const record = byId.get(id);
    const newest = below.map((m) => m.version ?? "").sort().at(-1);
    return {
      id,
      ...(embed.apps
        ? {
          apps: apps.filter((a) => parentId(a.id) === id)
            .sort((a, b) => a.id.localeCompare(b.id)).map(render),
        }
        : {}),
      ...(embed.groups
        ? { groups: [...ids].filter((g) => parentId(g) === id && g !== id).sort().map(build) }
        : {}),
      ...(embed.pods
        ? {
          pods: pods.filter((p) => parentId(p.id) === id)
            .sort((a, b) => a.id.localeCompare(b.id)).map((p) => p.status),
        }
        : {}),
      dependencies: record?.dependencies ?? [],
      ...(id === "/" ? {} : { enforceRole: record?.enforceRole ?? false }),
      version: id === "/" ? rootVersion : record?.version ?? newest ?? rootVersion,
    };
  };
  return build(rootId);
}

/** Which parts a group view shows. */
export interface GroupEmbed {
  apps: boolean;
  groups: boolean;
  pods: boolean;
}

/** Whether group `id` exists among `records` or is implied by an app or pod below it. */
export function groupExists(
  id: string,
  apps: readonly { id: string }[],
  records: readonly { id: string }[],
): boolean {
  return id === "/" || records.some((r) => r.id === id) || apps.some((a) => isChildOf(a.id, id));
}
