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
import { TenderError } from "../../../base/mod.ts";
import {
  type AtomicWrite,
  JournaledStore,
  type StateStore,
  type StoreKey,
} from "../../../store/mod.ts";
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
import {
  type DeploymentChange,
  endDeployment,
  type PodDeploymentChange,
  putGroup,
  startDeployment,
  startPodDeployment,
} from "../core/deploy.ts";
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

export { type DeploymentChange, lockedError, type PodDeploymentChange } from "../core/deploy.ts";

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
  /** The batches being applied, one at a time. */
  #applying: Promise<void> = Promise.resolve();

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
    await this.apply(putGroup(record).changes);
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
   * Writes apps and starts their deployment atomically (`core/deploy.ts`): 409 for an id taken or
   * a lock held (unless `force`, which cancels the holder), 404 for an app to change that is gone.
   */
  async startDeployment(change: DeploymentChange): Promise<void> {
    await this.apply(startDeployment(await this.state(), change).changes);
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
   * apps. Apps and pods share one id space.
   */
  async startPodDeployment(change: PodDeploymentChange): Promise<void> {
    await this.apply(startPodDeployment(await this.state(), change).changes);
  }

  /** Moves a deployment to its next step. */
  async advanceDeployment(id: string, currentStep: number): Promise<void> {
    const record = (await this.state()).deployment(id);
    if (!record) throw new TenderError("not_found", `DeploymentPlan ${id} does not exist`);
    await this.apply([{
      kind: "deployment",
      id,
      value: { ...record, currentStep },
      expected: record,
    }]);
  }

  /** Ends a deployment (finished or cancelled): its record and the locks it holds go. */
  async endDeployment(id: string): Promise<void> {
    await this.apply(endDeployment(await this.state(), id).changes);
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
    await this.apply(instances.map((i) => ({
      kind: "instance",
      appId: i.appId,
      instanceId: i.instanceId,
      value: i,
      expected: null,
    })));
  }

  /**
   * Read-modify-write of one instance: `change` gets the held instance and answers the new one
   * (undefined deletes it). Tried again when another change got there first.
   */
  async updateInstance(
    appId: string,
    instanceId: string,
    change: (current: Instance) => Instance | undefined,
  ): Promise<Instance | undefined> {
    const books = await this.state();
    for (let attempt = 1;; attempt++) {
      const current = books.instance(appId, instanceId);
      if (!current) return undefined;
      const next = change(current);
      try {
        await this.apply([{
          kind: "instance",
          appId,
          instanceId,
          value: next ?? null,
          expected: current,
        }]);
        return next;
      } catch (e) {
        if (attempt < 5 && e instanceof TenderError && e.code === "conflict") continue;
        throw e;
      }
    }
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
   * Persists a core operation's changes in one atomic write, then holds them; one batch at a
   * time. Each change of an instance, an app, a pod or a deployment is checked against the value
   * the operation saw (`expected`): a 409, and nothing written, when the books hold another by
   * then. The KV entries behind them are checked too (a writer behind the store's back).
   */
  apply(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    const done = this.#applying.then(() => this.#applyNow(changes));
    this.#applying = done.catch(() => {});
    return done;
  }

  async #applyNow(changes: readonly Change[]): Promise<void> {
    const held = await this.#load();
    const { state } = held;
    const conflict = (what: string) =>
      new TenderError("conflict", `Concurrent change to ${what}, try again`);
    // Every KV entry the batch checks, read at once (thousands of apps on etcd: one round trip).
    const toRead: StoreKey[] = [];
    for (const c of changes) {
      if (c.kind === "deployment") {
        toRead.push(keys.deployment(c.id));
        const locked = c.value === null
          ? c.expected?.affectedApps
          : c.expected
          ? []
          : c.value.affectedApps;
        for (const appId of locked ?? []) toRead.push(keys.lock(appId));
      } else if (c.kind === "app") toRead.push(keys.app(c.id));
      else if (c.kind === "pod") toRead.push(keys.pod(c.id));
    }
    const entries = new Map(
      (await this.#kv.getMany(toRead)).map((e, i) => [JSON.stringify(toRead[i]), e]),
    );
    const entry = (key: StoreKey) => entries.get(JSON.stringify(key))!;
    const versionIds = await this.#versionIds(
      changes.flatMap((c) => (c.kind === "app" && c.value !== null ? [c.id] : [])),
    );
    const op = this.#kv.atomic();
    let rootVersions: Map<string, number> | undefined;
    /** Locks released by deployments ended in this batch (a new one may take them over). */
    const released = new Set<string>();
    for (const c of changes) {
      switch (c.kind) {
        case "instance": {
          const key = keys.instance(c.appId, c.instanceId);
          const current = state.instance(c.appId, c.instanceId) ?? null;
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
          if ((state.deployment(c.id) ?? null) !== c.expected) throw conflict(`deployment ${c.id}`);
          op.check(entry(keys.deployment(c.id)));
          if (c.value === null) {
            op.delete(keys.deployment(c.id));
            for (const appId of c.expected?.affectedApps ?? []) {
              const lock = entry(keys.lock(appId));
              if (lock.value !== c.id) continue;
              op.check(lock).delete(keys.lock(appId));
              released.add(appId);
            }
            break;
          }
          op.set(keys.deployment(c.id), c.value);
          if (c.expected !== null) break;
          for (const appId of c.value.affectedApps) {
            // A new deployment takes its locks: free, or released by this batch.
            if (!released.has(appId)) op.check(entry(keys.lock(appId)));
            op.set(keys.lock(appId), c.id);
          }
          break;
        }
        case "app": {
          if ((state.app(c.id) ?? null) !== c.expected) throw conflict(`app ${c.id}`);
          op.check(entry(keys.app(c.id)));
          if (c.value === null) {
            op.delete(keys.app(c.id));
            break;
          }
          const app = c.value;
          op.set(keys.app(app.id), app);
          op.set(keys.appVersion(app.id, app.version ?? ""), app);
          // An app keeps its newest MAX_ROOT_VERSIONS versions. A deployment writes one version
          // of an app at most, and one root version, so these include every version a kept root
          // version names (group rollback finds them).
          const stored = versionIds.get(app.id);
          const versions = [...new Set(stored).add(app.version ?? "")].sort().reverse();
          for (const old of versions.slice(MAX_ROOT_VERSIONS)) {
            op.delete(keys.appVersion(app.id, old));
          }
          op.set(keys.appVersionIds(app.id), versions.slice(0, MAX_ROOT_VERSIONS));
          break;
        }
        case "pod": {
          if ((state.pod(c.id) ?? null) !== c.expected) throw conflict(`pod ${c.id}`);
          op.check(entry(keys.pod(c.id)));
          if (c.value === null) {
            op.delete(keys.pod(c.id));
            break;
          }
          const version = c.value.version ?? "";
          op.set(keys.pod(c.id), c.value).set(keys.podVersion(c.id, version), c.value);
          const versions = new Set(await this.listPodVersions(c.id)).add(version);
          for (const old of [...versions].sort().reverse().slice(MAX_ROOT_VERSIONS)) {
            op.delete(keys.podVersion(c.id, old));
          }
          break;
        }
        case "group":
          if (c.value === null) op.delete(keys.group(c.id));
          else op.set(keys.group(c.id), c.value);
          break;
        case "root_version": {
          const pieces = snapshotPieces({ version: c.version, apps: c.apps, groups: c.groups });
          pieces.forEach((piece, i) => op.set(keys.rootVersion(c.version, i), piece));
          // A version written again: drop its tail.
          const before = state.rootVersionPieces.get(c.version) ?? 0;
          for (let i = pieces.length; i < before; i++) op.delete(keys.rootVersion(c.version, i));
          rootVersions = new Map(state.rootVersionPieces).set(c.version, pieces.length);
          const oldest = [...rootVersions.keys()].sort().slice(0, -MAX_ROOT_VERSIONS);
          for (const old of oldest) {
            for (let i = 0; i < rootVersions.get(old)!; i++) op.delete(keys.rootVersion(old, i));
            rootVersions.delete(old);
          }
          op.set(keys.rootVersionIndex(), [...rootVersions.entries()]);
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
          state.setDeployment(c.id, c.value === null ? undefined : frozenDeployment(c.value));
          break;
        case "app":
          state.setApp(c.id, c.value === null ? undefined : frozenApp(c.value));
          break;
        case "pod":
          state.setPod(
            c.id,
            c.value === null ? undefined : frozen(readStoredPod(structuredClone(c.value))),
          );
          break;
        case "group":
          state.setGroup(
            c.id,
            c.value === null
              ? undefined
              : frozen(GroupRecordSchema.parse(structuredClone(c.value))),
          );
          break;
        case "root_version":
          if (rootVersions) state.rootVersionPieces = rootVersions;
          break;
        case "backoff":
          state.setBackoff(c.id, c.value === null ? undefined : frozen({ ...c.value }));
          break;
        case "last_failure":
          state.setLastFailure(c.appId, frozen({ ...c.value }));
          break;
        case "framework_id":
          state.frameworkId = c.value;
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
