/**
 * The Marathon application layer: every API mutation becomes new app (or pod) versions plus one
 * deployment (planned, stored atomically with its locks, announced on the event bus). Reads
 * render Marathon's JSON. The scheduler drives deployments to completion via `syncDeployments`.
 */
import { type Clock, type Ids, TenderError } from "../../../base/mod.ts";
import { allApps, allGroups, parseGroup } from "../app/group.ts";
import type { App } from "../app/normalize.ts";
import { parseApp } from "../app/parse.ts";
import { isChildOf, resolvePathId, segments } from "../app/path_id.ts";
import { checkVhostClaims } from "./vhosts.ts";
import {
  type DeploymentPlan,
  isConfigChange,
  planDeployment,
  planPodDeployment,
} from "../deployment/plan.ts";
import { isPodConfigChange } from "../pod/run_spec.ts";
import type { Pod } from "../pod/schema.ts";
import type { EventBus } from "../events/event_bus.ts";
import { ServicePortAllocator } from "../placement/service_ports.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import type { GroupRecord } from "../store/group_record.ts";
import type { MarathonStore } from "../store/store.ts";
import { mergeUpdate, rollbackVersion } from "./merge.ts";
import { planOf, stepsJson, syncDeployments } from "../core/deployments.ts";
import { runOperation } from "../runtime.ts";
import { endDeployment, startDeployment, startPodDeployment } from "../core/deploy.ts";
import { appSecretViolations, sourceViolations } from "../secrets/app_secrets.ts";
import { residentViolations } from "../app/resident.ts";
import type { SecretStore } from "../secrets/secret_store.ts";

/** What the service needs. */
export interface MarathonServiceDeps {
  store: MarathonStore;
  clock: Clock;
  ids: Ids;
  events: EventBus;
  servicePorts?: ServicePortAllocator;
  /** Where apps' `secrets` are looked up (absent: an app that declares any is a 422). */
  secrets?: SecretStore;
  /** The role Marathon registers with (`--mesos-role`; default `*`): resident apps need one. */
  role?: string;
}

/** Per-request options of a mutation. */
export interface MutationOptions {
  force?: boolean;
  clientIp?: string;
  uri?: string;
  /**
   * Asked, before anything is stored, for every app, pod and group path the mutation creates,
   * updates or deletes; throws (a 403) to refuse the whole mutation. Default: all allowed.
   */
  authorize?: AuthorizeChange;
}

/** What a mutation does to a path, as the ACL actions name it. */
export type ChangeAction = "create_apps" | "update_apps" | "delete_apps";

/** Refuses (throws) a change of `path` the requester may not make. */
export type AuthorizeChange = (action: ChangeAction, path: string) => void;

/** What a deployable call answers (`{deploymentId, version}`), plus the written apps. */
export interface DeploymentResult {
  deploymentId: string;
  version: string;
  apps: App[];
  steps: DeploymentPlan["steps"];
}

/** A change of apps, the input of `MarathonService.deploy`. */
export interface DeployRequest extends MutationOptions {
  put: App[];
  remove?: string[];
  restart?: string[];
  mustBeNew?: string[];
  mustExist?: string[];
  /** Whether an app counts as a config change (default: `isConfigChange`; new apps always). */
  configChanged?: (before: App | undefined, after: App) => boolean;
  /** Keep each put app's own `lastConfigChangeAt` (a rollback restores a stored version). */
  keepConfigVersion?: boolean;
  /** Plan only: nothing is stored or announced. */
  dryRun?: boolean;
  /**
   * Groups written (a parsed group or a stored record: the version is set here) and removed,
   * with the groups below them. Every group enclosing a changed app or group is created if
   * missing and takes the new version.
   */
  groups?: { put?: readonly GroupSpec[]; remove?: readonly string[] };
}

/** A change of one pod, the input of `MarathonService.deployPod`. */
export interface PodDeployRequest extends MutationOptions {
  /** The pod to write… */
  put?: Pod;
  /** …or the id of the pod to remove. */
  remove?: string;
  mustBeNew?: boolean;
  mustExist?: boolean;
  /** Keep the put pod's own `lastConfigChangeAt` (a revert restores a stored version). */
  keepConfigVersion?: boolean;
}

/** What a pod deployment answers. */
export interface PodDeploymentResult {
  deploymentId: string;
  version: string;
  /** The pod written (undefined when removed). */
  pod?: Pod;
}

