/**
 * The shell's way to run a core operation outside the scheduler (API requests, deployments moving
 * on): compute it on the books, persist its changes in one write (run again on the newer books
 * when the write lost a race), then publish its events. Driver calls are the scheduler's
 * (`scheduler/marathon_scheduler.ts`, which runs its operations one at a time).
 */
import { TenderError } from "../../base/mod.ts";
import type { Outcome } from "./core/changes.ts";
import type { MarathonBooks } from "./core/state.ts";
import type { EventBus } from "./events/event_bus.ts";
import type { MarathonStore } from "./store/store.ts";

/** How many times an operation whose write lost a race is run again. */
const ATTEMPTS = 5;

/**
 * Runs `operation` on the books, persists it, publishes its events; answers its outcome. With
 * `attempts: 1` a lost race is the caller's 409 (a deployment asked for: the client retries).
 */
export async function runOperation<T extends Outcome>(
  deps: { store: MarathonStore; events?: EventBus; attempts?: number },
  operation: (books: MarathonBooks) => T,
): Promise<T> {
  const books = await deps.store.state();
  const attempts = deps.attempts ?? ATTEMPTS;
  for (let attempt = 1;; attempt++) {
    const out = operation(books);
    try {
      await deps.store.apply(out.changes);
    } catch (e) {
      if (attempt < attempts && e instanceof TenderError && e.code === "conflict") continue;
      throw e;
    }
    for (const e of out.events) deps.events?.publish(e.type, e.data);
    return out;
  }
}
