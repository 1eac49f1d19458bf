/**
 * What an app's or a pod's `secrets` must satisfy before it is stored, and where each is used.
 * An app may use a secret of the root (`/db`) or of a group that holds it (`/prod/db` for apps
 * below `/prod`), as DC/OS's secret spaces allow: a principal who may create apps under `/web`
 * cannot have `/prod/db` handed to a task of its own.
 */
import { base64Of, type Secret } from "../../../protocol/mod.ts";
import type { App } from "../app/normalize.ts";
import { isChildOf } from "../app/path_id.ts";
import { type Violation, Violations } from "../app/violations.ts";
import { secretPath } from "./secret_path.ts";

/** What declares secrets: an app or a pod (its id is the space its secrets must be in). */
export interface SecretOwner {
  id: string;
  secrets: Record<string, { source: string }>;
}

/** The canonical paths of every secret an app or pod declares (valid ones only). */
export function secretSources(owner: SecretOwner): string[] {
  return Object.values(owner.secrets).flatMap((s) => {
    const p = secretPath(s.source);
    return p.ok ? [p.path] : [];
  });
}

/**
 * The Mesos VALUE secret of the owner's secret `name`: its source's value, base64. Throws naming
 * it (never its value) when `values` lacks it, so nothing launches without.
 */
export function valueSecret(
  owner: SecretOwner & { kind: "App" | "Pod" },
  name: string,
  values: ReadonlyMap<string, string>,
): Secret {
  const source = owner.secrets[name]?.source;
  const path = source === undefined ? undefined : secretPath(source);
  const value = path?.ok ? values.get(path.path) : undefined;
  if (value === undefined) {
    throw new Error(
      `${owner.kind} '${owner.id}': secret '${name}' (${source ?? "undeclared"}) has no value`,
    );
  }
  return { type: "VALUE", value: { data: base64Of(new TextEncoder().encode(value)) } };
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
  v.addAll(await sourceViolations(app, exists));
  return v.list();
}

/**
 * The violations of each declared secret's source (`/secrets/<name>/source`): no path, outside
 * the owner's space, or not in the store (`exists`; undefined: no store at all).
 */
export async function sourceViolations(
  owner: SecretOwner,
  exists: ((path: string) => Promise<boolean>) | undefined,
): Promise<Violation[]> {
  const v = new Violations();
  for (const [name, { source }] of Object.entries(owner.secrets)) {
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
    if (space !== "/" && !isChildOf(owner.id, space)) {
      v.add(at, `secret '${p.path}' may only be used by apps and pods below ${space}`);
      continue;
    }
    if (!(await exists(p.path))) v.add(at, `secret '${p.path}' does not exist`);
  }
  return v.list();
}

/** The ids of the apps and pods that use the secret at `path`. */
export function appsUsing(owners: readonly SecretOwner[], path: string): string[] {
  return owners.filter((a) => secretSources(a).includes(path)).map((a) => a.id);
}
