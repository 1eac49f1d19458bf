import assert from "node:assert/strict";
import type { TaskInfo } from "../../../protocol/mod.ts";
import { parsePod } from "../pod/parse.ts";
import { killPodInstances } from "../service/pods.ts";
import { offer, status, updated, withScheduler } from "./testing.ts";

const POD = {
  id: "/web",
  containers: [
    {
      name: "server",
      exec: { command: { shell: "serve" } },
      resources: { cpus: 0.5, mem: 64 },
      endpoints: [{ name: "http", hostPort: 0 }],
      volumeMounts: [{ name: "shared", mountPath: "shared" }],
      healthCheck: { http: { endpoint: "http" }, intervalSeconds: 1 },
    },
    {
      name: "sidecar",
      exec: { command: { shell: "watch" } },
      resources: { cpus: 0.25, mem: 32 },
      volumeMounts: [{ name: "shared", mountPath: "shared" }],
    },
  ],
  volumes: [{ name: "shared" }],
  scaling: { instances: 2 },
};

Deno.test("MarathonScheduler launches each pod instance as one LAUNCH_GROUP and tracks it per container", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.deployPod({ put: parsePod(POD), mustBeNew: true });
    const offers = [offer("n1"), offer("n2"), offer("n3")];
    await scheduler.offers(driver, offers);
    assert.equal(driver.accepted.length, 2, "one ACCEPT per offer used");
    assert.deepEqual(driver.declined.map((d) => d.offerIds), [[offers[2]!.id.value]]);
    const groups = driver.accepted.map((a) => a.operations[0]!.launch_group!);
    const instances = await store.listInstances("/web");
    assert.equal(instances.length, 2);
    const [i] = instances;
    const group = groups.find((g) => g.executor.executor_id.value === `instance-${i!.instanceId}`)!;
    const tasks: TaskInfo[] = group.task_group.tasks;
    assert.deepEqual(tasks.map((t) => t.task_id.value), [
      `${i!.instanceId}.server`,
      `${i!.instanceId}.sidecar`,
    ]);
    const [server, sidecar] = tasks;
    assert.deepEqual(server!.container?.volumes, [{
      container_path: "shared",
      mode: "RW",
      source: { type: "SANDBOX_PATH", sandbox_path: { type: "PARENT", path: "shared" } },
    }]);
    const port = i!.hostPorts[0]!;
    assert.deepEqual(server!.discovery?.ports?.ports.map((p) => [p.name, p.number]), [[
      "http",
      port,
    ]]);
    assert.equal(server!.health_check?.http?.port, port);
    const env = Object.fromEntries(
      (server!.command?.environment?.variables ?? []).map((v) => [v.name, v.value]),
    );
    assert.equal(env["ENDPOINT_HTTP"], String(port));
    assert.equal(env["MARATHON_APP_ID"], "/web");
    assert.ok(
      server!.labels?.labels.some((l) => l.key === "MARATHON_APP_ID" && l.value === "/web"),
    );
    assert.ok(group.executor.resources?.some((r) => r.name === "mem" && r.scalar?.value === 32));

    // The instance is as far as its least advanced task, healthy once its checked task is.
    await updated(scheduler, driver, status(server!.task_id.value, "TASK_RUNNING"));
    assert.equal((await store.getInstance("/web", i!.instanceId))?.condition, "Provisioned");
    await updated(scheduler, driver, status(sidecar!.task_id.value, "TASK_RUNNING"));
    let now = await store.getInstance("/web", i!.instanceId);
    assert.equal(now?.condition, "Running");
    assert.equal(now?.healthy, undefined);
    await updated(
      scheduler,
      driver,
      status(server!.task_id.value, "TASK_RUNNING", { healthy: true }),
    );
    now = await store.getInstance("/web", i!.instanceId);
    assert.equal(now?.healthy, true);
    assert.deepEqual(now?.tasks?.map((t) => [t.name, t.condition]), [
      ["server", "Running"],
      ["sidecar", "Running"],
    ]);

    // Killing an instance kills every task of it; the group ends, the instance is replaced.
    await killPodInstances(service, "/web", [i!.instanceId]);
    await scheduler.tick();
    assert.deepEqual(
      driver.killed.map((k) => k.taskId).sort(),
      [server!.task_id.value, sidecar!.task_id.value],
    );
    await updated(scheduler, driver, status(sidecar!.task_id.value, "TASK_KILLED"));
    assert.equal((await store.getInstance("/web", i!.instanceId))?.condition, "Killing");
    await updated(scheduler, driver, status(server!.task_id.value, "TASK_KILLED"));
    assert.equal(await store.getInstance("/web", i!.instanceId), undefined);
    await scheduler.offers(driver, [offer("n1")]);
    assert.equal(driver.accepted.length, 3, "a replacement");
  });
});

Deno.test("MarathonScheduler rolls a pod's config change out and records a failed instance's backoff", async () => {
  await withScheduler(async ({ scheduler, driver, service, store, clock }) => {
    const one = { ...POD, scaling: { instances: 1 } };
    await service.deployPod({ put: parsePod(one), mustBeNew: true });
    await scheduler.offers(driver, [offer("n1")]);
    const run = async (index: number) => {
      for (const t of driver.accepted[index]!.operations[0]!.launch_group!.task_group.tasks) {
        await updated(
          scheduler,
          driver,
          status(t.task_id.value, "TASK_RUNNING", { healthy: true }),
        );
      }
    };
    await run(0);
    assert.deepEqual(await store.listDeployments(), []);
    clock.advance(1000);
    await service.deployPod({ put: parsePod({ ...one, labels: { v: "2" } }) });
    const [deployment] = await store.listDeployments();
    assert.deepEqual(deployment?.steps, [{
      actions: [{ action: "RestartApplication", app: "/web" }],
    }]);
    await scheduler.offers(driver, [offer("n2")]);
    assert.equal(driver.accepted.length, 2, "the new version first (maximumOverCapacity 1)");
    await run(1);
    await scheduler.tick();
    const old = driver.accepted[0]!.operations[0]!.launch_group!.task_group.tasks;
    assert.deepEqual(
      driver.killed.map((k) => k.taskId).sort(),
      old.map((t) => t.task_id.value).sort(),
      "then the old instance",
    );
    for (const t of old) await updated(scheduler, driver, status(t.task_id.value, "TASK_KILLED"));
    assert.deepEqual(await store.listDeployments(), [], "the restart finished");

    const current = driver.accepted[1]!.operations[0]!.launch_group!.task_group.tasks;
    await updated(scheduler, driver, status(current[1]!.task_id.value, "TASK_FAILED"));
    await updated(scheduler, driver, status(current[0]!.task_id.value, "TASK_KILLED"));
    assert.equal((await store.getBackoff("/web"))?.delayMs, 1000);
    assert.equal((await store.getLastFailure("/web"))?.state, "TASK_KILLED");
  });
});
