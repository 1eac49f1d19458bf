/**
 * Marathon with Docker: a bridged Docker app (busybox httpd) deployed through Marathon on a
 * real master and agent with the Docker containerizer; the container port is published on the
 * assigned host port, the MESOS_HTTP health check turns the task healthy, and a rolling
 * restart replaces the container. Ignored, visibly, where no Docker Engine answers.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import {
  containersOf,
  ensureTestImage,
  IMAGE,
  noDocker,
  removeContainersOf,
} from "./docker_helpers.ts";
import { call } from "./support/marathon_api.ts";

Deno.test({
  name: "Marathon runs a bridged Docker app that turns healthy and rolls it over (needs Docker)",
  ignore: noDocker,
  fn: async () => {
    await ensureTestImage();
    const cluster = await Cluster.start();
    const workDir = await Deno.makeTempDir({ prefix: "marathon-docker-" });
    const marathon = await startMarathon({
      master: cluster.masterUrl,
      port: 0,
      workDir,
      tickMs: 200,
    });
    let fwId: string | undefined;
    try {
      await cluster.addAgent([
        "--containerizer",
        "docker",
        "--resources",
        "cpus:2;mem:1024;disk:1024;ports:[31200-31299]",
      ]);
      fwId = await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
      const app = {
        id: "/web",
        cmd: "echo gen-1 > /tmp/index.html && httpd -f -p 80 -h /tmp",
        cpus: 0.1,
        mem: 32,
        container: {
          type: "DOCKER",
          docker: { image: IMAGE },
          portMappings: [{ containerPort: 80, hostPort: 0, name: "http" }],
        },
        networks: [{ mode: "container/bridge" }],
        healthChecks: [{
          protocol: "MESOS_HTTP",
          portIndex: 0,
          path: "/index.html",
          intervalSeconds: 1,
          delaySeconds: 0,
          gracePeriodSeconds: 10,
        }],
      };
      assert.equal((await call(`${marathon.url}/v2/apps`, "POST", app)).status, 201);
      const healthy = await waitFor("the app to be healthy", async () => {
        const a = (await call(`${marathon.url}/v2/apps/web`)).json.app;
        return a.tasksHealthy === 1 && a.deployments.length === 0 ? a : false;
      }, 60_000);
      const port = healthy.tasks[0].ports[0];
      assert.ok(port >= 31200 && port <= 31299, `host port ${port}`);
      assert.equal(healthy.tasks[0].healthCheckResults[0].alive, true);
      const body = await (await fetch(`http://127.0.0.1:${port}/index.html`)).text();
      assert.equal(body.trim(), "gen-1");

      // A new command rolls the container over; the default {1, 1} strategy keeps one healthy.
      await call(`${marathon.url}/v2/apps/web`, "PUT", {
        cmd: "echo gen-2 > /tmp/index.html && httpd -f -p 80 -h /tmp",
      });
      const next = await waitFor("the new version to be healthy alone", async () => {
        const a = (await call(`${marathon.url}/v2/apps/web`)).json.app;
        return a.tasksHealthy === 1 && a.tasks.length === 1 && a.deployments.length === 0 &&
            a.tasks[0].id !== healthy.tasks[0].id
          ? a
          : false;
      }, 60_000);
      const port2 = next.tasks[0].ports[0];
      assert.equal(
        (await (await fetch(`http://127.0.0.1:${port2}/index.html`)).text()).trim(),
        "gen-2",
      );

      await call(`${marathon.url}/v2/apps/web`, "DELETE");
      await waitFor("the app's containers to stop", async () => {
        return (await containersOf(fwId!, [], true)).length === 0;
      }, 30_000);
    } finally {
      await marathon.stop();
      await cluster.stop();
      await removeContainersOf(fwId);
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
