import assert from "node:assert/strict";
import { offer, status, updated, withScheduler } from "./testing.ts";

Deno.test("MarathonScheduler.subscribed() stores the framework id and reconciles known tasks", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.createApp({ id: "web", cmd: "serve" });
    await scheduler.offers(driver, [offer()]);
    await scheduler.subscribed(driver, { frameworkId: "fw-9", resubscribed: true });
    assert.equal(await store.getFrameworkId(), "fw-9");
    assert.equal(driver.reconciled.length, 2);
    assert.equal(driver.reconciled[0]!.length, 1, "explicit: the launched task");
    assert.deepEqual(driver.reconciled[1], [], "then implicit");
    assert.equal(driver.revives, 1);
  });
});

Deno.test("MarathonScheduler launches on offers, tracks status, and finishes the deployment", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.createApp({ id: "web", cmd: "serve", instances: 2, cpus: 0.5, mem: 64 });
    const offers = [offer("n1"), offer("n2"), offer("n3")];
    await scheduler.offers(driver, offers);
    assert.equal(driver.launched.length, 2);
    assert.deepEqual(driver.declined.map((d) => d.offerIds), [[offers[2]!.id.value]]);
    const tasks = driver.launched.flatMap((l) => l.tasks);
    assert.deepEqual(tasks.map((t) => t.name), ["web", "web"]);
    const instances = await store.listInstances("/web");
    assert.deepEqual(instances.map((i) => i.condition), ["Provisioned", "Provisioned"]);
    assert.deepEqual(instances.map((i) => i.hostname).sort(), ["n1", "n2"]);
    for (const t of tasks) {
      await updated(scheduler, driver, status(t.task_id.value, "TASK_RUNNING"));
    }
    assert.deepEqual((await store.listInstances("/web")).map((i) => i.condition), [
      "Running",
      "Running",
    ]);
    assert.deepEqual(await store.listDeployments(), [], "the deployment finished");
    await scheduler.offers(driver, [offer()]);
    assert.equal(driver.launched.length, 2, "nothing more to launch");
    assert.equal(driver.declined.at(-1)?.filters?.refuse_seconds, 30);
  });
});

Deno.test("MarathonScheduler backs off a failing app and replaces the failed instance later", async () => {
  await withScheduler(async ({ scheduler, driver, service, store, clock }) => {
    await service.createApp({ id: "crash", cmd: "exit 1", backoffSeconds: 10 });
    await scheduler.offers(driver, [offer()]);
    const taskId = driver.launched[0]!.tasks[0]!.task_id.value;
    await updated(scheduler, driver, status(taskId, "TASK_FAILED", { message: "exited 1" }));
    assert.deepEqual(await store.listInstances("/crash"), [], "terminal instances are dropped");
    assert.equal((await store.getBackoff("/crash"))?.delayMs, 10_000);
    assert.equal((await store.getLastFailure("/crash"))?.message, "exited 1");
    await scheduler.offers(driver, [offer()]);
    assert.equal(driver.launched.length, 1, "backed off");
    clock.advance(10_000);
    await scheduler.offers(driver, [offer()]);
    assert.equal(driver.launched.length, 2, "relaunched after the delay");
  });
});

Deno.test("MarathonScheduler kills on scale-down, re-sends kills, and kills unknown tasks", async () => {
  await withScheduler(async ({ scheduler, driver, service, store, clock }) => {
    await service.createApp({
      id: "web",
      cmd: "serve",
      instances: 3,
      taskKillGracePeriodSeconds: 3,
    });
    await scheduler.offers(driver, [offer("n1"), offer("n2"), offer("n3")]);
    for (const t of driver.launched.flatMap((l) => l.tasks)) {
      await updated(scheduler, driver, status(t.task_id.value, "TASK_RUNNING"));
    }
    await service.patchApp("/web", { instances: 1 });
    await scheduler.tick();
    assert.equal(driver.killed.length, 2);
    assert.equal(driver.killed[0]!.graceMs, 3000);
    assert.deepEqual((await store.listInstances("/web")).map((i) => i.goal).sort(), [
      "Running",
      "Stopped",
      "Stopped",
    ]);
    await scheduler.tick();
    assert.equal(driver.killed.length, 2, "not re-sent at once");
    clock.advance(10_000);
    await scheduler.tick();
    assert.equal(driver.killed.length, 4, "re-sent after 10 s");
    for (const k of driver.killed.slice(0, 2)) {
      await updated(scheduler, driver, status(k.taskId, "TASK_KILLED"));
    }
    assert.equal((await store.listInstances("/web")).length, 1);
    assert.deepEqual(await store.listDeployments(), []);
    await updated(
      scheduler,
      driver,
      status("ghost.instance-1._app.1", "TASK_RUNNING", { agent_id: { value: "a9" } }),
    );
    assert.deepEqual(driver.killed.at(-1), { taskId: "ghost.instance-1._app.1", agentId: "a9" });
  });
});

