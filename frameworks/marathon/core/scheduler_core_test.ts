import assert from "node:assert/strict";
import {
  type Offer,
  OfferSchema,
  type Operation,
  type Resource,
  Resources,
} from "../../../protocol/mod.ts";
import { CoreHarness } from "./testing.ts";

let seq = 0;
function offerOf(host: string, resources: Resource[], role?: string): Offer {
  seq++;
  return OfferSchema.parse({
    id: { value: `o-${seq}` },
    framework_id: { value: "fw" },
    agent_id: { value: `a-${host}` },
    hostname: host,
    resources,
    ...(role ? { allocation_info: { role } } : {}),
  });
}
const offer = (host = "n1", res = "cpus:4;mem:4096;disk:100;ports:[31000-31010]") =>
  offerOf(host, Resources.parse(res).toMesos());
const types = (ops: Operation[]) => ops.map((o) => o.type);

Deno.test("SchedulerCore.offers() records the instances before the launch that carries them", () => {
  const h = new CoreHarness();
  h.app({ id: "/web", cmd: "serve", cpus: 0.5, mem: 64, instances: 2 });
  const out = h.offers([offer()]);
  assert.deepEqual(out.changes.map((c) => c.kind), ["instance", "instance"]);
  assert.ok(out.changes.every((c) => c.kind === "instance" && c.expected === null));
  const [launch] = h.calls("launch");
  assert.equal(launch!.tasks.length, 2);
  assert.deepEqual(
    launch!.launched.map((l) => l.value.instanceId),
    out.changes.map((c) => c.kind === "instance" ? c.instanceId : ""),
  );
  assert.deepEqual(h.instances("/web").map((i) => i.condition), ["Provisioned", "Provisioned"]);
});

Deno.test("SchedulerCore takes an app from launch to running, and a pass then has nothing to do", () => {
  const h = new CoreHarness();
  h.app({ id: "/web", cmd: "serve", cpus: 0.5, mem: 64, instances: 2 });
  h.subscribed();
  h.offers([offer()]);
  for (const t of h.calls("launch")[0]!.tasks) {
    const out = h.update(t.task_id.value, "TASK_RUNNING", { agent_id: { value: "a-n1" } });
    assert.deepEqual(
      out.events.map((e) => e.type),
      ["status_update_event", "instance_changed_event"],
    );
  }
  assert.deepEqual(h.instances("/web").map((i) => i.condition), ["Running", "Running"]);
  const before = h.driver.length;
  const pass = h.tick();
  assert.deepEqual(pass.changes, []);
  assert.deepEqual(h.driver.slice(before), [], "no kill, no revive: nothing is wanted");
});

Deno.test("SchedulerCore backs a failing app off: no launch until the delay ran out, then one", () => {
  const h = new CoreHarness();
  h.app({ id: "/crash", cmd: "false", cpus: 0.5, mem: 64, backoffSeconds: 10 });
  h.offers([offer()]);
  const task = h.calls("launch")[0]!.tasks[0]!;
  h.update(task.task_id.value, "TASK_RUNNING");
  const failed = h.update(task.task_id.value, "TASK_FAILED", { message: "exit 1" });
  assert.deepEqual(failed.changes.map((c) => c.kind), ["instance", "last_failure", "backoff"]);
  assert.equal(h.instances("/crash").length, 0);
  assert.equal(h.books.lastFailure("/crash")?.message, "exit 1");
  assert.equal(h.books.backoff("/crash")?.delayMs, 10_000);
  // The revive comes when the delay runs out, not now.
  assert.deepEqual(failed.driver, [{ type: "revive", at: h.now + 10_000 }]);
  h.advance(5_000);
  h.offers([offer()]);
  assert.equal(h.calls("launch").length, 1, "backed off: no launch");
  h.advance(5_000);
  h.offers([offer()]);
  assert.equal(h.calls("launch").length, 2);
});

