/**
 * Group changes and group history: a group body (`PUT /v2/groups/{id}`) replaces every app and
 * group below the group (those left out are removed), `{"scaleBy": f}` scales each app, and
 * `{"version": v}` rolls the group back to how it was at root version `v` (winning over
 * `scaleBy`, as in Marathon). Deleting a group removes all below it. `dryRun` answers the steps
 * without deploying. Every deployment stores a root version; a group's versions are the root
 * versions it existed in.
 */
import { TenderError } from "../../../base/mod.ts";
import { allApps, allGroups, parseGroup } from "../app/group.ts";
import type { App } from "../app/normalize.ts";
import { isChildOf, pathIdErrors, resolvePathId, segments } from "../app/path_id.ts";
import type { GroupRecord, RootSnapshot } from "../store/group_record.ts";
import type { DeploymentResult, MarathonService, MutationOptions } from "./marathon_service.ts";
import { objectBody } from "./merge.ts";
import { groupExists } from "./views.ts";
import { putGroup } from "../core/deploy.ts";
import { runOperation } from "../runtime.ts";

/** Whether `id` is group `groupId` or lies below it (everything lies below the root). */
function within(id: string, groupId: string): boolean {
  return id === groupId || isChildOf(id, groupId);
}

/** Replaces, scales or rolls back group `id`. */
/**
 * The group a PUT changes: the URL's, or the body's `id` resolved against it (as Marathon's
 * `canonicalPath`). An id that climbs above the root is refused, naming the field, rather
 * than clamped to the root (which replaced the root group, deleting every app).
 */
function targetGroup(urlId: string, bodyId: unknown): string {
  const base = resolvePathId(urlId);
  if (bodyId === undefined) return base;
  if (typeof bodyId !== "string") {
    throw new TenderError("unprocessable", "Object is not valid", [
      { path: "/id", errors: ["must be a string"] },
    ]);
  }
  const errors = pathIdErrors(bodyId, base).filter((e) => !e.startsWith("Path must contain"));
  if (errors.length > 0) {
    throw new TenderError("unprocessable", "Object is not valid", [{ path: "/id", errors }]);
  }
  return resolvePathId(bodyId, base);
}

export async function updateGroup(
  service: MarathonService,
  id: string,
  body: unknown,
  options: MutationOptions & { dryRun?: boolean },
): Promise<DeploymentResult> {
  const store = service.store;
  const raw = objectBody(body) ?? {};
  const groupId = targetGroup(id, raw["id"]);
  const apps = (await store.state()).apps().filter((a) => within(a.id, groupId));
  const records = (await store.state()).groups().filter((g) => within(g.id, groupId));
  if (raw["version"] !== undefined) {
    if (typeof raw["version"] !== "string") {
      throw new TenderError("unprocessable", "version must be a timestamp string");
    }
    const past = await groupAt(service, groupId, raw["version"]);
    const keep = new Set(past.apps.map((a) => a.id));
    const keepGroups = new Set(past.groups.map((g) => g.id));
    return await service.deploy({
      ...options,
      put: past.apps,
      remove: apps.filter((a) => !keep.has(a.id)).map((a) => a.id),
      groups: {
        put: past.groups,
        remove: records.filter((g) => !keepGroups.has(g.id)).map((g) => g.id),
      },
    });
  }
  if (raw["scaleBy"] !== undefined) {
    const factor = raw["scaleBy"];
    if (typeof factor !== "number" || !(factor >= 0)) {
      throw new TenderError("unprocessable", "scaleBy must be a non-negative number");
    }
    const put = apps.map((a) => ({ ...a, instances: Math.ceil(a.instances * factor) }));
    return await service.deploy({ ...options, put });
  }
  const group = parseGroup({ ...raw, id: groupId });
  const put = allApps(group);
  const groups = allGroups(group);
  const keep = new Set(put.map((a) => a.id));
  const keepGroups = new Set(groups.map((g) => g.id));
  return await service.deploy({
    ...options,
    put,
    remove: apps.filter((a) => !keep.has(a.id)).map((a) => a.id),
    groups: { put: groups, remove: records.filter((g) => !keepGroups.has(g.id)).map((g) => g.id) },
  });
}

/**
 * Removes group `id` with every app, pod and group below it; 404 when it does not exist. The
 * apps and groups go in one deployment (the answer's), each pod in a deployment of its own after
 * it; every path is authorized before anything is stored.
 */
