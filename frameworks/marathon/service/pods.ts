/**
 * Pod operations behind `/v2/pods`: create, replace (or create), delete, and kill instances
 * (goal Stopped: the scheduler kills their task groups and launches replacements). Every change
 * is one pod deployment (`MarathonService.deployPod`).
 */
import { TenderError } from "../../../base/mod.ts";
import { setGoals } from "../core/instance_goals.ts";
import { runOperation } from "../runtime.ts";
import { resolvePathId } from "../app/path_id.ts";
import { type Instance, isActive } from "../model/instance.ts";
import { parsePod } from "../pod/parse.ts";
import type { Pod } from "../pod/schema.ts";
import type { MarathonService, MutationOptions, PodDeploymentResult } from "./marathon_service.ts";
import { objectBody } from "./merge.ts";

/** The 404 of a pod that does not exist. */
export function noSuchPod(id: string): TenderError {
  return new TenderError("not_found", `Pod '${id}' does not exist`);
}

/** `POST /v2/pods`: a new pod; 409 when the id is taken (by a pod or an app). */
export async function createPod(
  service: MarathonService,
  body: unknown,
  options: MutationOptions,
): Promise<PodDeploymentResult & { pod: Pod }> {
  const pod = parsePod(body);
  const r = await service.deployPod({ ...options, put: pod, mustBeNew: true });
  return { ...r, pod: r.pod ?? pod };
}

/**
 * `PUT /v2/pods/{id}`: replaces the pod (or creates it). The body's id, when given, must be the
 * path's.
 */
export async function putPod(
  service: MarathonService,
  id: string,
  body: unknown,
  options: MutationOptions,
): Promise<PodDeploymentResult & { pod: Pod; created: boolean }> {
  const podId = resolvePathId(id);
  const raw = objectBody(body);
  if (!raw) {
    throw new TenderError("unprocessable", "Invalid JSON", [
      { path: "/", errors: ["error.expected.jsobject"] },
    ]);
  }
  if (
    raw["id"] !== undefined && (typeof raw["id"] !== "string" || resolvePathId(raw["id"]) !== podId)
  ) {
    throw new TenderError("unprocessable", "Object is not valid", [
      { path: "/id", errors: [`must be the id of the path (${podId})`] },
    ]);
  }
  const pod = parsePod({ ...raw, id: podId });
  const created = (await service.store.state()).pod(podId) === undefined;
  const r = await service.deployPod({ ...options, put: pod });
  return { ...r, pod: r.pod ?? pod, created };
}

/** `DELETE /v2/pods/{id}`: stops and removes the pod. */
export async function deletePod(
  service: MarathonService,
  id: string,
  options: MutationOptions,
): Promise<PodDeploymentResult> {
  const podId = resolvePathId(id);
  if (!(await service.store.state()).pod(podId)) throw noSuchPod(podId);
  return await service.deployPod({ ...options, remove: podId });
}

/**
 * `DELETE /v2/pods/{id}::instances[/{instanceId}]`: kills instances of a pod (their goal
 * becomes Stopped); the pod keeps its scale, so they are replaced. 404 for an unknown pod or
 * instance.
 */
export async function killPodInstances(
  service: MarathonService,
  id: string,
  instanceIds: readonly string[],
  options: Pick<MutationOptions, "authorize"> = {},
): Promise<{ pod: Pod; killed: Instance[] }> {
  const podId = resolvePathId(id);
  const store = service.store;
  const pod = (await store.state()).pod(podId);
  if (!pod) throw noSuchPod(podId);
  options.authorize?.("update_apps", podId);
  const active = (await store.state()).instances(podId).filter(isActive);
  for (const instanceId of instanceIds) {
    if (!active.some((i) => i.instanceId === instanceId)) {
      throw new TenderError(
        "not_found",
        `Instance '${instanceId}' of pod '${podId}' does not exist`,
      );
    }
  }
  const { changed } = await runOperation(
    { store },
    (books) =>
      setGoals(books, instanceIds.map((instanceId) => ({ appId: podId, instanceId })), "Stopped"),
  );
  return { pod, killed: changed };
}
