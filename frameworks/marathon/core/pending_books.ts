/**
 * The books with the changes of operations not yet persisted over them, so that operations can
 * run one after another while their writes are gathered into one (group commit). The shell adds
 * each operation's changes as it computes them and clears them once the write landed (the store's
 * books then hold them) or failed. `mergeChanges` makes one change per record of a batch.
 */
import type { App } from "../app/normalize.ts";
import type { BackoffState } from "../deployment/backoff.ts";
import type { Instance } from "../model/instance.ts";
import type { TaskFailure } from "../model/task_failure.ts";
import type { Pod } from "../pod/schema.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import type { GroupRecord } from "../store/group_record.ts";
import type { Change } from "./changes.ts";
import { byKey, type MarathonBooks } from "./state.ts";

export class PendingBooks implements MarathonBooks {
  readonly #books: MarathonBooks;
  readonly #instances = new Map<
    string,
    { appId: string; instanceId: string; value: Instance | null }
  >();
  readonly #backoffs = new Map<string, BackoffState | null>();
  readonly #failures = new Map<string, TaskFailure>();
  #frameworkId: string | undefined;

  constructor(books: MarathonBooks) {
    this.#books = books;
  }

  /** Adds an operation's changes (only those the scheduler's operations make are held). */
  add(changes: readonly Change[]): void {
    for (const c of changes) {
      if (c.kind === "instance") this.#instances.set(key(c.appId, c.instanceId), c);
      else if (c.kind === "backoff") this.#backoffs.set(c.id, c.value);
      else if (c.kind === "last_failure") this.#failures.set(c.appId, c.value);
      else if (c.kind === "framework_id") this.#frameworkId = c.value;
      else throw new Error(`a ${c.kind} change is not the scheduler's`);
    }
  }

  clear(): void {
    this.#instances.clear();
    this.#backoffs.clear();
    this.#failures.clear();
    this.#frameworkId = undefined;
  }

  app(id: string): App | undefined {
    return this.#books.app(id);
  }
  apps(): readonly App[] {
    return this.#books.apps();
  }
  pod(id: string): Pod | undefined {
    return this.#books.pod(id);
  }
  pods(): readonly Pod[] {
    return this.#books.pods();
  }
  groups(): readonly GroupRecord[] {
    return this.#books.groups();
  }
  rootVersions(): readonly string[] {
    return this.#books.rootVersions();
  }
  deployment(id: string): DeploymentRecord | undefined {
    return this.#books.deployment(id);
  }
  deployments(): readonly DeploymentRecord[] {
    return this.#books.deployments();
  }
  lock(id: string): string | undefined {
    return this.#books.lock(id);
  }
  instance(appId: string, instanceId: string): Instance | undefined {
    const p = this.#instances.get(key(appId, instanceId));
    return p ? p.value ?? undefined : this.#books.instance(appId, instanceId);
  }
  instances(appId?: string): readonly Instance[] {
    const held = this.#books.instances(appId);
    if (this.#instances.size === 0) return held;
    const out = new Map(held.map((i) => [key(i.appId, i.instanceId), i]));
    for (const [k, p] of this.#instances) {
      if (appId !== undefined && p.appId !== appId) continue;
      if (p.value) out.set(k, p.value);
      else out.delete(k);
    }
    return [...out.values()].sort((a, b) =>
      byKey(a.appId, b.appId) || byKey(a.instanceId, b.instanceId)
    );
  }
  backoff(id: string): BackoffState | undefined {
    return this.#backoffs.has(id) ? this.#backoffs.get(id) ?? undefined : this.#books.backoff(id);
  }
  lastFailure(appId: string): TaskFailure | undefined {
    return this.#failures.get(appId) ?? this.#books.lastFailure(appId);
  }
  get frameworkId(): string | undefined {
    return this.#frameworkId ?? this.#books.frameworkId;
  }
}

/**
 * One change per record, in the order records were first changed: the last value, and for an
 * instance checked against what its first change expected (the books' value before the batch).
 */
export function mergeChanges(changes: readonly Change[]): Change[] {
  const merged = new Map<string, Change>();
  for (const c of changes) {
    const k = recordKey(c);
    const first = merged.get(k);
    merged.set(
      k,
      c.kind === "instance" && first?.kind === "instance" ? { ...c, expected: first.expected } : c,
    );
  }
  return [...merged.values()];
}

function recordKey(c: Change): string {
  switch (c.kind) {
    case "instance":
      return `instance\u0000${key(c.appId, c.instanceId)}`;
    case "last_failure":
      return `last_failure\u0000${c.appId}`;
    case "framework_id":
      return "framework_id";
    case "root_version":
      return `root_version\u0000${c.version}`;
    default:
      return `${c.kind}\u0000${c.id}`;
  }
}

function key(appId: string, instanceId: string): string {
  return `${appId}\u0000${instanceId}`;
}
