/**
 * Marathon end to end on a real master, three Docker agents and real Docker (issue 4): UNIQUE
 * placement over agents with a fourth instance left in the queue, replacement of a container
 * killed with `docker kill`, a rolling env change that never drops below minimumHealthCapacity
 * (asserted from the /v2/events stream), 409 on a locked app, `?force=true`, rollback by
 * deleting a deployment, scale to 0 and delete, and 422 for invalid apps with nothing created.
 * Ignored, visibly, where no Docker Engine answers.
 */
import assert from "node:assert/strict";
import { LABELS } from "../agent/containerizer/docker.ts";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import {
  containersOf,
  ensureTestImage,
  IMAGE,
  noDocker,
  removeContainersOf,
} from "./docker_helpers.ts";
import { call, type Json, type MarathonEvent, readEvents } from "./support/marathon_api.ts";

/** The instance id of a Marathon task id (drops the `._app.N` suffix). */
const instanceOf = (taskId: string) => taskId.replace(/\._app\.\d+$/, "");

const TERMINAL = new Set([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_LOST",
  "TASK_ERROR",
  "TASK_DROPPED",
  "TASK_GONE",
]);

/** Healthy and live instances of `appId` replayed from the event stream, from `initial`. */
function replay(events: readonly MarathonEvent[], appId: string, initial: readonly string[]) {
  const healthy = new Set(initial);
  const live = new Set(initial);
  const launched = new Set<string>();
  const endedNew = new Set<string>();
  let minHealthy = healthy.size;
  let maxLive = live.size;
  const trace: string[] = [];
  for (const e of events) {
    if (e.data.appId !== appId && e.data.runSpecId !== appId) continue;
    if (e.type === "health_status_changed_event") {
      if (e.data.alive) healthy.add(e.data.instanceId);
      else healthy.delete(e.data.instanceId);
    } else if (e.type === "status_update_event") {
      const id = instanceOf(e.data.taskId);
      if (TERMINAL.has(e.data.taskStatus) || e.data.taskStatus === "TASK_KILLING") {
        healthy.delete(id);
        if (TERMINAL.has(e.data.taskStatus)) live.delete(id);
        if (TERMINAL.has(e.data.taskStatus) && launched.has(id)) endedNew.add(id);
      } else if (!initial.includes(id)) {
        live.add(id);
        launched.add(id);
      }
    } else continue;
    minHealthy = Math.min(minHealthy, healthy.size);
    maxLive = Math.max(maxLive, live.size);
    const what = e.data.taskStatus ?? `alive=${e.data.alive}`;
    trace.push(`${e.data.instanceId ?? e.data.taskId} ${what} healthy=${healthy.size}`);
  }
  return { healthy, live, launched, endedNew, minHealthy, maxLive, trace };
}

/** The busybox httpd command serving $VERSION at /index.html on container port 8080. */
const HTTPD = "echo $VERSION > /tmp/index.html && exec httpd -f -p 8080 -h /tmp";

function webApp(id: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    id,
    cmd: HTTPD,
    cpus: 0.05,
    mem: 16,
    container: {
      type: "DOCKER",
      docker: { image: IMAGE },
      portMappings: [{ containerPort: 8080, hostPort: 0, name: "http" }],
    },
    networks: [{ mode: "container/bridge" }],
    healthChecks: [{
      protocol: "MESOS_HTTP",
      portIndex: 0,
      path: "/index.html",
      intervalSeconds: 1,
      timeoutSeconds: 1,
      delaySeconds: 0,
      gracePeriodSeconds: 10,
      maxConsecutiveFailures: 3,
    }],
    ...extra,
  };
}