Deno.test("SchedulerCore scales down with kills sent once per 10 s until the tasks end", () => {
  const h = new CoreHarness();
  const app = h.app({ id: "/web", cmd: "serve", cpus: 0.5, mem: 64, instances: 3 });
  h.offers([offer()]);
  for (const t of h.calls("launch")[0]!.tasks) h.update(t.task_id.value, "TASK_RUNNING");
  h.books.setApp(app.id, { ...app, instances: 1 });
  const pass = h.tick();
  assert.equal(h.calls("kill").length, 2);
  assert.equal(pass.changes.length, 2, "two instances' goal set to Stopped");
  assert.deepEqual(h.instances("/web").map((i) => i.goal).sort(), [
    "Running",
    "Stopped",
    "Stopped",
  ]);
  h.advance(5_000);
  h.tick();
  assert.equal(h.calls("kill").length, 2, "not re-sent within 10 s");
  h.advance(5_000);
  h.tick();
  assert.equal(h.calls("kill").length, 4, "re-sent after 10 s");
  for (const k of h.calls("kill").slice(0, 2)) h.update(k.taskId, "TASK_KILLED");
  assert.equal(h.instances("/web").length, 1);
  assert.equal(h.books.backoff("/web"), undefined, "a kill is no failure");
});

Deno.test("SchedulerCore relaunches a resident instance on its own reservation, LAUNCH only", () => {
  const h = new CoreHarness({ role: "ads" });
  h.app({
    id: "/pg",
    cmd: "sleep 1000",
    cpus: 0.5,
    mem: 64,
    container: {
      type: "MESOS",
      volumes: [{ containerPath: "data", mode: "RW", persistent: { size: 100 } }],
    },
  });
  const fresh = (host: string) =>
    offerOf(
      host,
      Resources.parse("cpus:4;mem:4096;disk:1000;ports:[31000-31010]").toMesos("ads"),
      "ads",
    );
  h.offers([fresh("n1")]);
  const [first] = h.calls("accept");
  assert.deepEqual(types(first!.operations), ["RESERVE", "CREATE", "LAUNCH"]);
  const task = first!.operations[2]!.launch!.task_infos[0]!;
  h.update(task.task_id.value, "TASK_RUNNING");
  h.update(task.task_id.value, "TASK_FAILED");
  const [waiting] = h.instances("/pg");
  assert.equal(waiting!.condition, "Reserved");
  assert.equal(waiting!.reservation?.state, "Suspended");
  h.advance(3_600_000); // past any backoff
  const back = offerOf("n1", [
    ...task.resources,
    ...Resources.parse("cpus:1;mem:128").toMesos("ads"),
  ], "ads");
  const out = h.offers([fresh("n2"), back]);
  const relaunch = h.calls("accept")[1]!;
  assert.deepEqual(relaunch.offerId, back.id.value);
  assert.deepEqual(types(relaunch.operations), ["LAUNCH"]);
  assert.equal(
    relaunch.operations[0]!.launch!.task_infos[0]!.task_id.value,
    `${waiting!.instanceId}._app.2`,
  );
  // The instance waiting on its reservation is replaced, checked against the one read.
  const change = out.changes.find((c) => c.kind === "instance")!;
  assert.ok(change.kind === "instance" && change.expected === waiting);
});

Deno.test("SchedulerCore declines an offer that fits nothing and keeps the reason for /v2/queue", () => {
  const h = new CoreHarness();
  h.app({ id: "/big", cmd: "serve", cpus: 8, mem: 64 });
  const small = offer("n1", "cpus:4;mem:4096");
  const out = h.offers([small]);
  assert.deepEqual(out.changes, []);
  assert.deepEqual(out.driver, [
    { type: "decline", offerIds: [small.id.value], refuseSeconds: 2 },
  ]);
  assert.deepEqual(h.lastPlans!.reasons.get("/big"), ["InsufficientCpus: need 8, offer has 4"]);
});

Deno.test("SchedulerCore.launchFailed() forgets the instances of a launch the driver refused", () => {
  const h = new CoreHarness();
  h.app({ id: "/web", cmd: "serve", cpus: 0.5, mem: 64 });
  h.offers([offer()]);
  const out = h.core.launchFailed(h.calls("launch")[0]!.launched, new Error("gone"));
  assert.equal(out.changes.length, 1);
  assert.deepEqual(out.events.map((e) => e.type), ["deployment_step_failure"]);
});

Deno.test("SchedulerCore.subscribed() keeps the framework id, reconciles known tasks, then all, and revives", () => {
  const h = new CoreHarness();
  h.app({ id: "/web", cmd: "serve", cpus: 0.5, mem: 64 });
  h.offers([offer()]);
  const out = h.subscribed();
  assert.deepEqual(out.changes, [{ kind: "framework_id", value: "fw" }]);
  assert.deepEqual(out.driver.map((c) => c.type), ["reconcile", "reconcile", "revive"]);
  const [known, all] = h.calls("reconcile");
  assert.equal(known!.tasks.length, 1);
  assert.deepEqual(all!.tasks, []);
});
