/**
 * Instances' goals set on request, pure: `DELETE /v2/apps/{id}/tasks…` and
 * `DELETE /v2/pods/{id}::instances…` stop (or wipe) the chosen instances, and a refused scale-down
 * sets them running again. The scheduler's next pass sends the kills.
 */
import type { Instance } from "../model/instance.ts";
import { type Outcome, outcome } from "./changes.ts";
import { InstanceDraft } from "./instance_draft.ts";
import type { MarathonBooks } from "./state.ts";

/** Sets `goal` on each instance still in the books; the outcome names the instances as changed. */
export function setGoals(
  books: MarathonBooks,
  instances: readonly Pick<Instance, "appId" | "instanceId">[],
  goal: Instance["goal"],
): Outcome & { changed: Instance[] } {
  const draft = new InstanceDraft(books);
  const changed: Instance[] = [];
  for (const i of instances) {
    draft.update(i.appId, i.instanceId, (c) => {
      const next = { ...c, goal };
      changed.push(next);
      return next;
    });
  }
  const out = outcome();
  out.changes.push(...draft.changes());
  return { ...out, changed };
}
