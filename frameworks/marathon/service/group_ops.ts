/**
 * Group changes (`PUT /v2/groups/{id}`, `DELETE /v2/groups/{id}`): a group body replaces every
 * app below the group (apps left out are removed), `{"scaleBy": f}` scales each of them, and
 * deleting a group removes all its apps. `dryRun` answers the steps without deploying.
 */
import { TenderError } from "../../../protocol/mod.ts";
import { allApps, parseGroup } from "../app/group.ts";
import { isChildOf, resolvePathId } from "../app/path_id.ts";
import type { DeploymentResult, MarathonService, MutationOptions } from "./marathon_service.ts";

/** Replaces (or scales) the apps of group `id`. */
export async function updateGroup(
  service: MarathonService,
  id: string,
  body: unknown,
  options: MutationOptions & { dryRun?: boolean },
): Promise<DeploymentResult> {
  const groupId = resolvePathId(id);
  const current = (await service.store.listApps()).filter((a) =>
    groupId === "/" || isChildOf(a.id, groupId)
  );
  const raw = typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
  if (typeof raw["scaleBy"] === "number") {
    const factor = raw["scaleBy"];
    if (!(factor >= 0)) {
      throw new TenderError("unprocessable", "scaleBy must be a non-negative number");
    }
    const put = current.map((a) => ({ ...a, instances: Math.ceil(a.instances * factor) }));
    return await service.deploy({ ...options, put });
  }
  const group = parseGroup({ ...raw, id: groupId });
  const put = allApps(group);
  const keep = new Set(put.map((a) => a.id));
  const remove = current.filter((a) => !keep.has(a.id)).map((a) => a.id);
  return await service.deploy({ ...options, put, remove });
}

/** Removes every app of group `id`; 404 when the group holds none. */
export async function deleteGroup(
  service: MarathonService,
  id: string,
  options: MutationOptions,
): Promise<DeploymentResult> {
  const groupId = resolvePathId(id);
  const apps = (await service.store.listApps()).filter((a) =>
    groupId === "/" || isChildOf(a.id, groupId)
  );
  if (apps.length === 0 && groupId !== "/") {
    throw new TenderError("not_found", `Group '${groupId}' does not exist`);
  }
  return await service.deploy({ force: true, ...options, put: [], remove: apps.map((a) => a.id) });
}
