/** The launch queue's operations, pure: `DELETE /v2/queue/{id}/delay` resets an app's or a pod's backoff. */
import { TenderError } from "../../../base/mod.ts";
import { type Outcome, outcome } from "./changes.ts";
import type { MarathonBooks } from "./state.ts";

/** Drops the launch backoff of an app or a pod; 404 (Marathon's message) when neither exists. */
export function resetLaunchDelay(books: MarathonBooks, id: string): Outcome {
  if (!books.app(id) && !books.pod(id)) {
    throw new TenderError("not_found", `Application ${id} not found in tasks queue.`);
  }
  const out = outcome();
  out.changes.push({ kind: "backoff", id, value: null });
  return out;
}
