/**
 * A framework for integration tests, on the real SDK: it records every event, keeps offers
 * until a test launches on them, and lets the test wait for task states.
 */
import type { FrameworkInfo, Offer, TaskStatus } from "../../mod.ts";
import { SchedulerDriver } from "../../mod.ts";
import { waitFor } from "./cluster.ts";

export class RecordingFramework {
  readonly driver: SchedulerDriver;
  readonly offers = new Map<string, Offer>();
  readonly updates: TaskStatus[] = [];
  readonly errors: string[] = [];
  subscriptions = 0;

  constructor(master: string, framework: Partial<FrameworkInfo> = {}, frameworkId?: string) {
    this.driver = new SchedulerDriver({
      subscribed: () => {
        this.subscriptions += 1;
      },
      offers: (_d, offers) => {
        for (const o of offers) this.offers.set(o.id.value, o);
      },
      rescind: (_d, id) => {
        this.offers.delete(id);
      },
      update: (_d, status) => {
        this.updates.push(status);
      },
      error: (_d, message) => {
        this.errors.push(message);
      },
      disconnected: () => {
        this.offers.clear();
      },
    }, {
      master,
      framework: { user: Deno.env.get("USER") || "root", name: "recording", ...framework },
      frameworkId,
      backoff: { initialMs: 100, maxMs: 1000 },
    });
  }

  /** Waits for an offer (optionally from one agent) and removes it from the pool. */
  async takeOffer(agentId?: string): Promise<Offer> {
    const offer = await waitFor(
      "an offer",
      () =>
        [...this.offers.values()].find((o) =>
          agentId === undefined || o.agent_id.value === agentId
        ),
    );
    this.offers.delete(offer.id.value);
    return offer;
  }

  /** The states a task went through, in order, without repeats. */
  states(taskId: string): string[] {
    const out: string[] = [];
    for (const u of this.updates) {
      if (u.task_id.value === taskId && out.at(-1) !== u.state) out.push(u.state);
    }
    return out;
  }

  async waitForState(taskId: string, state: string, timeoutMs = 20_000): Promise<TaskStatus> {
    return await waitFor(
      `task ${taskId} to reach ${state} (has ${this.states(taskId).join(" > ")})`,
      () => this.updates.find((u) => u.task_id.value === taskId && u.state === state),
      timeoutMs,
    );
  }
}
