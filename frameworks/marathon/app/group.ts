/**
 * Marathon groups (`{id, apps[], groups[], dependencies[]}`) as submitted to `/v2/groups`:
 * nested app and group ids resolve against their enclosing group and must lie below it.
 */
import { z } from "zod";
import { TenderError } from "../../../base/mod.ts";
import type { App } from "./normalize.ts";
import { checkApp } from "./parse.ts";
import { isChildOf, pathIdErrors, resolvePathId } from "./path_id.ts";
import { typeViolations, type Violation, Violations } from "./violations.ts";

/** A group with its apps canonicalised. */
export interface Group {
  id: string;
  apps: App[];
  groups: Group[];
  dependencies: string[];
  /** Only meaningful on a top-level group. */
  enforceRole?: boolean;
}

const GroupShellSchema = z.object({
  id: z.string(),
  apps: z.array(z.unknown()).default([]),
  groups: z.array(z.unknown()).default([]),
  /** Pods are created through /v2/pods; a group body may carry none (Tender's limit). */
  pods: z.array(z.unknown()).default([]),
  dependencies: z.array(z.string()).default([]),
  enforceRole: z.boolean().optional(),
});

/** The result of checking a group without throwing. */
export type GroupCheck =
  | { ok: true; group: Group }
  | { ok: false; message: "Invalid JSON" | "Object is not valid"; details: Violation[] };

/** Checks a decoded body as a group; `base` is the enclosing group of a relative id. */
export function checkGroup(raw: unknown, base = "/"): GroupCheck {
  const v = new Violations();
  const group = walk(raw, base, "", v, true);
  if (!v.isEmpty || !group) {
    const details = v.list();
    const typeOnly = details.every((d) => d.errors.every((e) => e.startsWith("error.")));
    return { ok: false, message: typeOnly ? "Invalid JSON" : "Object is not valid", details };
  }
  return { ok: true, group };
}

/** Parses a group; throws Marathon's 422 when it is not valid. */
export function parseGroup(raw: unknown, base = "/"): Group {
  const r = checkGroup(raw, base);
  if (r.ok) return r.group;
  throw new TenderError("unprocessable", r.message, r.details);
}

/** Every app in the group tree, depth first. */
export function allApps(group: Group): App[] {
  return [...group.apps, ...group.groups.flatMap(allApps)];
}

/** The group and every group below it, depth first. */
export function allGroups(group: Group): Group[] {
  return [group, ...group.groups.flatMap(allGroups)];
}

function walk(
  raw: unknown,
  base: string,
  prefix: string,
  v: Violations,
  root: boolean,
): Group | undefined {
  const shell = GroupShellSchema.safeParse(raw);
  if (!shell.success) {
    v.addAll(typeViolations(shell.error.issues), prefix);
    return undefined;
  }
  const id = resolvePathId(shell.data.id, base);
  const idErrors = pathIdErrors(shell.data.id, base).filter((e) =>
    !(root && id === "/" && e.startsWith("Path"))
  );
  for (const e of idErrors) v.add(`${prefix}/id`, e);
  if (!root && !isChildOf(id, base)) v.add(`${prefix}/id`, `Identifier is not child of '${base}'`);
  const apps: App[] = [];
  shell.data.apps.forEach((rawApp, i) => {
    const p = `${prefix}/apps(${i})`;
    const r = checkApp(rawApp, { base: id });
    if (!r.ok) return v.addAll(r.details, p);
    if (!isChildOf(r.app.id, id)) v.add(`${p}/id`, `Identifier is not child of '${id}'`);
    apps.push(r.app);
  });
  if (shell.data.pods.length > 0) {
    v.add(
      `${prefix}/pods`,
      "pods in a group definition are not supported by Tender: create them with /v2/pods",
    );
  }
  const groups: Group[] = [];
  shell.data.groups.forEach((g, i) => {
    const child = walk(g, id, `${prefix}/groups(${i})`, v, false);
    if (child) groups.push(child);
  });
  const dependencies = shell.data.dependencies.map((d) => resolvePathId(d, id));
  const enforceRole = shell.data.enforceRole;
  return { id, apps, groups, dependencies, ...(enforceRole !== undefined ? { enforceRole } : {}) };
}
