import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../../base/mod.ts";
import {
  type Offer,
  OfferSchema,
  type Operation,
  type Resource,
  Resources,
} from "../../../protocol/mod.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { Backoff } from "../deployment/backoff.ts";
import { EventBus } from "../events/event_bus.ts";
import { MarathonService } from "../service/marathon_service.ts";
import { killTasks } from "../service/kill_tasks.ts";
import { taskJson } from "../service/views.ts";
import { MarathonStore } from "../store/store.ts";
import { MarathonScheduler } from "./marathon_scheduler.ts";
import { FakeDriver, status, updated } from "./testing.ts";

let seq = 0;
function offerOf(host: string, resources: Resource[]): Offer {
  seq++;
  return OfferSchema.parse({
    id: { value: `o-${seq}` },
    framework_id: { value: "fw" },
    agent_id: { value: `a-${host}` },
    hostname: host,
    resources,
    allocation_info: { role: "ads" },
  });
}
const fresh = (host: string) =>
  offerOf(host, Resources.parse("cpus:4;mem:4096;disk:1000;ports:[31000-31010]").toMesos("ads"));

const APP = {
  id: "/pg",
  cmd: "echo x >> data/log; sleep 1000",
  cpus: 0.5,
  mem: 64,
  container: {
    type: "MESOS",
    volumes: [{ containerPath: "data", mode: "RW", persistent: { size: 100 } }],
  },
};

