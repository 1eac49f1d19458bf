/** The scheduler's test harness: a fake driver, offers, a store in a temp dir, a FakeClock. */
import { FakeClock, SequentialIds } from "../../../base/mod.ts";
import {
  type Filters,
  type Offer,
  OfferSchema,
  type Operation,
  Resources,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from "../../../protocol/mod.ts";
import { Backoff } from "../deployment/backoff.ts";
import { EventBus } from "../events/event_bus.ts";
import { MarathonService } from "../service/marathon_service.ts";
import { MarathonStore } from "../store/store.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { type DriverPort, MarathonScheduler } from "./marathon_scheduler.ts";

/** Records every call the scheduler makes. */
export class FakeDriver implements DriverPort {
  launched: { offerIds: string[]; tasks: TaskInfo[] }[] = [];
  accepted: { offerIds: string[]; operations: Operation[] }[] = [];
  declined: { offerIds: string[]; filters?: Filters }[] = [];
  killed: { taskId: string; agentId?: string; graceMs?: number }[] = [];
  reconciled: { taskId: string }[][] = [];
  revives = 0;
  launch(offerIds: string[], tasks: TaskInfo[]): Promise<void> {
    this.launched.push({ offerIds, tasks });
    return Promise.resolve();
  }
  accept(offerIds: string[], operations: Operation[]): Promise<void> {
    this.accepted.push({ offerIds, operations });
    return Promise.resolve();
  }
  decline(offerIds: string[], filters?: Filters): Promise<void> {
    this.declined.push({ offerIds, ...(filters ? { filters } : {}) });
    return Promise.resolve();
  }
  kill(taskId: string, agentId?: string, graceMs?: number): Promise<void> {
    this.killed.push({
      taskId,
      ...(agentId ? { agentId } : {}),
      ...(graceMs !== undefined ? { graceMs } : {}),
    });
    return Promise.resolve();
  }
  reconcile(tasks: { taskId: string }[] = []): Promise<void> {
    this.reconciled.push(tasks);
    return Promise.resolve();
  }
  revive(): Promise<void> {
    this.revives++;
    return Promise.resolve();
  }
}

let offerSeq = 0;
export function offer(host = "n1", res = "cpus:4;mem:4096;disk:100;ports:[31000-31010]"): Offer {
  offerSeq++;
  return OfferSchema.parse({
    id: { value: `o-${offerSeq}` },
    framework_id: { value: "fw" },
    agent_id: { value: `a-${host}` },
    hostname: host,
    resources: Resources.parse(res).toMesos(),
  });
}

/** A status update and the reconciliation pass it asks for (which `update()` does not await). */
export async function updated(
  scheduler: MarathonScheduler,
  driver: FakeDriver,
  status: TaskStatus,
): Promise<void> {
  await scheduler.update(driver, status);
  await scheduler.tick();
}

export async function withScheduler(
  fn: (
    h: {
      scheduler: MarathonScheduler;
      driver: FakeDriver;
      service: MarathonService;
      store: MarathonStore;
      clock: FakeClock;
    },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "marathon-sched-" });
  const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const ids = new SequentialIds();
  const events = new EventBus(clock);
  const store = new MarathonStore(kv);
  const service = new MarathonService({ store, clock, ids, events });
  const scheduler = new MarathonScheduler({
    store,
    service,
    events,
    clock,
    ids,
    backoff: new Backoff(),
  });
  try {
    await fn({ scheduler, driver: new FakeDriver(), service, store, clock });
  } finally {
    await scheduler.settled();
    events.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

export const status = (taskId: string, state: TaskState, extra: Record<string, unknown> = {}) => ({
  task_id: { value: taskId },
  state,
  ...extra,
});
