/**
 * Every pod's `PodStatus` from what the store holds, as `/v2/pods/::status` shows it, for the
 * views that list pods beside apps (the group tree).
 */
import type { MarathonStore } from "../store/store.ts";
import { podStatusJson } from "./pod_views.ts";
import type { GroupPod } from "./views.ts";

/** Each pod with its `PodStatus` (DEPLOYING while a deployment holds it), by id. */
export async function podStatuses(store: MarathonStore): Promise<GroupPod[]> {
  const instances = (await store.state()).instances();
  return await Promise.all(
    (await store.state()).pods().map(async (pod) => ({
      id: pod.id,
      ...(pod.version !== undefined ? { version: pod.version } : {}),
      status: podStatusJson(pod, instances, {
        deploying: (await store.state()).lock(pod.id) !== undefined,
      }),
    })),
  );
}
