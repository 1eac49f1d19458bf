/**
 * Marathon's books, in memory: apps, pods, groups, the root versions' index, deployments (and the
 * locks they hold), instances by app, launch backoff, last task failures and the framework id.
 * Loaded once from the store (`MarathonStore.state()`, at start or on election), then changed only
 * by the store's own commits, in commit order: whoever reads the books (the API, the views, the
 * core's operations) reads them here, synchronously, never the store. Held values are frozen;
 * readers get `MarathonBooks`, a read-only view.
 */
import type { App } from "../app/normalize.ts";
import type { BackoffState } from "../deployment/backoff.ts";
import type { Instance } from "../model/instance.ts";
import type { TaskFailure } from "../model/task_failure.ts";
import type { Pod } from "../pod/schema.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import type { GroupRecord } from "../store/group_record.ts";

/** What every reader of Marathon's state sees (sorted as a KV listing would be). */
export interface MarathonBooks {
  app(id: string): App | undefined;
  /** Every current app, by id. */
  apps(): readonly App[];
  pod(id: string): Pod | undefined;
  /** Every current pod, by id. */
  pods(): readonly Pod[];
  /** Every group record, by id. */
  groups(): readonly GroupRecord[];
  /** The stored root versions, newest first. */
  rootVersions(): readonly string[];
  deployment(id: string): DeploymentRecord | undefined;
  /** Every deployment, oldest first. */
  deployments(): readonly DeploymentRecord[];
  /** The id of the deployment holding an app or a pod, if any. */
  lock(id: string): string | undefined;
  instance(appId: string, instanceId: string): Instance | undefined;
  /** The instances of one app, or of every app, in key order (app id, instance id). */
  instances(appId?: string): readonly Instance[];
  backoff(id: string): BackoffState | undefined;
  lastFailure(appId: string): TaskFailure | undefined;
  readonly frameworkId: string | undefined;
}

/** The books themselves; only the store (its commits, its load) calls the setters. */
export class MarathonState implements MarathonBooks {
  readonly #apps = new Map<string, App>();
  readonly #pods = new Map<string, Pod>();
  readonly #groups = new Map<string, GroupRecord>();
  /** The root versions stored, each with its number of pieces. */
  rootVersionPieces = new Map<string, number>();
  readonly #deployments = new Map<string, DeploymentRecord>();
  readonly #instances = new Map<string, Map<string, Instance>>();
  readonly #backoffs = new Map<string, BackoffState>();
  readonly #lastFailures = new Map<string, TaskFailure>();
  frameworkId: string | undefined;

  app(id: string): App | undefined {
    return this.#apps.get(id);
  }
  apps(): readonly App[] {
    return sortedBy(this.#apps);
  }
  pod(id: string): Pod | undefined {
    return this.#pods.get(id);
  }
  pods(): readonly Pod[] {
    return sortedBy(this.#pods);
  }
  groups(): readonly GroupRecord[] {
    return sortedBy(this.#groups);
  }
  rootVersions(): readonly string[] {
    return [...this.rootVersionPieces.keys()].sort().reverse();
  }
  deployment(id: string): DeploymentRecord | undefined {
    return this.#deployments.get(id);
  }
  deployments(): readonly DeploymentRecord[] {
    return [...this.#deployments.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }
  lock(id: string): string | undefined {
    for (const d of this.#deployments.values()) if (d.affectedApps.includes(id)) return d.id;
    return undefined;
  }
  instance(appId: string, instanceId: string): Instance | undefined {
    return this.#instances.get(appId)?.get(instanceId);
  }
  instances(appId?: string): readonly Instance[] {
    const ids = appId === undefined ? [...this.#instances.keys()].sort(byKey) : [appId];
    return ids.flatMap((id) => sortedBy(this.#instances.get(id) ?? new Map<string, Instance>()));
  }
  backoff(id: string): BackoffState | undefined {
    return this.#backoffs.get(id);
  }
  lastFailure(appId: string): TaskFailure | undefined {
    return this.#lastFailures.get(appId);
  }

  setApp(id: string, app: App | undefined): void {
    setOrDelete(this.#apps, id, app);
  }
  setPod(id: string, pod: Pod | undefined): void {
    setOrDelete(this.#pods, id, pod);
  }
  setGroup(id: string, group: GroupRecord | undefined): void {
    setOrDelete(this.#groups, id, group);
  }
  setDeployment(id: string, deployment: DeploymentRecord | undefined): void {
    setOrDelete(this.#deployments, id, deployment);
  }
  setInstance(appId: string, instanceId: string, instance: Instance | undefined): void {
    let byId = this.#instances.get(appId);
    if (!byId) {
      if (!instance) return;
      this.#instances.set(appId, byId = new Map());
    }
    setOrDelete(byId, instanceId, instance);
    if (byId.size === 0) this.#instances.delete(appId);
  }
  setBackoff(id: string, state: BackoffState | undefined): void {
    setOrDelete(this.#backoffs, id, state);
  }
  setLastFailure(appId: string, failure: TaskFailure | undefined): void {
    setOrDelete(this.#lastFailures, appId, failure);
  }
}

function setOrDelete<T>(map: Map<string, T>, id: string, value: T | undefined): void {
  if (value === undefined) map.delete(id);
  else map.set(id, value);
}

/** A map's values in KV's order of their keys. */
function sortedBy<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.keys()].sort(byKey).map((k) => map.get(k)!);
}

/** KV's order of string key parts. */
export function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
