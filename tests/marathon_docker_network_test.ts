/**
 * Marathon with a named container network on Docker: an app with
 * `networks: [{mode: "container", name}]` runs on the user-defined network the test made (and
 * removes after), serves on its published host port, turns healthy by a MESOS_HTTP check, and
 * Marathon shows the container's address on that network in the task's `ipAddresses`; an app on
 * a network no agent has fails, its lastTaskFailure naming the network. Needs Docker.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { ensureTestImage, IMAGE, noDocker, removeContainersOf } from "./docker_helpers.ts";
import { call } from "./support/marathon_api.ts";

async function docker(...args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "Marathon runs a Docker app on a named network and shows its address there (needs Docker)",
  ignore: noDocker,
  fn: async () => {
    await ensureTestImage();
    const network = `tender-mnet-${crypto.randomUUID().slice(0, 8)}`;
    await docker("network", "create", network);
    const cluster = await Cluster.start();
    const workDir = await Deno.makeTempDir({ prefix: "marathon-network-" });
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
        "cpus:2;mem:1024;disk:1024;ports:[31300-31399]",
      ]);
      fwId = await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
      const app = (id: string, name: string) => ({
        id,
        cmd: "echo on-net > /tmp/index.html && httpd -f -p 80 -h /tmp",
        cpus: 0.1,
        mem: 32,
        container: {
          type: "DOCKER",
          docker: { image: IMAGE },
          portMappings: [{ containerPort: 80, hostPort: 0, name: "http" }],
        },
        networks: [{ mode: "container", name }],
        healthChecks: [{
          protocol: "MESOS_HTTP",
          portIndex: 0,
          path: "/index.html",
          intervalSeconds: 1,
          delaySeconds: 0,
          gracePeriodSeconds: 10,
        }],
      });
      assert.equal(
        (await call(`${marathon.url}/v2/apps`, "POST", app("/net", network))).status,
        201,
      );
      const healthy = await waitFor("the app to be healthy", async () => {
        const a = (await call(`${marathon.url}/v2/apps/net`)).json.app;
        return a.tasksHealthy === 1 && a.deployments.length === 0 ? a : false;
      }, 60_000);
      const task = healthy.tasks[0];
      const names = await docker("ps", "-q", "--filter", `label=tender.task_id=${task.id}`);
      const inspected = JSON.parse(await docker("inspect", names.split("\n")[0]!))[0];
      assert.equal(inspected.HostConfig.NetworkMode, network);
      const ip = inspected.NetworkSettings.Networks[network].IPAddress;
      assert.deepEqual(task.ipAddresses, [{ ipAddress: ip, protocol: "IPv4" }]);
      const port = task.ports[0];
      assert.equal(
        (await (await fetch(`http://127.0.0.1:${port}/index.html`)).text()).trim(),
        "on-net",
      );

      assert.equal(
        (await call(`${marathon.url}/v2/apps`, "POST", app("/lost", "tender-no-such-net"))).status,
        201,
      );
      const failure = await waitFor("the lost app's lastTaskFailure", async () => {
        const r = await call(`${marathon.url}/v2/apps/lost?embed=app.lastTaskFailure`);
        return r.json.app?.lastTaskFailure ?? false;
      }, 60_000);
      assert.equal(failure.state, "TASK_FAILED");
      assert.match(failure.message, /Docker network "tender-no-such-net" does not exist/);
    } finally {
      await marathon.stop();
      await cluster.stop();
      await removeContainersOf(fwId);
      await docker("network", "rm", network).catch(() => {});
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