Deno.test("MarathonScheduler replaces an unreachable instance and kills instances of deleted apps", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.createApp({ id: "web", cmd: "serve" });
    await scheduler.offers(driver, [offer("n1")]);
    const lost = driver.launched[0]!.tasks[0]!.task_id.value;
    await updated(scheduler, driver, status(lost, "TASK_RUNNING"));
    await scheduler.update(driver, status(lost, "TASK_UNREACHABLE"));
    await scheduler.settled(); // the one pass it asked for
    assert.deepEqual((await store.listInstances("/web")).map((i) => i.condition), [
      "UnreachableInactive",
    ]);
    await scheduler.offers(driver, [offer("n2")]);
    assert.equal(driver.launched.length, 2, "a replacement with the default {0, 0} strategy");
    await scheduler.tick();
    assert.equal((await store.listInstances("/web")).length, 1, "{0, 0}: the lost one is expunged");
    assert.ok(driver.killed.some((k) => k.taskId === lost), "and killed should it come back");
    await service.deleteApp("/web");
    await scheduler.tick();
    const killed = new Set(driver.killed.map((k) => k.taskId));
    assert.ok(killed.has(driver.launched[1]!.tasks[0]!.task_id.value));
  });
});

Deno.test("MarathonScheduler kills and replaces an instance that never starts running", async () => {
  await withScheduler(async ({ scheduler, driver, service, store, clock }) => {
    await service.createApp({ id: "slow", cmd: "serve" });
    await scheduler.offers(driver, [offer()]);
    const stuck = driver.launched[0]!.tasks[0]!.task_id.value;
    await updated(scheduler, driver, status(stuck, "TASK_STAGING"));
    clock.advance(299_000);
    await scheduler.tick();
    assert.equal(driver.killed.length, 0);
    clock.advance(1_000);
    await scheduler.tick();
    assert.deepEqual(driver.killed.map((k) => k.taskId), [stuck]);
    await scheduler.offers(driver, [offer()]);
    assert.equal(driver.launched.length, 2, "replaced while the stuck one is being killed");
    assert.equal((await store.listInstances("/slow")).length, 2);
  });
});

Deno.test("MarathonScheduler launches dependencies first, dependents once they run", async () => {
  await withScheduler(async ({ scheduler, driver, service }) => {
    await service.createGroup({
      id: "/shop",
      apps: [{ id: "db", cmd: "db" }, { id: "web", cmd: "web", dependencies: ["/shop/db"] }],
    });
    await scheduler.tick();
    await scheduler.offers(driver, [offer()]);
    assert.deepEqual(driver.launched.flatMap((l) => l.tasks.map((t) => t.name)), ["db.shop"]);
    await updated(
      scheduler,
      driver,
      status(driver.launched[0]!.tasks[0]!.task_id.value, "TASK_RUNNING"),
    );
    await scheduler.offers(driver, [offer()]);
    assert.deepEqual(driver.launched.flatMap((l) => l.tasks.map((t) => t.name)), [
      "db.shop",
      "web.shop",
    ]);
  });
});

Deno.test("MarathonScheduler holds a dependent back when its group deploys while an offer is read", async () => {
  await withScheduler(async ({ scheduler, driver, service }) => {
    // The scheduler reads the books synchronously (core/scheduler_core.ts planOffers), so a group's
    // apps and deployment, committed together, cannot fall between two of its reads any more: the
    // group commits while the first offer is being handled, before the second.
    const first = scheduler.offers(driver, [offer()]);
    await service.createGroup({
      id: "/shop",
      apps: [{ id: "db", cmd: "db" }, { id: "web", cmd: "web", dependencies: ["/shop/db"] }],
    });
    await first;
    await scheduler.offers(driver, [offer()]);
    assert.deepEqual(driver.launched.flatMap((l) => l.tasks.map((t) => t.name)), ["db.shop"]);
  });
});