async function withResident(
  fn: (h: {
    scheduler: MarathonScheduler;
    driver: FakeDriver;
    service: MarathonService;
    store: MarathonStore;
    clock: FakeClock;
    kv: DenoKvStore;
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "marathon-resident-" });
  const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const ids = new SequentialIds();
  const events = new EventBus(clock);
  const store = new MarathonStore(kv);
  await store.setFrameworkId("fw");
  const service = new MarathonService({ store, clock, ids, events, role: "ads" });
  const scheduler = new MarathonScheduler({
    store,
    service,
    events,
    clock,
    ids,
    backoff: new Backoff(),
    role: "ads",
  });
  try {
    await fn({ scheduler, driver: new FakeDriver(), service, store, clock, kv });
  } finally {
    await scheduler.settled();
    events.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const types = (ops: Operation[]) => ops.map((o) => o.type);
const launched = (ops: Operation[]) => ops.find((o) => o.type === "LAUNCH")!.launch!.task_infos[0]!;

Deno.test("MarathonScheduler keeps a resident instance on its reservation through failure, suspension and deletion", async () => {
  await withResident(async ({ scheduler, driver, service, store, clock }) => {
    await assert.rejects(
      new MarathonService({
        store,
        clock,
        ids: new SequentialIds(),
        events: new EventBus(clock),
      }).createApp(APP),
      /Object is not valid/,
      "with Marathon's role * a resident app is a 422",
    );
    await service.createApp(APP);
    await scheduler.offers(driver, [fresh("n1")]);
    assert.equal(driver.accepted.length, 1);
    const first = driver.accepted[0]!.operations;
    assert.deepEqual(types(first), ["RESERVE", "CREATE", "LAUNCH"]);
    const task = launched(first);
    const [inst] = await store.listInstances("/pg");
    assert.equal(inst!.reservation?.state, "New");
    await updated(scheduler, driver, status(task.task_id.value, "TASK_RUNNING"));
    assert.equal((await store.listInstances("/pg"))[0]!.reservation?.state, "Launched");

    // The task fails: the instance stays, Reserved, and waits for its reservation.
    await updated(scheduler, driver, status(task.task_id.value, "TASK_FAILED"));
    let [waiting] = await store.listInstances("/pg");
    assert.equal(waiting!.condition, "Reserved");
    assert.equal(waiting!.goal, "Running");
    const view = taskJson(await store.getApp("/pg"), waiting!);
    assert.equal(view.state, "TASK_STAGING");
    assert.deepEqual(view.localVolumes, waiting!.reservation!.volumes);
    clock.advance(3_600_000); // past any backoff
    // Another agent's offer does not do; its own agent's offer of the reservation does.
    const back = offerOf("n1", [
      ...task.resources,
      ...Resources.parse("cpus:1;mem:128").toMesos("ads"),
    ]);
    await scheduler.offers(driver, [fresh("n2"), back]);
    assert.equal(driver.accepted.length, 2);
    assert.deepEqual(driver.accepted[1]!.offerIds, [back.id.value]);
    assert.deepEqual(types(driver.accepted[1]!.operations), ["LAUNCH"]);
    const second = launched(driver.accepted[1]!.operations);
    assert.equal(second.task_id.value, `${waiting!.instanceId}._app.2`);
    assert.ok(Resources.fromMesos(second.resources).equals(Resources.fromMesos(task.resources)));
    await updated(scheduler, driver, status(second.task_id.value, "TASK_RUNNING"));

    // Suspended: killed, the reservation kept.
    await service.patchApp("/pg", { instances: 0 });
    await scheduler.tick();
    assert.deepEqual(driver.killed.map((k) => k.taskId), [second.task_id.value]);
    await updated(scheduler, driver, status(second.task_id.value, "TASK_KILLED"));
    [waiting] = await store.listInstances("/pg");
    assert.equal(waiting!.condition, "Reserved");
    assert.equal(waiting!.goal, "Stopped");
    await scheduler.offers(driver, [offerOf("n1", task.resources)]);
    assert.equal(driver.accepted.length, 2, "a suspended reservation is neither used nor freed");

    // Scaled up again: the same instance on the same reservation, no new one.
    await service.patchApp("/pg", { instances: 1 });
    await scheduler.tick();
    await scheduler.offers(driver, [fresh("n2"), offerOf("n1", task.resources)]);
    assert.equal(driver.accepted.length, 3);
    assert.deepEqual(types(driver.accepted[2]!.operations), ["LAUNCH"]);
    const third = launched(driver.accepted[2]!.operations);
    assert.equal(third.task_id.value, `${waiting!.instanceId}._app.3`);
    await updated(scheduler, driver, status(third.task_id.value, "TASK_RUNNING"));

    // Deleted: killed, forgotten, and the offer carrying the reservation destroys and frees it.
    await service.deleteApp("/pg");
    await scheduler.tick();
    assert.equal(driver.killed.at(-1)?.taskId, third.task_id.value);
    await updated(scheduler, driver, status(third.task_id.value, "TASK_KILLED"));
    assert.deepEqual(await store.listInstances("/pg"), []);
    await scheduler.offers(driver, [offerOf("n1", task.resources)]);
    const last = driver.accepted.at(-1)!;
    assert.deepEqual(types(last.operations), ["DESTROY", "UNRESERVE"]);
    assert.equal(
      last.operations[0]!.destroy!.volumes[0]?.disk?.persistence?.id,
      waiting!.reservation!.volumes[0]!.persistenceId,
    );
  });
});

Deno.test("MarathonScheduler frees a wiped resident instance's reservation and reserves anew", async () => {
  await withResident(async ({ scheduler, driver, service, store }) => {
    await service.createApp({ ...APP, instances: 1 });
    await scheduler.offers(driver, [fresh("n1")]);
    const task = launched(driver.accepted[0]!.operations);
    await updated(scheduler, driver, status(task.task_id.value, "TASK_RUNNING"));
    await service.patchApp("/pg", { instances: 0 });
    await scheduler.tick();
    await updated(scheduler, driver, status(task.task_id.value, "TASK_KILLED"));
    const [suspended] = await store.listInstances("/pg");
    assert.equal(suspended!.condition, "Reserved");

    // Marathon's way to let a suspended instance's data go: DELETE …/tasks/{id}?wipe=true.
    const r = await killTasks(service, "/pg", { taskIds: [suspended!.taskId] }, { wipe: true });
    assert.ok("killed" in r && r.killed.length === 1);
    await scheduler.tick();
    assert.deepEqual(await store.listInstances("/pg"), [], "forgotten");
    assert.equal(driver.killed.length, 1, "no task to kill: it had ended");
    await scheduler.offers(driver, [offerOf("n1", task.resources)]);
    assert.deepEqual(types(driver.accepted.at(-1)!.operations), ["DESTROY", "UNRESERVE"]);

    // Scaled up again, nothing suspended is left: a new reservation and a new volume.
    await service.patchApp("/pg", { instances: 1 });
    await scheduler.tick();
    await scheduler.offers(driver, [fresh("n2")]);
    assert.deepEqual(types(driver.accepted.at(-1)!.operations), ["RESERVE", "CREATE", "LAUNCH"]);
  });
});

Deno.test("MarathonScheduler rolls a resident app's new config out onto the same reservation", async () => {
  await withResident(async ({ scheduler, driver, service, store }) => {
    await service.createApp(APP);
    await scheduler.offers(driver, [fresh("n1")]);
    const task = launched(driver.accepted[0]!.operations);
    await updated(scheduler, driver, status(task.task_id.value, "TASK_RUNNING"));
    const [before] = await store.listInstances("/pg");

    // A config change: the old task is killed first ({0.5, 0}: no extra instance, no new volume).
    const changed = await service.patchApp("/pg", { env: { GEN: "2" } });
    await scheduler.tick();
    assert.deepEqual(driver.killed.map((k) => k.taskId), [task.task_id.value]);
    await scheduler.offers(driver, [fresh("n2")]);
    assert.equal(driver.accepted.length, 1, "nothing reserved while the old task is killed");
    await updated(scheduler, driver, status(task.task_id.value, "TASK_KILLED"));
    await scheduler.offers(driver, [fresh("n2"), offerOf("n1", task.resources)]);
    assert.equal(driver.accepted.length, 2);
    assert.deepEqual(types(driver.accepted[1]!.operations), ["LAUNCH"]);
    const next = launched(driver.accepted[1]!.operations);
    assert.equal(next.task_id.value, `${before!.instanceId}._app.2`);
    assert.ok(
      next.command?.environment?.variables?.some((v) => v.name === "GEN" && v.value === "2"),
    );
    const [after] = await store.listInstances("/pg");
    assert.equal(after!.version, changed.version);
    await updated(scheduler, driver, status(next.task_id.value, "TASK_RUNNING"));
    assert.deepEqual(await store.listDeployments(), [], "the restart finished");
  });
});

Deno.test("A resident instance's reservation is read back from the store by the next Marathon", async () => {
  await withResident(async ({ scheduler, driver, service, store, kv }) => {
    await service.createApp(APP);
    await scheduler.offers(driver, [fresh("n1")]);
    const task = launched(driver.accepted[0]!.operations);
    await updated(scheduler, driver, status(task.task_id.value, "TASK_RUNNING"));
    await updated(scheduler, driver, status(task.task_id.value, "TASK_FAILED"));
    const [stored] = await store.listInstances("/pg");
    const [read] = await new MarathonStore(kv).listInstances("/pg");
    assert.equal(read!.condition, "Reserved");
    assert.equal(read!.incarnation, 1);
    assert.deepEqual(read!.reservation, stored!.reservation);
    assert.equal(read!.reservation?.state, "Suspended");
    assert.equal(read!.agentId, "a-n1");
  });
});
