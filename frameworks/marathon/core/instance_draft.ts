/**
 * An operation's working copy of the instances: reads see the books with the operation's own
 * changes over them, and `changes()` answers one `Change` per instance touched, checked against the
 * instance the books held when the operation began.
 */
import type { Instance } from "../model/instance.ts";
import type { Change } from "./changes.ts";
import type { MarathonBooks } from "./state.ts";

export class InstanceDraft {
  readonly #books: MarathonBooks;
  readonly #touched = new Map<
    string,
    { appId: string; instanceId: string; value: Instance | null }
  >();

  constructor(books: MarathonBooks) {
    this.#books = books;
  }

  get(appId: string, instanceId: string): Instance | undefined {
    const t = this.#touched.get(draftKey(appId, instanceId));
    return t ? t.value ?? undefined : this.#books.instance(appId, instanceId);
  }

  set(instance: Instance): void {
    this.#touched.set(draftKey(instance.appId, instance.instanceId), {
      appId: instance.appId,
      instanceId: instance.instanceId,
      value: instance,
    });
  }

  /** Changes an instance if it is still there (as the store's read-modify-write did). */
  update(appId: string, instanceId: string, change: (current: Instance) => Instance): void {
    const current = this.get(appId, instanceId);
    if (current) this.set(change(current));
  }

  delete(appId: string, instanceId: string): void {
    this.#touched.set(draftKey(appId, instanceId), { appId, instanceId, value: null });
  }

  /** Every instance, with the draft's changes, in key order. */
  all(): Instance[] {
    const out = this.#books.instances().flatMap((i) => {
      const t = this.#touched.get(draftKey(i.appId, i.instanceId));
      return t ? (t.value ? [t.value] : []) : [i];
    });
    for (const t of this.#touched.values()) {
      if (t.value && !this.#books.instance(t.appId, t.instanceId)) out.push(t.value);
    }
    return out;
  }

  changes(): Change[] {
    return [...this.#touched.values()].map((t) => ({
      kind: "instance",
      appId: t.appId,
      instanceId: t.instanceId,
      value: t.value,
      expected: this.#books.instance(t.appId, t.instanceId) ?? null,
    }));
  }
}

function draftKey(appId: string, instanceId: string): string {
  return `${appId}\u0000${instanceId}`;
}
