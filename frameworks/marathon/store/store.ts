/**
 * The Marathon framework's state in a `StateStore` (Deno KV, or etcd for several Marathons): apps and pods (current and every version), groups and the
 * root group's versions, deployments with the locks they hold on apps, instances, launch
 * backoff and the framework id. Every
 * change is a named operation in one atomic write with versionstamp checks; a lost race is a
 * 409 conflict, never a silent overwrite. Values are parsed by their schemas when read.
 *
 * The books (`core/state.ts`: apps, pods, groups, deployments, instances, backoff, last failures, the
 * framework id — what every offer, status update and API call reads) are held in memory: read from
 * the store once (`state()`), then changed by this store's own commits, in commit order. The store
 * must therefore be the only writer of its records (one Marathon per work dir, or the elected leader
 * on etcd, whose writes are fenced by its leadership). Held values are frozen: change them by
 * copying. The core's operations come here as `apply(changes)`: one atomic write.
 */
import { checkRecordSize, TenderError } from "../../../protocol/mod.ts";
import { type AtomicWrite, JournaledStore, type StateStore } from "../../../store/mod.ts";
import type { App } from "../app/normalize.ts";
import { readStoredApp } from "../app/parse.ts";
import type { BackoffState } from "../deployment/backoff.ts";
import { type Instance, InstanceSchema } from "../model/instance.ts";
import { readStoredPod } from "../pod/parse.ts";
import type { Pod } from "../pod/schema.ts";
import { type DeploymentRecord, DeploymentRecordSchema } from "./deployment_record.ts";
import {
  type GroupRecord,
  GroupRecordSchema,
  MAX_ROOT_VERSIONS,
  type RootSnapshot,
  snapshotOf,
  snapshotPieces,
} from "./group_record.ts";
import { keys } from "./keys.ts";
import { type Change, describeChanges } from "../core/changes.ts";
import { type MarathonBooks, MarathonState } from "../core/state.ts";
import { type TaskFailure, TaskFailureSchema } from "../model/task_failure.ts";
import { z } from "zod";

export { type TaskFailure, TaskFailureSchema } from "../model/task_failure.ts";

const BackoffStateSchema = z.object({
  configVersion: z.string(),
  failures: z.number().int(),
  delayMs: z.number(),
  lastFailureAt: z.number(),
});

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

/** The books, and the versionstamp each held instance's next change is checked against. */
interface Held {
  state: MarathonState;
  /** By instance key (`appId`, NUL, `instanceId`). */
  stamps: Map<string, string>;
}

/** Marathon's state over one `StateStore` (opened and closed by the caller). */
export class MarathonStore {
  readonly #kv: StateStore;
  #held: Promise<Held> | undefined;

  /**
   * `kv` is wrapped in a `JournaledStore`: a deployment of thousands of apps, a deployment record
   * past 64 KiB or a batch of thousands of instances commits as one atomic write.
   */
  constructor(kv: StateStore) {
    this.#kv = new JournaledStore(kv, { root: keys.journal() });
  }

