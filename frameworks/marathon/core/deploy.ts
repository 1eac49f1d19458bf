/**
 * Starting a deployment, pure: an app change (apps written and removed, groups, the deployment)
 * or a pod change is checked against the books — ids taken or missing, apps and pods sharing one
 * id space, locks held by other deployments (409 unless `force`, which cancels the holders) — and
 * answered as the changes that persist it in one write: the holders ended, the apps or the pod
 * (each with its version), the groups, the deployment with its locks, and for apps the root
 * group's version.
 */
import { checkRecordSize, TenderError } from "../../../base/mod.ts";
import type { App } from "../app/normalize.ts";
import type { Pod } from "../pod/schema.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import type { GroupRecord } from "../store/group_record.ts";
import { type Change, type Outcome, outcome } from "./changes.ts";
import type { MarathonBooks } from "./state.ts";

/** A change that starts a deployment: apps written, apps removed, and the deployment itself. */
export interface DeploymentChange {
  deployment: DeploymentRecord;
  /** Apps to write (their `version` is the key of the stored version). */
  put: readonly App[];
  /** App ids to remove. */
  remove?: readonly string[];
  /** Ids that must not exist yet (POST create). */
  mustBeNew?: readonly string[];
  /** Ids that must exist (PATCH, DELETE). */
  mustExist?: readonly string[];
  /** Cancel deployments holding these apps instead of answering 409. */
  force?: boolean;
  /** Group records written and removed with the apps. */
  groups?: { put?: readonly GroupRecord[]; remove?: readonly string[] };
}

/** A change that starts a pod's deployment: the pod written or removed, and the deployment. */
export interface PodDeploymentChange {
  deployment: DeploymentRecord;
  /** The pod to write (its `version` is the key of the stored version)… */
  put?: Pod;
  /** …or the id of the pod to remove. */
  remove?: string;
  /** The pod must not exist yet (POST), or must exist (DELETE). */
  mustBeNew?: boolean;
  mustExist?: boolean;
  /** Cancel deployments holding the pod instead of answering 409. */
  force?: boolean;
}

/** The 409 Marathon answers when a deployment holds an app. */
export function lockedError(deploymentIds: readonly string[]): TenderError {
  return new TenderError(
    "conflict",
    "App is locked by one or more deployments. Override with the option '?force=true'. " +
      `View details at '/v2/deployments/${deploymentIds[0] ?? ""}'.`,
    { deployments: deploymentIds.map((id) => ({ id })) },
  );
}

/** Starts a deployment of apps (see the module doc). */
export function startDeployment(books: MarathonBooks, change: DeploymentChange): Outcome {
  // An app stays one record (its tasks must fit the master's task records); what a deployment
  // writes together (thousands of apps, the deployment, the root version) has no such limit.
  for (const app of change.put) checkRecordSize(`App '${app.id}'`, app);
  const ids = [...new Set([...change.put.map((a) => a.id), ...(change.remove ?? [])])];
  for (const id of ids) {
    const exists = books.app(id) !== undefined;
    if (books.pod(id) && change.put.some((a) => a.id === id)) {
      throw new TenderError("conflict", `A pod with id [${id}] already exists.`);
    }
    if (exists && change.mustBeNew?.includes(id)) {
      throw new TenderError("conflict", `An app with id [${id}] already exists.`);
    }
    if (!exists && (change.mustExist?.includes(id) || change.remove?.includes(id))) {
      throw new TenderError("not_found", `App '${id}' does not exist`);
    }
  }
  const out = outcome();
  cancelHolders(books, ids, change.force, out.changes);
  for (const app of change.put) {
    out.changes.push({ kind: "app", id: app.id, value: app, expected: books.app(app.id) ?? null });
  }
  for (const id of change.remove ?? []) {
    out.changes.push({ kind: "app", id, value: null, expected: books.app(id) ?? null });
  }
  for (const id of change.groups?.remove ?? []) {
    out.changes.push({ kind: "group", id, value: null });
  }
  for (const g of change.groups?.put ?? []) out.changes.push({ kind: "group", id: g.id, value: g });
  out.changes.push({
    kind: "deployment",
    id: change.deployment.id,
    value: change.deployment,
    expected: null,
  });
  // The root group at this version: every app and group as they are after the change.
  const apps = new Map(books.apps().map((a) => [a.id, a.version ?? ""]));
  for (const id of change.remove ?? []) apps.delete(id);
  for (const app of change.put) apps.set(app.id, app.version ?? "");
  const groups = new Map(books.groups().map((g) => [g.id, g]));
  for (const id of change.groups?.remove ?? []) groups.delete(id);
  for (const g of change.groups?.put ?? []) groups.set(g.id, g);
  out.changes.push({
    kind: "root_version",
    version: change.deployment.version,
    apps: [...apps.entries()],
    groups: [...groups.values()],
  });
  return out;
}

/** Starts a deployment of a pod (see the module doc). */
export function startPodDeployment(books: MarathonBooks, change: PodDeploymentChange): Outcome {
  if (change.put) checkRecordSize(`Pod '${change.put.id}'`, change.put);
  const id = change.put?.id ?? change.remove ?? "";
  if (books.app(id)) throw new TenderError("conflict", `An app with id [${id}] already exists.`);
  const pod = books.pod(id);
  if (pod && change.mustBeNew) {
    throw new TenderError("conflict", `A pod with id [${id}] already exists.`);
  }
  if (!pod && (change.mustExist || change.remove !== undefined)) {
    throw new TenderError("not_found", `Pod '${id}' does not exist`);
  }
  const out = outcome();
  cancelHolders(books, [id], change.force, out.changes);
  out.changes.push({ kind: "pod", id, value: change.put ?? null, expected: pod ?? null });
  out.changes.push({
    kind: "deployment",
    id: change.deployment.id,
    value: change.deployment,
    expected: null,
  });
  return out;
}

/** Ends a deployment (a forced cancel): its record and locks go; 404 when it is gone. */
export function endDeployment(books: MarathonBooks, id: string): Outcome {
  const record = books.deployment(id);
  if (!record) throw new TenderError("not_found", `DeploymentPlan ${id} does not exist`);
  const out = outcome();
  out.changes.push({ kind: "deployment", id, value: null, expected: record });
  return out;
}

/** Stores a group record as it is (a change with no deployment: `PATCH /v2/groups`). */
export function putGroup(record: GroupRecord): Outcome {
  const out = outcome();
  out.changes.push({ kind: "group", id: record.id, value: record });
  return out;
}

/** Ends the deployments holding `ids` (409 unless `force`). */
function cancelHolders(
  books: MarathonBooks,
  ids: readonly string[],
  force: boolean | undefined,
  changes: Change[],
): void {
  const holders = [...new Set(ids.flatMap((id) => books.lock(id) ?? []))];
  if (holders.length > 0 && !force) throw lockedError(holders);
  for (const holder of holders) {
    const expected = books.deployment(holder)!;
    changes.push({ kind: "deployment", id: holder, value: null, expected });
  }
}