export async function deleteGroup(
  service: MarathonService,
  id: string,
  options: MutationOptions,
): Promise<DeploymentResult> {
  const groupId = resolvePathId(id);
  const apps = (await service.store.state()).apps();
  const pods = (await service.store.state()).pods();
  const records = (await service.store.state()).groups();
  if (!groupExists(groupId, [...apps, ...pods], records)) {
    throw new TenderError("not_found", `Group '${groupId}' does not exist`);
  }
  const podIds = pods.filter((p) => within(p.id, groupId)).map((p) => p.id);
  for (const podId of podIds) options.authorize?.("delete_apps", podId);
  const result = await service.deploy({
    force: true,
    ...options,
    put: [],
    remove: apps.filter((a) => within(a.id, groupId)).map((a) => a.id),
    groups: { remove: records.filter((g) => within(g.id, groupId)).map((g) => g.id) },
  });
  for (const podId of podIds) await service.deployPod({ force: true, ...options, remove: podId });
  return result;
}

/** `PATCH /v2/groups/{id}`: sets or clears `enforceRole` of a top-level group, deploying nothing. */
export async function patchGroup(
  service: MarathonService,
  id: string,
  body: unknown,
  options: Pick<MutationOptions, "authorize"> = {},
) {
  const groupId = resolvePathId(id);
  if (segments(groupId).length !== 1) {
    throw new TenderError("unprocessable", "Object is not valid", [
      { path: "/", errors: [`Path ${groupId} is not a top-level group`] },
    ]);
  }
  const raw = objectBody(body);
  const enforceRole = raw?.["enforceRole"];
  if (!raw || (enforceRole !== undefined && typeof enforceRole !== "boolean")) {
    throw new TenderError("unprocessable", "Invalid JSON", [
      { path: "/enforceRole", errors: ["error.expected.jsboolean"] },
    ]);
  }
  const store = service.store;
  const apps = (await store.state()).apps();
  const records = (await store.state()).groups();
  if (!groupExists(groupId, apps, records)) {
    throw new TenderError("not_found", `Group '${groupId}' does not exist`);
  }
  options.authorize?.("update_apps", groupId);
  const record = records.find((g) => g.id === groupId) ?? {
    id: groupId,
    dependencies: [],
    version: apps.filter((a) => isChildOf(a.id, groupId)).map((a) => a.version ?? "").sort()
      .at(-1) ?? "",
  };
  const group = { ...record, enforceRole: enforceRole ?? false };
  await runOperation({ store, attempts: 1 }, () => putGroup(group));
}

/** The root versions group `id` existed in, newest first; 404 when it does not exist now. */
export async function groupVersions(service: MarathonService, id: string): Promise<string[]> {
  const groupId = resolvePathId(id);
  const store = service.store;
  if (!groupExists(groupId, (await store.state()).apps(), (await store.state()).groups())) {
    throw new TenderError("not_found", `Group '${groupId}' does not exist`);
  }
  const out: string[] = [];
  for (const version of (await store.state()).rootVersions()) {
    const snapshot = await store.getRootVersion(version);
    if (snapshot && inSnapshot(snapshot, groupId)) out.push(version);
  }
  return out;
}

/** Group `id` as it was at root version `version`: its apps' stored versions and its groups. */
export async function groupAt(
  service: MarathonService,
  id: string,
  version: string,
): Promise<{ apps: App[]; groups: GroupRecord[]; snapshot: RootSnapshot }> {
  const groupId = resolvePathId(id);
  const snapshot = await service.store.getRootVersion(version);
  if (!snapshot || !inSnapshot(snapshot, groupId)) {
    throw new TenderError("not_found", `Group '${groupId}' does not exist in version ${version}`);
  }
  const apps: App[] = [];
  for (const [appId, appVersion] of snapshot.apps) {
    if (!within(appId, groupId)) continue;
    const app = await service.store.getVersion(appId, appVersion);
    if (!app) throw new TenderError("not_found", `App '${appId}' version ${appVersion} is gone`);
    apps.push(app);
  }
  return { apps, groups: snapshot.groups.filter((g) => within(g.id, groupId)), snapshot };
}

function inSnapshot(snapshot: RootSnapshot, groupId: string): boolean {
  return groupExists(groupId, snapshot.apps.map(([id]) => ({ id })), snapshot.groups);
}