  /**
   * The books, read from the store on first use (a failed read is tried again next time), then
   * kept up to date by this store's commits. Read them synchronously from here on.
   */
  async state(): Promise<MarathonBooks> {
    return (await this.#load()).state;
  }

  /** The current definition of an app. */
  async getApp(appId: string): Promise<App | undefined> {
    return (await this.#load()).state.app(appId);
  }

  /** Every current app, by id. */
  async listApps(): Promise<App[]> {
    return [...(await this.#load()).state.apps()];
  }

  /** Every group record, by id. */
  async listGroups(): Promise<GroupRecord[]> {
    return [...(await this.#load()).state.groups()];
  }

  /** Stores one group record as it is (a change with no deployment: `PATCH /v2/groups`). */
  async putGroup(record: GroupRecord): Promise<void> {
    const held = await this.#load();
    await this.#commit(this.#kv.atomic().set(keys.group(record.id), record), `group ${record.id}`);
    held.state.setGroup(record.id, frozen(GroupRecordSchema.parse(structuredClone(record))));
  }

  /** The stored root versions, newest first (at most `MAX_ROOT_VERSIONS`). */
  async listRootVersions(): Promise<string[]> {
    return [...(await this.#load()).state.rootVersions()];
  }

  /** The whole tree at one root version. */
  async getRootVersion(version: string): Promise<RootSnapshot | undefined> {
    const pieces: string[] = [];
    for await (const e of this.#kv.list<string>(keys.rootVersionPieces(version))) {
      pieces.push(e.value);
    }
    return pieces.length === 0 ? undefined : snapshotOf(pieces);
  }

  /** The stored versions of an app, newest first. */
  async listVersions(appId: string): Promise<string[]> {
    return [...(await this.#versionIds([appId])).get(appId) ?? []];
  }

  /**
   * The ids of apps' stored versions, newest first, from their index (an app stored before the
   * index existed: by listing its versions, once, until its next deployment writes the index).
   */
  async #versionIds(appIds: readonly string[]): Promise<Map<string, readonly string[]>> {
    const out = new Map<string, readonly string[]>();
    const indexes = await this.#kv.getMany(appIds.map((id) => keys.appVersionIds(id)));
    for (const [i, appId] of appIds.entries()) {
      const index = indexes[i]?.value;
      if (Array.isArray(index)) {
        out.set(appId, index.map(String));
        continue;
      }
      const listed: string[] = [];
      for await (const e of this.#kv.list(keys.appVersions(appId))) {
        listed.push(String(e.key[e.key.length - 1]));
      }
      out.set(appId, listed.sort().reverse());
    }
    return out;
  }

  /** One stored version of an app. */
  async getVersion(appId: string, version: string): Promise<App | undefined> {
    const e = await this.#kv.get(keys.appVersion(appId, version));
    return e.value === null ? undefined : readStoredApp(e.value);
  }

  /** The id of the deployment holding an app, if any. */
  async getLock(appId: string): Promise<string | undefined> {
    return (await this.#load()).state.lock(appId);
  }

  async getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    return (await this.#load()).state.deployment(id);
  }

  /** Every deployment, oldest first. */
  async listDeployments(): Promise<DeploymentRecord[]> {
    return [...(await this.#load()).state.deployments()];
  }

  /**
   * Writes apps and starts their deployment atomically: each affected app is checked against
   * the versionstamp read here and against locks (409 unless `force`, which cancels the holder).
   */
  async startDeployment(change: DeploymentChange): Promise<void> {
    // An app stays one record (its tasks must fit the master's task records); what a deployment
    // writes together (thousands of apps, the deployment, the root version) has no such limit.
    for (const app of change.put) checkRecordSize(`App '${app.id}'`, app);
    const held = await this.#load();
    const ids = [...new Set([...change.put.map((a) => a.id), ...(change.remove ?? [])])];
    const appEntries = await this.#kv.getMany(ids.map((id) => keys.app(id)));
    const lockEntries = await this.#kv.getMany(ids.map((id) => keys.lock(id)));
    ids.forEach((id, i) => {
      const exists = appEntries[i]!.value !== null;
      if (held.state.pod(id) && change.put.some((a) => a.id === id)) {
        throw new TenderError("conflict", `A pod with id [${id}] already exists.`);
      }
      if (exists && change.mustBeNew?.includes(id)) {
        throw new TenderError("conflict", `An app with id [${id}] already exists.`);
      }
      if (!exists && (change.mustExist?.includes(id) || change.remove?.includes(id))) {
        throw new TenderError("not_found", `App '${id}' does not exist`);
      }
    });
    const holders = [
      ...new Set(lockEntries.flatMap((e) => (typeof e.value === "string" ? [e.value] : []))),
    ];
    if (holders.length > 0 && !change.force) throw lockedError(holders);

    const op = this.#kv.atomic();
    appEntries.forEach((e) => op.check(e));
    lockEntries.forEach((e) => op.check(e));
    for (const holder of holders) await this.#cancelInto(op, holder);
    const versionIds = await this.#versionIds(change.put.map((a) => a.id));
    for (const app of change.put) {
      op.set(keys.app(app.id), app);
      op.set(keys.appVersion(app.id, app.version ?? ""), app);
      // An app keeps its newest MAX_ROOT_VERSIONS versions. A deployment writes one version of an
      // app at most, and one root version, so these include every version a kept root version
      // names (group rollback finds them).
      const versions = [...new Set(versionIds.get(app.id)).add(app.version ?? "")].sort()
        .reverse();
      for (const old of versions.slice(MAX_ROOT_VERSIONS)) {
        op.delete(keys.appVersion(app.id, old));
      }
      op.set(keys.appVersionIds(app.id), versions.slice(0, MAX_ROOT_VERSIONS));
    }
    for (const id of change.remove ?? []) op.delete(keys.app(id));
    for (const id of change.deployment.affectedApps) op.set(keys.lock(id), change.deployment.id);
    op.set(keys.deployment(change.deployment.id), change.deployment);
    // The root group at this version: every app and group as they are after the change.
    const apps = new Map(held.state.apps().map((a) => [a.id, a]));
    for (const id of change.remove ?? []) apps.delete(id);
    for (const app of change.put) apps.set(app.id, app);
    const groups = new Map(held.state.groups().map((g) => [g.id, g]));
    for (const id of change.groups?.remove ?? []) {
      groups.delete(id);
      op.delete(keys.group(id));
    }
    for (const g of change.groups?.put ?? []) {
      groups.set(g.id, g);
      op.set(keys.group(g.id), g);
    }
    const version = change.deployment.version;
    const pieces = snapshotPieces({
      version,
      apps: [...apps.values()].map((a) => [a.id, a.version ?? ""]),
      groups: [...groups.values()],
    });
    pieces.forEach((piece, i) => op.set(keys.rootVersion(version, i), piece));
    const before = held.state.rootVersionPieces.get(version) ?? 0; // a version written again: drop its tail
    for (let i = pieces.length; i < before; i++) op.delete(keys.rootVersion(version, i));
    const rootVersions = new Map(held.state.rootVersionPieces).set(version, pieces.length);
    const oldest = [...rootVersions.keys()].sort().slice(0, -MAX_ROOT_VERSIONS);
    for (const old of oldest) {
      for (let i = 0; i < rootVersions.get(old)!; i++) op.delete(keys.rootVersion(old, i));
      rootVersions.delete(old);
    }
    op.set(keys.rootVersionIndex(), [...rootVersions.entries()]);
    await this.#commit(op, `deployment ${change.deployment.id}`);
    for (const holder of holders) held.state.setDeployment(holder, undefined);
    for (const app of change.put) held.state.setApp(app.id, frozenApp(app));
    for (const id of change.remove ?? []) held.state.setApp(id, undefined);
    for (const id of change.groups?.remove ?? []) held.state.setGroup(id, undefined);
    for (const g of change.groups?.put ?? []) {
      held.state.setGroup(g.id, frozen(GroupRecordSchema.parse(structuredClone(g))));
    }
    held.state.rootVersionPieces = rootVersions;
    held.state.setDeployment(change.deployment.id, frozenDeployment(change.deployment));
  }

  /** The current definition of a pod. */
  async getPod(podId: string): Promise<Pod | undefined> {
    return (await this.#load()).state.pod(podId);
  }

  /** Every current pod, by id. */
  async listPods(): Promise<Pod[]> {
    return [...(await this.#load()).state.pods()];
  }

  /** The stored versions of a pod, newest first. */
  async listPodVersions(podId: string): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.#kv.list(keys.podVersions(podId))) {
      out.push(String(e.key[e.key.length - 1]));
    }
    return out.sort().reverse();
  }

  /** One stored version of a pod. */
  async getPodVersion(podId: string, version: string): Promise<Pod | undefined> {
    const e = await this.#kv.get(keys.podVersion(podId, version));
    return e.value === null ? undefined : readStoredPod(e.value);
  }

  /**
   * Writes or removes a pod and starts its deployment atomically, as `startDeployment` does for
   * apps: checked against the versionstamps read here and the locks (409 unless `force`, which
   * cancels the holder). Apps and pods share one id space.
   */
  async startPodDeployment(change: PodDeploymentChange): Promise<void> {
    if (change.put) checkRecordSize(`Pod '${change.put.id}'`, change.put);
    const held = await this.#load();
    const id = change.put?.id ?? change.remove ?? "";
    const [pod, app, lock] = await this.#kv.getMany([keys.pod(id), keys.app(id), keys.lock(id)]);
    if (app!.value !== null) {
      throw new TenderError("conflict", `An app with id [${id}] already exists.`);
    }
    if (pod!.value !== null && change.mustBeNew) {
      throw new TenderError("conflict", `A pod with id [${id}] already exists.`);
    }
    if (pod!.value === null && (change.mustExist || change.remove !== undefined)) {
      throw new TenderError("not_found", `Pod '${id}' does not exist`);
    }
    const holders = typeof lock!.value === "string" ? [lock!.value] : [];
    if (holders.length > 0 && !change.force) throw lockedError(holders);
    const op = this.#kv.atomic().check(pod!).check(app!).check(lock!);
    for (const holder of holders) await this.#cancelInto(op, holder);
    if (change.put) {
      const version = change.put.version ?? "";
      op.set(keys.pod(id), change.put).set(keys.podVersion(id, version), change.put);
      const versions = new Set(await this.listPodVersions(id)).add(version);
      for (const old of [...versions].sort().reverse().slice(MAX_ROOT_VERSIONS)) {
        op.delete(keys.podVersion(id, old));
      }
    } else {
      op.delete(keys.pod(id));
    }
    op.set(keys.lock(id), change.deployment.id);
    op.set(keys.deployment(change.deployment.id), change.deployment);
    await this.#commit(op, `deployment ${change.deployment.id}`);
    for (const holder of holders) held.state.setDeployment(holder, undefined);
    held.state.setPod(
      id,
      change.put ? frozen(readStoredPod(structuredClone(change.put))) : undefined,
    );
    held.state.setDeployment(change.deployment.id, frozenDeployment(change.deployment));
  }

  /** Moves a deployment to its next step (checked against concurrent changes). */
  async advanceDeployment(id: string, currentStep: number): Promise<void> {
    const held = await this.#load();
    const e = await this.#kv.get(keys.deployment(id));
    if (e.value === null) throw new TenderError("not_found", `DeploymentPlan ${id} does not exist`);
    const record = { ...DeploymentRecordSchema.parse(e.value), currentStep };
    await this.#commit(
      this.#kv.atomic().check(e).set(keys.deployment(id), record),
      `deployment ${id}`,
    );
    held.state.setDeployment(id, frozenDeployment(record));
  }

  /** Ends a deployment (finished or cancelled): its record and the locks it holds go. */
  async endDeployment(id: string): Promise<void> {
    const held = await this.#load();
    const op = this.#kv.atomic();
    const found = await this.#cancelInto(op, id);
    if (!found) throw new TenderError("not_found", `DeploymentPlan ${id} does not exist`);
    await this.#commit(op, `deployment ${id}`);
    held.state.setDeployment(id, undefined);
  }

  async #cancelInto(op: AtomicWrite, id: string): Promise<boolean> {
    const e = await this.#kv.get(keys.deployment(id));
    if (e.value === null) return false;
    const record = DeploymentRecordSchema.parse(e.value);
    op.check(e).delete(keys.deployment(id));
    for (const appId of record.affectedApps) {
      const lock = await this.#kv.get<string>(keys.lock(appId));
      if (lock.value === id) op.check(lock).delete(keys.lock(appId));
    }
    return true;
  }

  /** The instances of one app, or of every app, in key order (app id, instance id). */
  async listInstances(appId?: string): Promise<Instance[]> {
    return [...(await this.#load()).state.instances(appId)];
  }

  async getInstance(appId: string, instanceId: string): Promise<Instance | undefined> {
    return (await this.#load()).state.instance(appId, instanceId);
  }

  /** Records a new instance; a 409 if the id is already taken. */
  async addInstance(instance: Instance): Promise<void> {
    await this.addInstances([instance]);
  }

  /** Records new instances in one commit; a 409 (and none recorded) if an id is already taken. */
  async addInstances(instances: readonly Instance[]): Promise<void> {
    const held = await this.#load();
    const op = this.#kv.atomic();
    for (const instance of instances) {
      const key = keys.instance(instance.appId, instance.instanceId);
      op.check({ key, versionstamp: null }).set(key, instance);
    }
    const versionstamp = await this.#commit(op, instances.map((i) => i.instanceId).join(", "));
    for (const instance of instances) holdInstance(held, instance, versionstamp);
  }

  /**
   * Read-modify-write of one instance: `change` gets the stored instance and answers the new
   * one (undefined deletes it). Retried when another writer got there first.
   */
  async updateInstance(
    appId: string,
    instanceId: string,
    change: (current: Instance) => Instance | undefined,
  ): Promise<Instance | undefined> {
    const held = await this.#load();
    const key = keys.instance(appId, instanceId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = held.state.instance(appId, instanceId);
      if (!current) return undefined;
      const next = change(current);
      const op = this.#kv.atomic().check({ key, versionstamp: stampOf(held, appId, instanceId) });
      if (next === undefined) op.delete(key);
      else op.set(key, next);
      const result = await op.commit();
      if (result.ok) {
        if (next === undefined) forgetInstance(held, appId, instanceId);
        else holdInstance(held, next, result.versionstamp);
        return next;
      }
      // Another change of this process committed first (it updated what is held), or the KV
      // was written behind the store's back: read it again.
      const e = await this.#kv.get(key);
      if (e.value === null) forgetInstance(held, appId, instanceId);
      else holdInstance(held, InstanceSchema.parse(e.value), e.versionstamp ?? "");
    }
    throw new TenderError("conflict", `Instance '${instanceId}' changed concurrently, try again`);
  }

  async getBackoff(appId: string): Promise<BackoffState | undefined> {
    return (await this.#load()).state.backoff(appId);
  }

  /** Stores (or with undefined clears) an app's launch backoff. */
  async setBackoff(appId: string, state: BackoffState | undefined): Promise<void> {
    await this.apply([{ kind: "backoff", id: appId, value: state ?? null }]);
  }

  async getLastFailure(appId: string): Promise<TaskFailure | undefined> {
    return (await this.#load()).state.lastFailure(appId);
  }

  async setLastFailure(failure: TaskFailure): Promise<void> {
    await this.apply([{ kind: "last_failure", appId: failure.appId, value: failure }]);
  }

  async getFrameworkId(): Promise<string | undefined> {
    return (await this.#load()).state.frameworkId;
  }

  async setFrameworkId(id: string): Promise<void> {
    await this.apply([{ kind: "framework_id", value: id }]);
  }

  /**
   * Persists a core operation's changes in one atomic write, then holds them. An instance change
   * is checked against the instance the operation saw (`expected`): a 409, and nothing written,
   * when the books hold another by then.
   */
  async apply(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const held = await this.#load();
    const op = this.#kv.atomic();
    for (const c of changes) {
      switch (c.kind) {
        case "instance": {
          const key = keys.instance(c.appId, c.instanceId);
          const current = held.state.instance(c.appId, c.instanceId) ?? null;
          if (current !== c.expected) {
            throw new TenderError(
              "conflict",
              `Instance '${c.instanceId}' changed concurrently, try again`,
            );
          }
          op.check({ key, versionstamp: current ? stampOf(held, c.appId, c.instanceId) : null });
          if (c.value === null) op.delete(key);
          else op.set(key, c.value);
          break;
        }
        case "deployment": {
          if (held.state.deployment(c.id) !== c.expected) {
            throw new TenderError("conflict", `Concurrent change to deployment ${c.id}, try again`);
          }
          // Checked in the KV too: a deployment started meanwhile may be taking its locks over.
          const e = await this.#kv.get(keys.deployment(c.id));
          op.check(e);
          if (c.value !== null) {
            op.set(keys.deployment(c.id), c.value);
            break;
          }
          op.delete(keys.deployment(c.id));
          for (const appId of c.expected.affectedApps) {
            const lock = await this.#kv.get<string>(keys.lock(appId));
            if (lock.value === c.id) op.check(lock).delete(keys.lock(appId));
          }
          break;
        }
        case "backoff":
          if (c.value === null) op.delete(keys.backoff(c.id));
          else op.set(keys.backoff(c.id), c.value);
          break;
        case "last_failure":
          op.set(keys.lastFailure(c.appId), c.value);
          break;
        case "framework_id":
          op.set(keys.frameworkId(), c.value);
      }
    }
    let versionstamp: string;
    try {
      versionstamp = await this.#commit(op, describeChanges(changes));
    } catch (e) {
      if (e instanceof TenderError && e.code === "conflict") await this.#reread(held, changes);
      throw e;
    }
    for (const c of changes) {
      switch (c.kind) {
        case "instance":
          if (c.value === null) forgetInstance(held, c.appId, c.instanceId);
          else holdInstance(held, c.value, versionstamp);
          break;
        case "deployment":
          held.state.setDeployment(
            c.id,
            c.value === null ? undefined : frozenDeployment(c.value),
          );
          break;
        case "backoff":
          held.state.setBackoff(c.id, c.value === null ? undefined : frozen({ ...c.value }));
          break;
        case "last_failure":
          held.state.setLastFailure(c.appId, frozen({ ...c.value }));
          break;
        case "framework_id":
          held.state.frameworkId = c.value;
      }
    }
  }

  /**
   * Reads the instances a refused write checked again: a journaled write's keys carry later
   * versionstamps than the one it answered, and a writer behind the store's back may have been
   * there. The operation then runs again on what is read.
   */
  async #reread(held: Held, changes: readonly Change[]): Promise<void> {
    for (const c of changes) {
      if (c.kind !== "instance") continue;
      const e = await this.#kv.get(keys.instance(c.appId, c.instanceId));
      if (e.value === null) forgetInstance(held, c.appId, c.instanceId);
      else holdInstance(held, InstanceSchema.parse(e.value), e.versionstamp ?? "");
    }
  }

  async #commit(op: AtomicWrite, what: string): Promise<string> {
    let r;
    try {
      r = await op.commit();
    } catch (e) {
      // Deno KV checks a value (64 KiB) and a commit (800 KiB) before writing anything, so a
      // refused write changed nothing, here or in what the store holds.
      if (e instanceof TypeError && /too large/i.test(e.message)) {
        throw new TenderError(
          "payload_too_large",
          `${what} is too large to store (${e.message}); the store takes 64 KiB per app, group ` +
            `or deployment and 800 KiB per change`,
        );
      }
      throw e;
    }
    if (!r.ok) throw new TenderError("conflict", `Concurrent change to ${what}, try again`);
    return r.versionstamp;
  }

  /** The held state, read from the store on first use (a failed read is tried again next time). */
  #load(): Promise<Held> {
    if (this.#held) return this.#held;
    const loading = (async () => {
      const held: Held = { state: new MarathonState(), stamps: new Map() };
      const { state } = held;
      for await (const e of this.#kv.list(keys.apps())) {
        const app = frozenApp(e.value);
        state.setApp(app.id, app);
      }
      for await (const e of this.#kv.list(keys.pods())) {
        const pod = frozen(readStoredPod(structuredClone(e.value)));
        state.setPod(pod.id, pod);
      }
      for await (const e of this.#kv.list(keys.groups())) {
        const group = frozen(GroupRecordSchema.parse(e.value));
        state.setGroup(group.id, group);
      }
      const index = (await this.#kv.get(keys.rootVersionIndex())).value;
      if (Array.isArray(index)) {
        for (const [version, pieces] of index) {
          state.rootVersionPieces.set(String(version), Number(pieces));
        }
      } else { // a store from before the index: count the pieces
        for await (const e of this.#kv.list(keys.rootVersions())) {
          const version = String(e.key[2]);
          state.rootVersionPieces.set(version, (state.rootVersionPieces.get(version) ?? 0) + 1);
        }
      }
      for await (const e of this.#kv.list(keys.deployments())) {
        const record = frozenDeployment(e.value);
        state.setDeployment(record.id, record);
      }
      for await (const e of this.#kv.list(keys.instances())) {
        holdInstance(held, InstanceSchema.parse(e.value), e.versionstamp);
      }
      for await (const e of this.#kv.list(keys.backoffs())) {
        state.setBackoff(
          String(e.key[e.key.length - 1]),
          frozen(BackoffStateSchema.parse(e.value)),
        );
      }
      for await (const e of this.#kv.list(keys.lastFailures())) {
        const failure = frozen(TaskFailureSchema.parse(e.value));
        state.setLastFailure(String(e.key[e.key.length - 1]), failure);
      }
      const frameworkId = (await this.#kv.get(keys.frameworkId())).value;
      if (typeof frameworkId === "string") state.frameworkId = frameworkId;
      return held;
    })();
    this.#held = loading;
    loading.catch(() => {
      if (this.#held === loading) this.#held = undefined;
    });
    return loading;
  }
}

/** Holds an instance as a KV read would return it (a parsed copy), frozen. */
function holdInstance(held: Held, instance: Instance, versionstamp: string): void {
  const value = frozen(InstanceSchema.parse(structuredClone(instance)));
  held.state.setInstance(instance.appId, instance.instanceId, value);
  held.stamps.set(stampKey(instance.appId, instance.instanceId), versionstamp);
}

function forgetInstance(held: Held, appId: string, instanceId: string): void {
  held.state.setInstance(appId, instanceId, undefined);
  held.stamps.delete(stampKey(appId, instanceId));
}

/** The versionstamp of a held instance (its next change is checked against it). */
function stampOf(held: Held, appId: string, instanceId: string): string | null {
  return held.stamps.get(stampKey(appId, instanceId)) ?? null;
}

function stampKey(appId: string, instanceId: string): string {
  return `${appId}\u0000${instanceId}`;
}

/** An app as a KV read would return it (a parsed copy), frozen. */
function frozenApp(value: unknown): App {
  return frozen(readStoredApp(structuredClone(value)));
}

function frozenDeployment(value: unknown): DeploymentRecord {
  return frozen(DeploymentRecordSchema.parse(structuredClone(value)));
}

/** Freezes a value and everything in it, so a held value cannot be changed in place. */
function frozen<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
}