async function page(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/index.html`, {
    signal: AbortSignal.timeout(5000),
  });
  return (await r.text()).trim();
}

Deno.test({
  name: "Marathon on three Docker agents: UNIQUE, replacement, rolling env change, locks, rollback",
  ignore: noDocker,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    await ensureTestImage();
    const cluster = await Cluster.start();
    const workDir = await Deno.makeTempDir({ prefix: "marathon-e2e-docker-" });
    const marathon = await startMarathon({
      master: cluster.masterUrl,
      port: 0,
      workDir,
      tickMs: 200,
    });
    const stream = readEvents(marathon.url);
    let fwId: string | undefined;
    const api = (path: string, method = "GET", body?: unknown) =>
      call(`${marathon.url}${path}`, method, body);
    const appOf = async (id: string) => (await api(`/v2/apps${id}?embed=app.tasks`)).json.app;
    const settled = (id: string, n: number, healthy = n, timeoutMs = 60_000) =>
      waitFor(`${id}: ${n} tasks, ${healthy} healthy, no deployment`, async () => {
        const a = await appOf(id);
        return a.tasks.length === n && a.tasksRunning === n && a.tasksHealthy === healthy &&
            a.deployments.length === 0
          ? a
          : false;
      }, timeoutMs);
    try {
      // Distinct host-port ranges: the agents share one Docker host.
      for (let i = 0; i < 3; i++) {
        await cluster.addAgent([
          "--containerizer",
          "docker",
          "--resources",
          `cpus:2;mem:1024;disk:1024;ports:[${32100 + i * 50}-${32149 + i * 50}]`,
        ]);
      }
      fwId = await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);

      await t.step("invalid apps answer 422 and create nothing", async () => {
        const bad = [
          webApp("/Bad_ID!", {}),
          webApp("/neg", { instances: -1 }),
          webApp("/op", { constraints: [["hostname", "SOMETIMES"]] }),
          { id: "/empty", cpus: 0.1, mem: 16 },
        ];
        for (const app of bad) {
          const r = await api("/v2/apps", "POST", app);
          assert.equal(r.status, 422, `${JSON.stringify(app)} → ${JSON.stringify(r.json)}`);
          assert.ok(Array.isArray(r.json.details) && r.json.details.length > 0);
        }
        assert.deepEqual((await api("/v2/apps")).json.apps, []);
        assert.deepEqual((await api("/v2/deployments")).json, []);
        assert.deepEqual(await containersOf(fwId!), []);
      });

      let web: Json;
      await t.step(
        "UNIQUE hostname spreads 3 healthy instances; a 4th waits in the queue",
        async () => {
          const created = await api(
            "/v2/apps",
            "POST",
            webApp("/web", {
              instances: 3,
              env: { VERSION: "v1" },
              constraints: [["hostname", "UNIQUE"]],
            }),
          );
          assert.equal(created.status, 201, JSON.stringify(created.json));
          web = await settled("/web", 3);
          const hosts = web.tasks.map((x: Json) => x.host).sort();
          assert.deepEqual(hosts, ["agent-0.test", "agent-1.test", "agent-2.test"]);
          for (const task of web.tasks) {
            assert.equal(task.healthCheckResults[0].alive, true);
            assert.equal(await page(task.ports[0]), "v1");
          }
          const running = await containersOf(fwId!, [], true);
          assert.equal(running.length, 3);

          const scaled = await api("/v2/apps/web", "PUT", { instances: 4 });
          assert.equal(scaled.status, 200, JSON.stringify(scaled.json));
          const queued = await waitFor("the 4th instance in /v2/queue", async () => {
            const q = (await api("/v2/queue")).json.queue;
            const item = q.find((x: Json) => x.app?.id === "/web");
            return item && item.count === 1 ? item : false;
          });
          assert.equal(queued.count, 1);
          await waitFor("3 tasks and the scale deployment still running", async () => {
            const a = await appOf("/web");
            return a.tasks.length === 3 && a.deployments.length === 1;
          });
          assert.equal((await containersOf(fwId!, [], true)).length, 3);

          // Back to 3: the scale deployment holds the lock, so force it.
          const back = await api("/v2/apps/web?force=true", "PUT", { instances: 3 });
          assert.equal(back.status, 200, JSON.stringify(back.json));
          web = await settled("/web", 3);
          await waitFor("the queue to empty", async () => {
            const q = (await api("/v2/queue")).json.queue;
            return !q.some((x: Json) => x.app?.id === "/web");
          });
        },
      );

      await t.step(
        "a container killed with docker kill is replaced by a healthy instance",
        async () => {
          const victim = web.tasks[0];
          const [container] = await containersOf(fwId!, [`${LABELS.taskId}=${victim.id}`]);
          assert.ok(container, `a container labelled ${LABELS.taskId}=${victim.id}`);
          const killed = await new Deno.Command("docker", {
            args: ["kill", container.Id],
            stdout: "null",
            stderr: "piped",
          }).output();
          assert.ok(killed.success, new TextDecoder().decode(killed.stderr));
          const after = await waitFor("a replacement, all 3 healthy", async () => {
            const a = await appOf("/web");
            return a.tasksHealthy === 3 && a.tasks.length === 3 &&
                !a.tasks.some((x: Json) => x.id === victim.id)
              ? a
              : false;
          }, 60_000);
          const fresh = after.tasks.find((x: Json) =>
            !web.tasks.some((old: Json) => old.id === x.id)
          );
          assert.ok(fresh, "a new task id");
          assert.equal(fresh.host, victim.host, "UNIQUE leaves only the victim's agent");
          assert.equal(await page(fresh.ports[0]), "v1");
          const updates = stream.events.filter((e) => e.type === "status_update_event");
          assert.ok(
            updates.some((e) =>
              e.data.taskId === victim.id &&
              ["TASK_FAILED", "TASK_KILLED"].includes(e.data.taskStatus)
            ),
            "a TASK_FAILED/TASK_KILLED update for the killed task",
          );
          assert.ok(
            updates.some((e) => e.data.taskId === fresh.id && e.data.taskStatus === "TASK_RUNNING"),
            "a TASK_RUNNING update for the replacement",
          );
          assert.ok(
            stream.events.some((e) =>
              e.type === "instance_changed_event" && e.data.instanceId === instanceOf(victim.id)
            ),
          );
          assert.ok(stream.events.some((e) =>
            e.type === "health_status_changed_event" &&
            e.data.instanceId === instanceOf(fresh.id) && e.data.alive === true
          ));
          assert.equal((await api("/v2/apps/web", "DELETE")).status, 200);
        },
      );

      await t.step("an env change of 4 with {0.5, 0.25} never drops below 2 healthy", async () => {
        const created = await api(
          "/v2/apps",
          "POST",
          webApp("/roll", {
            instances: 4,
            env: { VERSION: "v1" },
            upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.25 },
          }),
        );
        assert.equal(created.status, 201, JSON.stringify(created.json));
        const before = await settled("/roll", 4);
        const initial = before.tasks.map((x: Json) => instanceOf(x.id));
        const from = stream.events.length;
        const put = await api("/v2/apps/roll", "PUT", { env: { VERSION: "v2" } });
        assert.equal(put.status, 200, JSON.stringify(put.json));
        const done = await waitFor("the new version healthy on 4", async () => {
          const a = await appOf("/roll");
          return a.tasksHealthy === 4 && a.tasks.length === 4 && a.deployments.length === 0 &&
              a.tasks.every((x: Json) => x.version === a.version)
            ? a
            : false;
        }, 120_000);
        const finalIds = done.tasks.map((x: Json) => instanceOf(x.id)).sort();
        // The old containers may still be stopping: wait until the stream has seen them end.
        const seen = await waitFor("the event stream to show the 4 new instances alone", () => {
          const r = replay(stream.events.slice(from), "/roll", initial);
          return r.live.size === 4 && r.healthy.size === 4 ? r : false;
        }, 60_000);
        const trace = seen.trace.join("\n");
        assert.ok(seen.minHealthy >= 2, `healthy dropped to ${seen.minHealthy}:\n${trace}`);
        assert.deepEqual([...seen.healthy].sort(), finalIds, trace);
        // Only a new instance that ended (e.g. TASK_LOST from an agent silent under load) may
        // have been launched again.
        assert.equal(
          seen.launched.size - seen.endedNew.size,
          4,
          `4 new instances launched (plus replacements of ended ones):\n${trace}`,
        );
        // Instances being killed stay alive until their container stops (SIGTERM is ignored by
        // PID 1 here), so at most the 4 old plus 4 new were ever up at once.
        assert.ok(seen.maxLive <= 8, `${seen.maxLive} instances at once:\n${trace}`);
        for (const task of done.tasks) assert.equal(await page(task.ports[0]), "v2");
      });

      await t.step("scale to 0, then delete", async () => {
        assert.equal((await api("/v2/apps/roll", "PUT", { instances: 0 })).status, 200);
        await settled("/roll", 0);
        assert.equal((await api("/v2/apps/roll", "DELETE")).status, 200);
        await waitFor("no apps", async () => (await api("/v2/apps")).json.apps.length === 0);
        await waitFor(
          "no running containers",
          async () => (await containersOf(fwId!, [], true)).length === 0,
          30_000,
        );
      });

      await t.step("409 while a deployment runs, ?force=true, rollback by DELETE", async () => {
        const created = await api(
          "/v2/apps",
          "POST",
          webApp("/stuck", { env: { VERSION: "good" } }),
        );
        assert.equal(created.status, 201);
        const good = await settled("/stuck", 1);
        const goodTask = good.tasks[0].id;
        // Nothing listens on the health-checked port in this version: it never turns healthy.
        const bad = { cmd: "exec sleep 3600" };
        const first = await api("/v2/apps/stuck", "PUT", bad);
        assert.equal(first.status, 200);
        const deploymentId = first.json.deploymentId;
        await waitFor("the unhealthy new task to run", async () => {
          const a = await appOf("/stuck");
          return a.tasksRunning === 2 ? a : false;
        }, 30_000);
        const locked = await api("/v2/apps/stuck", "PUT", { env: { VERSION: "other" } });
        assert.equal(locked.status, 409);
        assert.match(locked.json.message, /locked by one or more deployments/);
        assert.deepEqual(locked.json.deployments, [{ id: deploymentId }]);

        // Rollback: deleting the deployment restores the previous version.
        const rollback = await api(`/v2/deployments/${deploymentId}`, "DELETE");
        assert.equal(rollback.status, 200, JSON.stringify(rollback.json));
        assert.notEqual(rollback.json.deploymentId, deploymentId);
        const restored = await settled("/stuck", 1);
        assert.equal(restored.cmd, HTTPD);
        assert.equal(restored.env.VERSION, "good");
        assert.equal(restored.tasks[0].id, goodTask, "the healthy old task was kept");
        assert.deepEqual((await api("/v2/deployments")).json, []);

        // Locked again; ?force=true replaces the stuck deployment.
        assert.equal((await api("/v2/apps/stuck", "PUT", bad)).status, 200);
        assert.equal(
          (await api("/v2/apps/stuck", "PUT", { env: { VERSION: "forced" } })).status,
          409,
        );
        const forced = await api("/v2/apps/stuck?force=true", "PUT", {
          cmd: HTTPD,
          env: { VERSION: "forced" },
        });
        assert.equal(forced.status, 200, JSON.stringify(forced.json));
        const final = await waitFor("the forced version alone and healthy", async () => {
          const a = await appOf("/stuck");
          return a.tasks.length === 1 && a.tasksHealthy === 1 && a.deployments.length === 0 &&
              a.tasks[0].version === a.version
            ? a
            : false;
        }, 60_000);
        assert.equal(await page(final.tasks[0].ports[0]), "forced");
        assert.equal((await api("/v2/apps/stuck", "DELETE")).status, 200);
        await waitFor(
          "no running containers",
          async () => (await containersOf(fwId!, [], true)).length === 0,
          30_000,
        );
      });
    } finally {
      await stream.close();
      await marathon.stop();
      await cluster.stop();
      await removeContainersOf(fwId);
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
