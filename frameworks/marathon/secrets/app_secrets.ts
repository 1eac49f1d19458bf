/**
 * What an app's `secrets` must satisfy before it is stored, and where each secret is used.
 * An app may use a secret of the root (`/db`) or of a group that holds it (`/prod/db` for apps
 * below `/prod`), as DC/OS's secret spaces allow: a principal who may create apps under `/web`
 * cannot have `/prod/db` handed to a task of its own.
 */
import type { App } from "../app/normalize.ts";
import { isChildOf } from "../app/path_id.ts";
import { type Violation, Violations } from "../app/violations.ts";
import { secretPath } from "./secret_path.ts";

/** The canonical paths of every secret the app declares (valid ones only). */
export function secretSources(app: App): string[] {
  return Object.values(app.secrets).flatMap((s) => {
    const p = secretPath(s.source);
    return p.ok ? [p.path] : [];
  });
}

/** The group a secret belongs to: `/prod` for `/prod/db`, `/` for `/db`. */
function spaceOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * The app's secret violations: a secret volume naming no declared secret, a source that is no
 * path, outside the app's space, or not in the store (`exists`; undefined: no store at all).
 */
export async function appSecretViolations(
  app: App,
  exists: ((path: string) => Promise<boolean>) | undefined,
): Promise<Violation[]> {
  const v = new Violations();
  (app.container?.volumes ?? []).forEach((vol, i) => {
    if (vol.secret !== undefined && !(vol.secret in app.secrets)) {
      v.add(
        `/container/volumes(${i})/secret`,
        `references an undefined secret named '${vol.secret}'`,
      );
    }
  });
  for (const [name, { source }] of Object.entries(app.secrets)) {
    const at = `/secrets/${name}/source`;
    if (!exists) {
      v.add(at, "this Marathon keeps no secrets: start it with --secrets-key-file FILE");
      continue;
    }
    const p = secretPath(source);
    if (!p.ok) {
      v.add(at, p.error);
      continue;
    }
    const space = spaceOf(p.path);
    if (space !== "/" && !isChildOf(app.id, space)) {
      v.add(at, `secret '${p.path}' may only be used by apps below ${space}`);
      continue;
    }
    if (!(await exists(p.path))) v.add(at, `secret '${p.path}' does not exist`);
  }
  return v.list();
}

/** The ids of the apps that use the secret at `path`. */
export function appsUsing(apps: readonly App[], path: string): string[] {
  return apps.filter((a) => secretSources(a).includes(path)).map((a) => a.id);
}
