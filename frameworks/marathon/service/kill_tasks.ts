/**
 * Killing tasks on request (`DELETE /v2/apps/{id}/tasks[/{taskId}]`, `POST /v2/tasks/delete`):
 * the chosen instances get goal Stopped, so the scheduler kills them. Without `scale` the app
 * keeps its instance count and Marathon launches replacements; with `scale` the app is scaled
 * down by as many (a deployment), and exactly these instances are the ones that go. With `wipe`
 * the instances are decommissioned: forgotten once their tasks end, a resident one's reservation
 * and volumes destroyed (a suspended one, whose task already ended, can be wiped too).
 */
import { TenderError } from "../../../base/mod.ts";
import { resolvePathId } from "../app/path_id.ts";
import { type Instance, isActive } from "../model/instance.ts";
import type { DeploymentResult, MarathonService, MutationOptions } from "./marathon_service.ts";
import { setGoals } from "../core/instance_goals.ts";
import { runOperation } from "../runtime.ts";

/** Which tasks of an app to kill: by task id, by agent hostname, or all. */
export interface TaskSelection {
  taskIds?: readonly string[];
  host?: string;
}

/** The killed instances, or the scale-down deployment when `scale` was asked. */
export type KillResult = { killed: Instance[] } | { deployment: DeploymentResult };

/** Kills the selected tasks of `appId`. 404 when the app or a named task does not exist. */
export async function killTasks(
  service: MarathonService,
  id: string,
  selection: TaskSelection,
  options: MutationOptions & { scale?: boolean; wipe?: boolean },
): Promise<KillResult> {
  const appId = resolvePathId(id);
  const store = service.store;
  const app = (await store.state()).app(appId);
  if (!app) throw new TenderError("not_found", `App '${appId}' does not exist`);
  options.authorize?.("update_apps", appId);
  const active = (await store.state()).instances(appId).filter((i) =>
    isActive(i) || (options.wipe === true && i.condition === "Reserved")
  );
  for (const taskId of selection.taskIds ?? []) {
    if (!active.some((i) => i.taskId === taskId)) {
      throw new TenderError("not_found", `Task '${taskId}' does not exist`);
    }
  }
  const chosen = active.filter((i) =>
    (selection.taskIds === undefined || selection.taskIds.includes(i.taskId)) &&
    (selection.host === undefined || i.hostname === selection.host)
  );
  const stop = (goal: Instance["goal"]) =>
    runOperation({ store }, (books) => setGoals(books, chosen, goal));
  await stop(options.wipe ? "Decommissioned" : "Stopped");
  if (!options.scale) return { killed: chosen };
  try {
    const instances = Math.max(0, app.instances - chosen.length);
    return { deployment: await service.patchApp(appId, { instances }, options) };
  } catch (e) {
    await stop("Running");
    throw e;
  }
}
