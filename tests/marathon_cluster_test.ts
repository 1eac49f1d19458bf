/**
 * Marathon end to end: a real master and agent (process containerizer) as processes on
 * loopback, Marathon in-process on its REST API; apps are posted, scaled, restarted, crash
 * with backoff, survive a Marathon restart and are deleted, as Marathon users do it.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call, type Json } from "./support/marathon_api.ts";

const AGENT_FLAGS = [
  "--containerizer",
  "process",
  "--resources",
  "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
];

function runningTasks(state: Json, frameworkId: string): Json[] {
  const fw = state.frameworks.find((f: Json) => f.id === frameworkId);
  return (fw?.tasks ?? []).filter((t: Json) => t.state === "TASK_RUNNING");
}

Deno.test("Marathon deploys, scales, restarts, backs off and deletes apps on a real cluster", async () => {
  const cluster = await Cluster.start();
  const workDir = await Deno.makeTempDir({ prefix: "marathon-e2e-" });
  let marathon = await startMarathon({ master: cluster.masterUrl, port: 0, workDir, tickMs: 200 });
  try {
    await cluster.addAgent(AGENT_FLAGS);
    const api = () => marathon.url;
    const fwId = await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
    const app = (id: string) => call(`${api()}/v2/apps${id}`).then((r) => r.json.app);
    const deployed = (id: string, n: number) =>
      waitFor(`${id} to run ${n} instances with no deployment`, async () => {
        const a = await app(id);
        return a.tasksRunning === n && a.deployments.length === 0 && a.tasks.length === n
          ? a
          : false;
      }, 30_000);

    // Deploy two instances; the deployment finishes once both run.
    const created = await call(`${api()}/v2/apps`, "POST", {
      id: "/sleeper",
      cmd: "sleep 1000",
      instances: 2,
      cpus: 0.1,
      mem: 16,
      env: { GEN: "1" },
    });
    assert.equal(created.status, 201);
    const first = await deployed("/sleeper", 2);
    assert.equal(runningTasks(await cluster.state(), fwId).length, 2);
    assert.ok(first.tasks.every((t: Json) => t.ports.length === 1 && t.ports[0] >= 31000));
    // The master's discovery catalog names the app and carries its service port.
    const service = await waitFor("the service in the catalog", async () => {
      const { services } = (await call(`${cluster.masterUrl}/api/v1/services`)).json;
      const svc = services.find((x: Json) => x.appId === "/sleeper");
      return svc && svc.endpoints.length === 2 ? svc : false;
    });
    assert.equal(service.name, "sleeper");
    assert.ok(
      service.endpoints.every((e: Json) => e.servicePort === first.portDefinitions[0].port),
    );
    assert.equal(first.portDefinitions[0].port, 10000);

    // A config change rolls every instance over to the new version.
    const upd = await call(`${api()}/v2/apps/sleeper`, "PUT", { env: { GEN: "2" } });
    assert.equal(upd.status, 200);
    const second = await deployed("/sleeper", 2);
    assert.ok(second.tasks.every((t: Json) => t.version === upd.json.version));
    const oldIds = new Set(first.tasks.map((t: Json) => t.id));
    assert.ok(second.tasks.every((t: Json) => !oldIds.has(t.id)), "all instances replaced");

    // Scale down to one (scale only: the remaining instance keeps its version).
    await call(`${api()}/v2/apps/sleeper`, "PATCH", { instances: 1 });
    const third = await deployed("/sleeper", 1);
    assert.equal(third.tasks[0].version, upd.json.version);

    // A task killed from outside is replaced.
    const victim = third.tasks[0].id;
    await marathon.driver.kill(victim);
    await waitFor("a replacement", async () => {
      const a = await app("/sleeper");
      return a.tasksRunning === 1 && a.tasks[0].id !== victim;
    }, 30_000);

    // A crashing app is relaunched with a growing backoff delay, visible in /v2/queue.
    await call(`${api()}/v2/apps`, "POST", {
      id: "/crasher",
      cmd: "exit 1",
      cpus: 0.1,
      mem: 16,
      backoffSeconds: 2,
    });
    const queued = await waitFor("crasher to be backed off", async () => {
      const q = (await call(`${api()}/v2/queue`)).json.queue;
      const entry = q.find((e: Json) => e.app.id === "/crasher");
      return entry && entry.delay.timeLeftSeconds > 0 ? entry : false;
    }, 30_000);
    assert.equal(queued.count, 1);
    const crasher = await app("/crasher");
    assert.equal(crasher.lastTaskFailure.state, "TASK_FAILED");
    assert.equal(crasher.lastTaskFailure.appId, "/crasher");
    await call(`${api()}/v2/apps/crasher`, "DELETE");

    // An app no offer can hold waits in the queue, saying why.
    await call(`${api()}/v2/apps`, "POST", { id: "/huge", cmd: "sleep 1000", mem: 1_000_000 });
    const waiting = await waitFor("huge to be declined for memory", async () => {
      const q = (await call(`${api()}/v2/queue`)).json.queue;
      const entry = q.find((e: Json) => e.app.id === "/huge");
      const reasons = entry?.processedOffersSummary.rejectSummaryLastOffers ?? [];
      return reasons.some((r: Json) => r.reason === "InsufficientMemory") ? entry : false;
    }, 30_000);
    assert.equal(waiting.count, 1);
    await call(`${api()}/v2/apps/huge`, "DELETE");

    // Marathon restarts on the same state: same framework id, same instance, no relaunch.
    const before = (await app("/sleeper")).tasks[0].id;
    await marathon.stop();
    marathon = await startMarathon({ master: cluster.masterUrl, port: 0, workDir, tickMs: 200 });
    await waitFor("marathon to re-subscribe", () => marathon.driver.frameworkId === fwId);
    await deployed("/sleeper", 1);
    assert.equal((await app("/sleeper")).tasks[0].id, before);

    // Delete: the tasks are killed and the app is gone.
    const del = await call(`${api()}/v2/apps/sleeper`, "DELETE");
    assert.equal(del.status, 200);
    await waitFor(
      "the tasks to be killed",
      async () => runningTasks(await cluster.state(), fwId).length === 0,
      30_000,
    );
    await waitFor(
      "the deployments to finish",
      async () => (await call(`${api()}/v2/deployments`)).json.length === 0,
    );
    assert.equal((await call(`${api()}/v2/apps/sleeper`)).status, 404);
  } finally {
    await marathon.stop();
    await cluster.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