/** A group to store, as parsed from a body or read back from a root version. */
export interface GroupSpec {
  id: string;
  dependencies: string[];
  enforceRole?: boolean;
}

/** Marathon's operations over the store. */
export class MarathonService {
  readonly #d: MarathonServiceDeps;
  readonly #ports: ServicePortAllocator;
  #lastVersion = 0;

  constructor(deps: MarathonServiceDeps) {
    this.#d = deps;
    this.#ports = deps.servicePorts ?? new ServicePortAllocator();
  }

  get store(): MarathonStore {
    return this.#d.store;
  }

  /** `POST /v2/apps`: a new app; 409 when the id exists. */
  async createApp(raw: unknown, options: MutationOptions = {}): Promise<DeploymentResult> {
    const app = parseApp(raw);
    return await this.deploy({ ...options, put: [app], mustBeNew: [app.id] });
  }

  /** `PUT /v2/apps/{id}`: create, replace, merge (`partialUpdate`) or roll back. */
  async putApp(
    id: string,
    body: unknown,
    options: MutationOptions & { partialUpdate?: boolean },
  ): Promise<DeploymentResult & { created: boolean }> {
    const appId = resolvePathId(id);
    const current = (await this.#d.store.state()).app(appId);
    const rollback = rollbackVersion(body);
    if (rollback !== undefined) {
      const stored = await this.#d.store.getVersion(appId, rollback);
      if (!stored) {
        throw new TenderError("not_found", `App '${appId}' does not exist in version ${rollback}`);
      }
      return {
        ...(await this.deploy({ ...options, put: [stored] })),
        created: current === undefined,
      };
    }
    const raw = mergeUpdate(options.partialUpdate === false ? undefined : current, body, appId);
    const result = await this.deploy({ ...options, put: [parseApp(raw)] });
    return { ...result, created: current === undefined };
  }

  /** `PATCH /v2/apps/{id}`: a partial update of an existing app. */
  async patchApp(
    id: string,
    body: unknown,
    options: MutationOptions = {},
  ): Promise<DeploymentResult> {
    const appId = resolvePathId(id);
    const current = (await this.#d.store.state()).app(appId);
    if (!current) throw new TenderError("not_found", `App '${appId}' does not exist`);
    return await this.deploy({
      ...options,
      put: [parseApp(mergeUpdate(current, body, appId))],
      mustExist: [appId],
    });
  }

  /** `PUT /v2/apps`: create or update many apps at once (partial updates). */
  async putApps(body: unknown, options: MutationOptions = {}): Promise<DeploymentResult> {
    if (!Array.isArray(body)) throw new TenderError("unprocessable", "Expected an array of apps");
    const apps: App[] = [];
    for (const raw of body) {
      const id = typeof raw === "object" && raw !== null && "id" in raw ? String(raw.id) : "";
      const appId = resolvePathId(id);
      apps.push(parseApp(mergeUpdate((await this.#d.store.state()).app(appId), raw, appId)));
    }
    return await this.deploy({ ...options, put: apps });
  }

  /** `DELETE /v2/apps/{id}`: stops and removes an app (force defaults to true, as Marathon). */
  async deleteApp(id: string, options: MutationOptions = {}): Promise<DeploymentResult> {
    const appId = resolvePathId(id);
    return await this.deploy({ force: true, ...options, put: [], remove: [appId] });
  }

  /** `POST /v2/apps/{id}/restart`: a new version with the same config, rolled out. */
  async restartApp(id: string, options: MutationOptions = {}): Promise<DeploymentResult> {
    const appId = resolvePathId(id);
    const current = (await this.#d.store.state()).app(appId);
    if (!current) throw new TenderError("not_found", `App '${appId}' does not exist`);
    return await this.deploy({
      ...options,
      put: [current],
      restart: [appId],
      configChanged: () => true,
    });
  }

  /** `POST /v2/groups`: creates every app of a group tree; 409 when any exists. */
  async createGroup(
    body: unknown,
    options: MutationOptions & { groupId?: string } = {},
  ): Promise<DeploymentResult> {
    const withId = typeof body === "object" && body !== null && !("id" in body) && options.groupId
      ? { ...body, id: options.groupId }
      : body;
    const group = parseGroup(withId);
    const store = this.#d.store;
    const apps = (await store.state()).apps();
    if (
      group.id === "/" || (await store.state()).groups().some((g) => g.id === group.id) ||
      apps.some((a) => isChildOf(a.id, group.id))
    ) {
      throw new TenderError(
        "conflict",
        `Group ${group.id} is already created. Use PUT to change this group.`,
      );
    }
    if (apps.some((a) => a.id === group.id)) {
      throw new TenderError("conflict", `An app with the path ${group.id} already exists.`);
    }
    const put = allApps(group);
    return await this.deploy({
      ...options,
      put,
      mustBeNew: put.map((a) => a.id),
      groups: { put: allGroups(group) },
    });
  }

  /**
   * `DELETE /v2/deployments/{id}`: with `force` the deployment just stops (undefined answer,
   * 202); otherwise a new deployment reverts its apps to their versions before it.
   */
  async cancelDeployment(
    id: string,
    options: MutationOptions = {},
  ): Promise<DeploymentResult | undefined> {
    const record = (await this.#d.store.state()).deployment(id);
    if (!record) throw new TenderError("not_found", `DeploymentPlan ${id} does not exist`);
    const podId = record.pods?.[0];
    if (!options.force && podId !== undefined) {
      const version = record.originalVersions[podId] ?? null;
      const original = version === null
        ? undefined
        : await this.#d.store.getPodVersion(podId, version);
      const revert = original
        ? await this.deployPod({ ...options, force: true, put: original, keepConfigVersion: true })
        : await this.deployPod({ ...options, force: true, remove: podId });
      return { deploymentId: revert.deploymentId, version: revert.version, apps: [], steps: [] };
    }
    if (options.force) {
      await runOperation(
        { store: this.#d.store, attempts: 1 },
        (books) => endDeployment(books, id),
      );
      this.#d.events.publish("deployment_failed", {
        id,
        plan: planOf(record),
        reason: "cancelled",
      });
      return undefined;
    }
    const put: App[] = [];
    const remove: string[] = [];
    for (const [appId, version] of Object.entries(record.originalVersions)) {
      const original = version === null
        ? undefined
        : await this.#d.store.getVersion(appId, version);
      if (original) put.push(original);
      else if ((await this.#d.store.state()).app(appId)) remove.push(appId);
    }
    // The restored versions keep their config version, so instances still on it are kept.
    return await this.deploy({ ...options, force: true, put, remove, keepConfigVersion: true });
  }

  /**
   * Checks every deployment against the apps and instances: advances steps, ends finished
   * deployments and announces both. Called by the scheduler after changes and periodically.
   */
  async syncDeployments(): Promise<void> {
    // A deployment that ended or changed meanwhile (cancelled, replaced) is looked at again; one
    // that still races is left to the next pass.
    await won(runOperation(this.#d, syncDeployments));
  }

  /**
   * 422 naming `/secrets/<name>/source` when a secret of an app or a pod cannot be given to its
   * tasks (a pod's secret volumes are checked by `validatePod`).
   */
  async #checkSecrets(owners: readonly (App | Pod)[]): Promise<void> {
    const store = this.#d.secrets;
    const exists = store ? (path: string) => store.has(path) : undefined;
    for (const owner of owners) {
      const violations = "containers" in owner
        ? await sourceViolations(owner, exists)
        : await appSecretViolations(owner, exists);
      if (violations.length > 0) {
        throw new TenderError("unprocessable", "Object is not valid", violations);
      }
    }
  }

  /** Plans `req` as new app versions plus one deployment, stores it and announces it. */
  async deploy(req: DeployRequest): Promise<DeploymentResult> {
    const store = this.#d.store;
    const version = this.#nextVersion();
    const allCurrent = (await store.state()).apps();
    const current = new Map(allCurrent.map((a) => [a.id, a]));
    const ids = [...new Set([...req.put.map((a) => a.id), ...(req.remove ?? [])])];
    const original = new Map(
      ids.flatMap((id) => (current.has(id) ? [[id, current.get(id)!] as const] : [])),
    );
    // Authorized before any other check: a refused caller learns nothing of others' apps.
    const heldGroups = (await store.state()).groups();
    const groups = groupChanges(heldGroups, req.groups, ids, version);
    if (req.authorize) {
      const putIds = new Set(req.put.map((a) => a.id));
      authorizeDeploy(req.authorize, { ids, putIds, current, heldGroups, groups });
    }
    const used = new Set(
      allCurrent.filter((a) => !ids.includes(a.id)).flatMap((a) => ServicePortAllocator.portsOf(a)),
    );
    checkVhostClaims(req.put, allCurrent.filter((a) => !ids.includes(a.id)));
    await this.#checkSecrets(req.put);
    for (const app of req.put) {
      const before = current.get(app.id);
      const violations = residentViolations(app, {
        role: this.#d.role ?? "*",
        ...(before ? { previous: before } : {}),
      });
      if (violations.length > 0) {
        throw new TenderError("unprocessable", "Object is not valid", violations);
      }
    }
    const configChanged = req.configChanged ??
      ((b: App | undefined, a: App) => !b || isConfigChange(b, a));
    const put = req.put.map((raw) => {
      const before = current.get(raw.id);
      const app = this.#ports.assign(raw, { used, ...(before ? { previous: before } : {}) });
      for (const p of ServicePortAllocator.portsOf(app)) used.add(p);
      const changed = configChanged(before, app);
      const kept = req.keepConfigVersion ? raw.versionInfo?.lastConfigChangeAt : undefined;
      const lastConfigChangeAt = kept ??
        (changed ? version : before?.versionInfo?.lastConfigChangeAt ?? version);
      return { ...app, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt } };
    });
    const target = new Map(original);
    for (const id of req.remove ?? []) target.delete(id);
    for (const app of put) target.set(app.id, app);
    const groupsAfter = new Map(groups.after.map((g) => [g.id, g]));
    const id = this.#d.ids.uuid();
    const plan = planDeployment({
      id,
      version,
      original,
      target,
      restart: new Set(req.restart ?? []),
      // Marathon: a group's dependencies are every transitive member's.
      dependencies: (app) => [
        ...(app.dependencies ?? []),
        ...ancestors(app.id).flatMap((g) => groupsAfter.get(g)?.dependencies ?? []),
      ],
    });
    const record: DeploymentRecord = {
      ...plan,
      affectedApps: ids.sort(),
      currentStep: 1,
      originalVersions: Object.fromEntries(ids.map((i) => [i, original.get(i)?.version ?? null])),
      startedAt: version,
    };
    if (req.dryRun) return { deploymentId: id, version, apps: put, steps: plan.steps };
    await runOperation({ store, attempts: 1 }, (books) =>
      startDeployment(books, {
        deployment: record,
        put,
        remove: req.remove ?? [],
        mustBeNew: req.mustBeNew ?? [],
        mustExist: req.mustExist ?? [],
        force: req.force ?? false,
        groups: { put: groups.put, remove: groups.remove },
      }));
    for (const app of put) {
      this.#d.events.publish("api_post_event", {
        clientIp: req.clientIp ?? "",
        uri: req.uri ?? "",
        appDefinition: app,
      });
    }
    this.#d.events.publish("group_change_success", { groupId: "/", version });
    this.#d.events.publish("deployment_info", {
      plan: planOf(record),
      currentStep: record.steps[0] ?? { actions: [] },
    });
    // Steps already done (StartApplication, or no steps at all) are passed at once.
    await this.syncDeployments();
    return { deploymentId: id, version, apps: put, steps: plan.steps };
  }

  /**
   * Writes or removes one pod as a new version plus its deployment (`planPodDeployment`), stored
   * atomically with its lock and announced (`pod_created_event`, `pod_updated_event`,
   * `pod_deleted_event`, `deployment_info`). A scale-only change keeps the config version, so
   * running instances stay.
   */
  async deployPod(req: PodDeployRequest): Promise<PodDeploymentResult> {
    const store = this.#d.store;
    const podId = req.put?.id ?? req.remove ?? "";
    const before = (await store.state()).pod(podId);
    req.authorize?.(!req.put ? "delete_apps" : before ? "update_apps" : "create_apps", podId);
    if (req.put) await this.#checkSecrets([req.put]);
    const version = this.#nextVersion();
    let put: Pod | undefined;
    if (req.put) {
      const changed = !before || isPodConfigChange(before, req.put);
      const kept = req.keepConfigVersion ? req.put.versionInfo?.lastConfigChangeAt : undefined;
      const lastConfigChangeAt = kept ??
        (changed ? version : before?.versionInfo?.lastConfigChangeAt ?? version);
      put = { ...req.put, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt } };
    }
    const id = this.#d.ids.uuid();
    const plan = planPodDeployment({
      id,
      version,
      podId,
      ...(before ? { before: { instances: before.scaling.instances } } : {}),
      ...(put ? { after: { instances: put.scaling.instances } } : {}),
      configChanged: put !== undefined && before !== undefined &&
        put.versionInfo?.lastConfigChangeAt !== before.versionInfo?.lastConfigChangeAt,
    });
    const record: DeploymentRecord = {
      ...plan,
      currentStep: 1,
      originalVersions: { [podId]: before?.version ?? null },
      startedAt: version,
      pods: [podId],
    };
    await runOperation({ store, attempts: 1 }, (books) =>
      startPodDeployment(books, {
        deployment: record,
        ...(put ? { put } : { remove: podId }),
        mustBeNew: req.mustBeNew ?? false,
        mustExist: req.mustExist ?? false,
        force: req.force ?? false,
      }));
    const event = !put ? "pod_deleted_event" : before ? "pod_updated_event" : "pod_created_event";
    this.#d.events.publish(event, { clientIp: req.clientIp ?? "", uri: req.uri ?? "" });
    this.#d.events.publish("deployment_info", {
      plan: planOf(record),
      currentStep: stepsJson(record)[0] ?? { actions: [] },
    });
    await this.syncDeployments();
    return { deploymentId: id, version, ...(put ? { pod: put } : {}) };
  }

  #nextVersion(): string {
    this.#lastVersion = Math.max(this.#d.clock.now(), this.#lastVersion + 1);
    return new Date(this.#lastVersion).toISOString();
  }
}

/**
 * Asks `authorize` about each app a deployment writes or removes and each group it creates or
 * removes (a group only re-versioned because something below it changed is not asked about).
 */
function authorizeDeploy(
  authorize: AuthorizeChange,
  change: {
    ids: readonly string[];
    putIds: ReadonlySet<string>;
    current: ReadonlyMap<string, App>;
    heldGroups: readonly GroupRecord[];
    groups: { put: readonly GroupRecord[]; remove: readonly string[] };
  },
): void {
  const held = new Set(change.heldGroups.map((g) => g.id));
  for (const id of change.ids) {
    const action = !change.putIds.has(id)
      ? "delete_apps"
      : change.current.has(id)
      ? "update_apps"
      : "create_apps";
    authorize(action, id);
  }
  for (const g of change.groups.put) if (!held.has(g.id)) authorize("create_apps", g.id);
  for (const id of change.groups.remove) authorize("delete_apps", id);
}

/** The groups enclosing an id, outermost first, root excluded (`/a/b/c` → `/a`, `/a/b`). */
function ancestors(id: string): string[] {
  const s = segments(id);
  return s.slice(0, -1).map((_, n) => "/" + s.slice(0, n + 1).join("/"));
}

/**
 * The group records a deployment writes and removes, and all records after it: the groups put
 * and every group enclosing a changed app or group (created when missing) take `version`;
 * removing a group removes the groups below it.
 */
function groupChanges(
  held: readonly GroupRecord[],
  change: DeployRequest["groups"],
  appIds: readonly string[],
  version: string,
): { put: GroupRecord[]; remove: string[]; after: GroupRecord[] } {
  const byId = new Map(held.map((g) => [g.id, g]));
  const removed = new Set(
    (change?.remove ?? []).flatMap((id) => [
      id,
      ...held.filter((g) => isChildOf(g.id, id)).map((g) => g.id),
    ]),
  );
  const put = new Map<string, GroupRecord>();
  for (const g of change?.put ?? []) {
    // The root group has no record.
    if (g.id === "/") continue;
    put.set(g.id, {
      id: g.id,
      dependencies: g.dependencies,
      enforceRole: g.enforceRole ?? false,
      version,
    });
  }
  for (const id of [...appIds, ...put.keys(), ...(change?.remove ?? [])]) {
    for (const g of ancestors(id)) {
      if (removed.has(g) || put.has(g)) continue;
      put.set(g, { ...(byId.get(g) ?? { id: g, dependencies: [], enforceRole: false }), version });
    }
  }
  for (const id of put.keys()) removed.delete(id);
  const after = new Map(byId);
  for (const id of removed) after.delete(id);
  for (const [id, g] of put) after.set(id, g);
  return {
    put: [...put.values()],
    remove: [...removed].filter((id) => byId.has(id)),
    after: [...after.values()],
  };
}

export { actionJson, planOf, stepsJson } from "../core/deployments.ts";

/** Whether a store change landed; false when the deployment ended or changed meanwhile. */
async function won(change: Promise<unknown>): Promise<boolean> {
  try {
    await change;
    return true;
  } catch (e) {
    if (e instanceof TenderError && (e.code === "not_found" || e.code === "conflict")) return false;
    throw e;
  }
}
