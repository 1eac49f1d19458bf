/**
 * The core's test harness (Nomad's Harness, as master/core's tests drive the master): the books in
 * memory, a clock that moves only when told, sequential ids, and every change, driver call and
 * event an operation answers recorded. No store, no driver, no timers: each operation is
 * `compute → apply to the books → settle`, as the shell does after persisting.
 */
import type { Offer, TaskState } from "../../../protocol/mod.ts";
import { SequentialIds } from "../../../base/mod.ts";
import type { App } from "../app/normalize.ts";
import { parseApp } from "../app/parse.ts";
import { Backoff } from "../deployment/backoff.ts";
import type { Instance } from "../model/instance.ts";
import type { Change, DriverCall, MarathonEvent } from "./changes.ts";
import type { OfferPlans, SecretValues } from "./offers.ts";
import {
  SchedulerCore,
  type SchedulerCoreOptions,
  type SchedulerOutcome,
} from "./scheduler_core.ts";
import { MarathonState } from "./state.ts";

/** The books, the core over them, and what its operations answered. */
export class CoreHarness {
  readonly books = new MarathonState();
  readonly ids = new SequentialIds();
  readonly core: SchedulerCore;
  now = Date.UTC(2026, 0, 1);
  /** Every driver call, in order. */
  readonly driver: DriverCall[] = [];
  readonly events: MarathonEvent[] = [];
  readonly changes: Change[] = [];
  /** The plans of the last offers (`reasons` is what `/v2/queue` shows). */
  lastPlans: OfferPlans | undefined;

  constructor(options: Partial<Omit<SchedulerCoreOptions, "books" | "ids">> = {}) {
    this.core = new SchedulerCore({
      backoff: new Backoff(),
      ...options,
      books: this.books,
      ids: this.ids,
    });
    this.books.frameworkId = "fw";
  }

  /** An app as the API would store it, put in the books. */
  app(raw: Record<string, unknown>): App {
    const app = parseApp({ version: new Date(this.now).toISOString(), ...raw });
    this.books.setApp(app.id, app);
    return app;
  }

  instances(appId?: string): readonly Instance[] {
    return this.books.instances(appId);
  }

  advance(ms: number): void {
    this.now += ms;
  }

  subscribed(): SchedulerOutcome {
    return this.#run(this.core.subscribed({ frameworkId: "fw", resubscribed: false }, this.now));
  }

  /** Offers planned and launched, with the secret values given. */
  offers(offers: readonly Offer[], secrets: SecretValues = new Map()): SchedulerOutcome {
    this.lastPlans = this.core.planOffers(offers, this.now);
    return this.#run(this.core.launch(this.lastPlans, secrets));
  }

  update(taskId: string, state: TaskState, extra: Record<string, unknown> = {}): SchedulerOutcome {
    return this.#run(this.core.update({ task_id: { value: taskId }, state, ...extra }, this.now));
  }

  tick(connected = true): SchedulerOutcome {
    return this.#run(this.core.tick(this.now, connected));
  }

  /** Applies an outcome to the books (checking each instance against what it expected). */
  #run<T extends SchedulerOutcome>(out: T): T {
    applyChanges(this.books, out.changes);
    this.core.settle(out);
    this.changes.push(...out.changes);
    this.driver.push(...out.driver);
    this.events.push(...out.events);
    return out;
  }

  /** The driver calls of one type, made so far. */
  calls<K extends DriverCall["type"]>(type: K): Extract<DriverCall, { type: K }>[] {
    return this.driver.filter((c): c is Extract<DriverCall, { type: K }> => c.type === type);
  }
}

/** What the store's `apply` does to the books, without a store. */
function applyChanges(books: MarathonState, changes: readonly Change[]): void {
  for (const c of changes) {
    switch (c.kind) {
      case "instance":
        if ((books.instance(c.appId, c.instanceId) ?? null) !== c.expected) {
          throw new Error(`instance ${c.instanceId} changed under the operation`);
        }
        books.setInstance(c.appId, c.instanceId, c.value ?? undefined);
        break;
      case "deployment":
        if (books.deployment(c.id) !== c.expected) {
          throw new Error(`deployment ${c.id} changed under the operation`);
        }
        books.setDeployment(c.id, c.value ?? undefined);
        break;
      case "backoff":
        books.setBackoff(c.id, c.value ?? undefined);
        break;
      case "last_failure":
        books.setLastFailure(c.appId, c.value);
        break;
      case "framework_id":
        books.frameworkId = c.value;
    }
  }
}
