/**
 * The catalog as each caller may see it: the master's view ACLs applied to the tasks behind
 * each service, as `/master/state` applies them (`visibility()` in app.ts).
 */
import type { Context } from "hono";
import { principalOf, type ServerSecurity } from "../../security/mod.ts";
import type { CatalogTask, TaskFilter } from "../discovery/mod.ts";

/**
 * For `discoveryRoutes({ viewer })`: a caller sees a task when it may `view_frameworks` of the
 * framework's user and `view_tasks` of the task's user (no filter at all when no rule names either
 * and the default allows). Answers are remembered per pair of users for the request (a catalog
 * has few users and many tasks). Filtering is not counted as a denial.
 */
export function catalogViewer(security: ServerSecurity): (c: Context) => TaskFilter | undefined {
  // Without view rules everyone sees everything: no filter, so routers' streams cost nothing more.
  const open = security.acls.allowsAll("view_frameworks") && security.acls.allowsAll("view_tasks");
  return (c) => {
    if (open) return undefined;
    const principal = principalOf(c);
    const seen = new Map<string, boolean>();
    return (task: CatalogTask) => {
      const key = JSON.stringify([task.frameworkUser ?? null, task.user ?? null]);
      let ok = seen.get(key);
      if (ok === undefined) {
        ok = security.acls.allows("view_frameworks", principal, task.frameworkUser) &&
          security.acls.allows("view_tasks", principal, task.user);
        seen.set(key, ok);
      }
      return ok;
    };
  };
}
