/**
 * Nothing acknowledged is lost: every group and app the driver created is there (and every app
 * it deleted is gone), each acknowledged version is kept (the newest 50, as Marathon keeps),
 * no app went back to an older version, and where nothing unsure followed the last
 * acknowledged change, the app is exactly as that change left it. And every deployment
 * finished: none is listed any more, and each app's tasks all run its current config.
 */
import type { Ledger } from "./ledger.ts";
import type { MarathonApp, MarathonDeployment, MarathonGroup } from "./views.ts";
import type { Violation } from "./violation.ts";

/** Versions Marathon keeps per app. */
export const KEPT_VERSIONS = 50;

/** What Marathon holds at the end. */
export interface FinalStore {
  apps: readonly MarathonApp[];
  /** `/v2/apps/{id}/versions` of each app that exists. */
  versions: ReadonlyMap<string, readonly string[]>;
  /** `/v2/groups`. */
  root: MarathonGroup;
  deployments: readonly MarathonDeployment[];
}

function groupIds(group: MarathonGroup, out = new Set<string>()): Set<string> {
  out.add(group.id);
  for (const g of group.groups) groupIds(g, out);
  return out;
}

/** Apps, groups and versions the ledger has that Marathon lost. */
export function checkNothingLost(ledger: Ledger, final: FinalStore): Violation[] {
  const out: Violation[] = [];
  const lost = (message: string) => out.push({ check: "nothing-lost", message });
  const groups = groupIds(final.root);
  for (const g of ledger.groups) if (!groups.has(g)) lost(`group ${g} is gone`);
  const apps = new Map(final.apps.map((a) => [a.id, a]));
  for (const record of ledger.apps()) {
    const app = apps.get(record.id);
    const last = record.changes.at(-1);
    if (!last) continue;
    if (record.deleted) {
      if (app && !record.unsure) {
        lost(`app ${record.id} is back after its deletion was acknowledged at ${iso(last.at)}`);
      }
      continue;
    }
    if (!app) {
      if (!record.unsure) {
        lost(`app ${record.id} is gone (last acknowledged: ${last.op} to version ${last.version})`);
      }
      continue;
    }
    if (app.version < last.version) {
      lost(
        `app ${record.id} is at version ${app.version}, older than the acknowledged ${last.version} (${last.op})`,
      );
    }
    const kept = new Set(final.versions.get(record.id) ?? []);
    const expected = [...new Set(record.changes.map((c) => c.version))].sort().reverse()
      .slice(0, KEPT_VERSIONS);
    const missing = expected.filter((v) => !kept.has(v) && v <= app.version);
    if (missing.length > 0) {
      lost(`app ${record.id} lost acknowledged version(s) ${missing.join(", ")}`);
    }
    if (record.unsure) continue;
    const gen = Number(app.env.GEN);
    if (app.version !== last.version || app.instances !== last.instances || gen !== last.gen) {
      lost(
        `app ${record.id}: the acknowledged ${last.op} (version ${last.version}, instances ` +
          `${last.instances}, GEN ${last.gen}) is not what Marathon has (version ${app.version}, ` +
          `instances ${app.instances}, GEN ${app.env.GEN})`,
      );
    }
  }
  return out;
}

/** Deployments still listed, and apps whose tasks do not all run the current config. */
export function checkDeploymentsDone(final: FinalStore): Violation[] {
  const out: Violation[] = [];
  for (const d of final.deployments) {
    out.push({
      check: "deployments",
      message: `deployment ${d.id} of ${d.affectedApps.join(", ")} never finished ` +
        `(step ${d.currentStep ?? "?"}/${d.totalSteps ?? "?"})`,
    });
  }
  for (const app of final.apps) {
    const config = app.versionInfo?.lastConfigChangeAt ?? app.version;
    const stale = app.tasks.filter((t) => t.version !== undefined && t.version !== config);
    if (stale.length > 0) {
      out.push({
        check: "deployments",
        message: `app ${app.id}: ${stale.length} task(s) still run an old config ` +
          `(${stale.map((t) => `${t.id} at ${t.version}`).join(", ")}; current ${config})`,
      });
    }
  }
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
