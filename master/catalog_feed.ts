/**
 * Keeps the discovery catalog in step with the master's tasks: after every durable batch of
 * changes that touches tasks or agents, the catalog is re-derived (coalesced by the updater).
 */
import type { Clock } from "../base/mod.ts";
import type { CatalogTask } from "./discovery/mod.ts";
import { CatalogStore, catalogTaskOf, CatalogUpdater } from "./discovery/mod.ts";
import type { MasterService } from "./runtime.ts";

/** Follows the runtime's commits; returns the catalog it keeps. */
export function feedCatalog(runtime: MasterService, clock: Clock): CatalogStore {
  const store = new CatalogStore();
  const ctx = runtime.view;
  const tasks = (): CatalogTask[] => {
    const out: CatalogTask[] = [];
    for (const t of ctx.tasks.values()) {
      const agent = ctx.agents.get(t.agentId);
      const framework = ctx.frameworks.get(t.frameworkId);
      if (!agent || !framework) continue;
      out.push(catalogTaskOf({
        frameworkName: framework.info.name,
        frameworkUser: framework.info.user,
        info: t.info,
        state: t.state,
        statuses: t.statuses,
        agentHostname: agent.info.hostname,
        agentIp: agent.ip ?? agent.info.hostname,
        resources: t.resources,
        draining: t.drainingKill !== undefined,
      }));
    }
    return out;
  };
  const updater = new CatalogUpdater(store, tasks, { clock });
  runtime.onCommit((changes) => {
    if (changes.some((c) => c.kind === "task" || c.kind === "agent" || c.kind === "framework")) {
      updater.changed();
    }
  });
  updater.flush();
  return store;
}