Deno.test("MarathonScheduler finishes a deployment only once readiness answers ready", async () => {
  let ready = false;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(null, { status: ready ? 200 : 503 }),
  );
  try {
    await withScheduler(async ({ scheduler, driver, service, store, clock }) => {
      const port = server.addr.port;
      await service.createApp({
        id: "api",
        cmd: "serve",
        portDefinitions: [{ port: 0, name: "http-api" }],
        readinessChecks: [{ intervalSeconds: 2, timeoutSeconds: 1 }],
      });
      await scheduler.offers(driver, [
        offer("127.0.0.1", `cpus:4;mem:4096;ports:[${port}-${port}]`),
      ]);
      const taskId = driver.launched[0]!.tasks[0]!.task_id.value;
      await updated(scheduler, driver, status(taskId, "TASK_RUNNING"));
      await scheduler.probesSettled();
      assert.equal((await store.listInstances("/api"))[0]?.ready, false);
      assert.equal((await store.listDeployments()).length, 1, "not ready: the deployment waits");
      ready = true;
      clock.advance(2_000);
      await scheduler.tick();
      await scheduler.probesSettled();
      await scheduler.tick();
      assert.equal((await store.listInstances("/api"))[0]?.ready, true);
      assert.deepEqual(await store.listDeployments(), []);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("MarathonScheduler revives offers when launches become wanted and when a backoff ends", async () => {
  await withScheduler(async ({ scheduler, driver, service, clock }) => {
    const flush = () => new Promise((r) => setTimeout(r, 0));
    const life = new AbortController();
    await scheduler.subscribed(driver, { frameworkId: "fw", resubscribed: false });
    const loop = scheduler.run(life.signal, 60_000);
    await scheduler.tick();
    const base = driver.revives;
    await service.createApp({ id: "crash", cmd: "exit 1", backoffSeconds: 10 });
    await scheduler.tick();
    assert.equal(driver.revives, base + 1, "revived as soon as a launch is wanted");
    await scheduler.tick();
    assert.equal(driver.revives, base + 1, "not again while still wanted");
    await scheduler.offers(driver, [offer()]);
    await scheduler.tick();
    const taskId = driver.launched[0]!.tasks[0]!.task_id.value;
    await updated(scheduler, driver, status(taskId, "TASK_FAILED", { message: "exited 1" }));
    await scheduler.tick();
    const failed = driver.revives;
    clock.advance(9_999);
    await flush();
    assert.equal(driver.revives, failed, "still backed off");
    clock.advance(1);
    await flush();
    assert.equal(driver.revives, failed + 1, "revived when the delay ran out");
    life.abort();
    clock.advance(60_000);
    await loop;
  });
});

Deno.test("MarathonScheduler sends a restart's kills before the launches they make room for", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    const calls: string[] = [];
    const launch = driver.launch.bind(driver);
    const kill = driver.kill.bind(driver);
    driver.launch = (offerIds, tasks) => {
      calls.push("launch");
      return launch(offerIds, tasks);
    };
    driver.kill = (taskId, agentId, graceMs) => {
      calls.push("kill");
      return kill(taskId, agentId, graceMs);
    };
    const active = async () =>
      (await store.listInstances("/web")).filter((i) => i.goal === "Running").length;
    // 2 instances, at most 2 × (1 + 0.5) = 3 at once during a restart.
    await service.createApp({
      id: "web",
      cmd: "serve",
      instances: 2,
      cpus: 0.5,
      mem: 64,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 },
    });
    await scheduler.offers(driver, [offer("n1")]);
    for (const t of driver.launched.flatMap((l) => l.tasks)) {
      await updated(scheduler, driver, status(t.task_id.value, "TASK_RUNNING"));
    }
    await service.putApp("web", { env: { GEN: "2" } }, {});
    await scheduler.tick();
    await scheduler.offers(driver, [offer("n1")]);
    assert.equal(await active(), 3, "one new instance beside the two old ones");
    const first = driver.launched.at(-1)!.tasks[0]!.task_id.value;
    calls.length = 0;

    // The new instance runs (healthy: no checks), so one old one goes and one more new one
    // comes. An offer read before a pass sent that kill (the update's pass still queued behind
    // a long one) must not launch first.
    const newest = (await store.listInstances("/web")).find((i) => i.taskId === first)!;
    await store.updateInstance("/web", newest.instanceId, (c) => ({ ...c, condition: "Running" }));
    await scheduler.offers(driver, [offer("n1")]);
    assert.deepEqual(calls, ["kill", "launch"]);
    assert.equal(await active(), 3);
  });
});

Deno.test("MarathonScheduler reconciles task states again every reconciliation interval", async () => {
  await withScheduler(async ({ scheduler, driver, service, clock }) => {
    await service.createApp({ id: "web", cmd: "serve" });
    await scheduler.subscribed(driver, { frameworkId: "fw", resubscribed: false });
    await scheduler.offers(driver, [offer()]);
    assert.equal(driver.reconciled.length, 2, "on subscription: explicit, then implicit");
    clock.advance(599_000);
    await scheduler.tick();
    assert.equal(driver.reconciled.length, 2, "not before the interval (600 s, as Marathon)");
    clock.advance(1_000);
    await scheduler.tick();
    assert.equal(driver.reconciled.length, 4);
    assert.equal(driver.reconciled[2]!.length, 1, "explicit: the launched task");
    assert.deepEqual(driver.reconciled[3], [], "then implicit: tasks Marathon does not know");
    // The master reports one Marathon does not know: it is killed.
    await updated(scheduler, driver, status("ghost.instance-1", "TASK_RUNNING"));
    assert.ok(driver.killed.some((k) => k.taskId === "ghost.instance-1"));
  });
});
