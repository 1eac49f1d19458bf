/**
 * Marathon's `container.docker.pullConfig` end to end on a real master and Docker agent: an image
 * only a registry with credentials holds (pushed by the test, removed from the engine) runs for an
 * app, then a pod, whose pullConfig secret is a Docker config with the right password; with a
 * wrong one the task fails naming the registry's refusal. Neither password shows in Marathon's, the master's or
 * the agent's views or output.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { importSecretsKey } from "../frameworks/marathon/secrets/secret_store.ts";
import { createLogger } from "../base/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call } from "./support/marathon_api.ts";
import { removeContainersOf } from "./docker_helpers.ts";
import { dockerAvailable, mustRun, run, startTestRegistry } from "./registry_helpers.ts";

const dockerUp = await dockerAvailable() &&
  (await run(["docker", "image", "inspect", "tender-busybox:latest"])).code === 0;
const PASSWORD = "pull-pa55-8c1e07";
const WRONG = "wrong-pa55-3f9a21";
const TRACES = [PASSWORD, WRONG, btoa(`puller:${PASSWORD}`), btoa(`puller:${WRONG}`)];

function dockerConfig(host: string, password: string): string {
  return JSON.stringify({ auths: { [host]: { auth: btoa(`puller:${password}`) } } });
}

function assertNoTrace(what: string, text: string): void {
  for (const t of TRACES) assert.ok(!text.includes(t), `${what} holds a password: ${text}`);
}

/** Every file below `dir` holding one of `needles` (read as bytes, so KV files count too). */
async function filesHolding(dir: string, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory) await walk(path);
      if (!e.isFile) continue;
      const text = new TextDecoder("latin1").decode(
        await Deno.readFile(path).catch(() => new Uint8Array()),
      );
      if (needles.some((n) => text.includes(n))) found.push(path);
    }
  };
  await walk(dir);
  return found;
}

/** The app's last task failure message, once Marathon has one. */
async function lastFailure(url: string, id: string): Promise<string | undefined> {
  const r = await call(`${url}/v2/apps${id}?embed=apps.lastTaskFailure`);
  const message = r.json?.app?.lastTaskFailure?.message;
  return typeof message === "string" && message !== "" ? message : undefined;
}

Deno.test({
  name: "Marathon pullConfig: a private image pulls with the secret's credentials on a Docker " +
    "agent, a wrong password fails the task naming the 401 (needs Docker)",
  ignore: !dockerUp,
  fn: async () => {
    const registry = await startTestRegistry({ auth: { users: { puller: PASSWORD } } });
    const dockerDir = await Deno.makeTempDir({ prefix: "tender-pullconfig-docker-" });
    const image = `${registry.host}/private/app:1`;
    const env = { DOCKER_CONFIG: dockerDir };
    let cluster: Cluster | undefined;
    let marathon: Awaited<ReturnType<typeof startMarathon>> | undefined;
    const workDir = await Deno.makeTempDir({ prefix: "marathon-pullconfig-" });
    const marathonLog: string[] = [];
    try {
      // Only the registry has the image: pushed with a login kept in a config dir of our own.
      await mustRun(
        ["docker", "login", registry.host, "-u", "puller", "--password-stdin"],
        new TextEncoder().encode(`${PASSWORD}\n`),
        env,
      );
      await mustRun(["docker", "tag", "tender-busybox:latest", image]);
      await mustRun(["docker", "push", image], undefined, env);
      await mustRun(["docker", "rmi", image]);
      const anonymous = await run(["docker", "pull", image], undefined, { DOCKER_CONFIG: "/nil" });
      assert.notEqual(anonymous.code, 0, "the registry must refuse an anonymous pull");

      cluster = await Cluster.start(["--log-level", "debug"]);
      const agent = await cluster.addAgent([
        "--containerizer",
        "docker",
        "--log-level",
        "debug",
        "--resources",
        "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
      ]);
      marathon = await startMarathon({
        master: cluster.masterUrl,
        port: 0,
        workDir,
        tickMs: 200,
        secretsKey: await importSecretsKey("7a".repeat(32)),
        log: createLogger({
          component: "marathon",
          level: "debug",
          write: (line) => void marathonLog.push(line),
        }),
      });
      const url = marathon.url;
      await waitFor("marathon to subscribe", () => marathon?.driver.frameworkId, 60_000);
      for (const [path, password] of [["pull/right", PASSWORD], ["pull/wrong", WRONG]]) {
        const put = await call(`${url}/v2/secrets/${path}`, "PUT", {
          value: dockerConfig(registry.host, password!),
        });
        assert.equal(put.status, 201, JSON.stringify(put.json));
      }
      const app = (id: string, source: string) => ({
        id,
        cmd: "echo pulled; sleep 600",
        cpus: 0.1,
        mem: 32,
        container: { type: "MESOS", docker: { image, pullConfig: { secret: "cfg" } } },
        secrets: { cfg: { source } },
      });
      // Marathon's rules: only the Mesos containerizer takes a pull config.
      const onDocker = await call(`${url}/v2/apps`, "POST", {
        ...app("/docker", "/pull/right"),
        container: { type: "DOCKER", docker: { image, pullConfig: { secret: "cfg" } } },
      });
      assert.equal(onDocker.status, 422, JSON.stringify(onDocker.json));
      assert.equal(onDocker.json.details[0].path, "/container/docker/pullConfig");

      // A wrong password first, while only the registry has the image.
      const bad = await call(`${url}/v2/apps`, "POST", app("/pull/bad", "/pull/wrong"));
      assert.equal(bad.status, 201, JSON.stringify(bad.json));
      const failure = await waitFor(
        "the pull with a wrong password to fail",
        () => lastFailure(url, "/pull/bad"),
        120_000,
      );
      assert.match(failure, new RegExp(`Cannot pull image "${image}"`));
      assert.match(failure, /401|unauthorized/i);
      assert.equal((await run(["docker", "image", "inspect", image])).code, 1, "nothing pulled");
      const removed = await call(`${url}/v2/apps/pull/bad?force=true`, "DELETE");
      assert.equal(removed.status, 200, JSON.stringify(removed.json));

      const good = await call(`${url}/v2/apps`, "POST", app("/pull/good", "/pull/right"));
      assert.equal(good.status, 201, JSON.stringify(good.json));
      await waitFor("the private image's task to run", async () => {
        const r = await call(`${url}/v2/apps/pull/good?embed=apps.tasks`);
        return r.json?.app?.tasks?.some((t: { state: string }) => t.state === "TASK_RUNNING");
      }, 120_000);
      const pulled = await run(["docker", "image", "inspect", image]);
      assert.equal(pulled.code, 0, "the agent's engine pulled the image");

      // A pod's container likewise, the image gone from the engine again.
      await mustRun(["docker", "rmi", "-f", image]);
      const pod = await call(`${url}/v2/pods`, "POST", {
        id: "/pull/pod",
        secrets: { cfg: { source: "/pull/right" } },
        containers: [{
          name: "web",
          resources: { cpus: 0.1, mem: 32 },
          image: { kind: "DOCKER", id: image, pullConfig: { secret: "cfg" } },
          exec: { command: { shell: "sleep 600" } },
        }],
      });
      assert.equal(pod.status, 201, JSON.stringify(pod.json));
      await waitFor("the pod's private image to run", async () => {
        const s = (await call(`${url}/v2/pods/pull/pod::status`)).json;
        return s?.status === "STABLE" &&
          s.instances?.[0]?.containers?.every((c: { status: string }) =>
            c.status === "TASK_RUNNING"
          );
      }, 120_000);

      const agentPort = agent.args[agent.args.indexOf("--port") + 1];
      for (
        const [what, address] of [
          ["/v2/apps", `${url}/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure`],
          ["/v2/secrets", `${url}/v2/secrets`],
          ["/master/state", `${cluster.masterUrl}/master/state`],
          ["agent /state", `http://127.0.0.1:${agentPort}/state`],
        ]
      ) {
        const r = await fetch(address!);
        const text = await r.text();
        assert.equal(r.status, 200, `${what}: ${text}`);
        assertNoTrace(what!, text);
      }
      assertNoTrace("the master's output", cluster.master.log.join(""));
      assertNoTrace("the agent's output", agent.log.join(""));
      assertNoTrace("Marathon's log", marathonLog.join("\n"));
      // Nor any file of the master, the agent (sandboxes included) or Marathon's store.
      assert.deepEqual(await filesHolding(cluster.root, TRACES), [], "master and agent files");
      assert.deepEqual(await filesHolding(workDir, TRACES), [], "Marathon's store");
    } finally {
      const frameworkId = marathon?.driver.frameworkId;
      await marathon?.stop();
      await cluster?.stop();
      // Stopping the agent leaves its (stopped) containers: Docker tests remove their own.
      await removeContainersOf(frameworkId);
      await registry.close();
      await run(["docker", "rmi", "-f", image]).catch(() => undefined);
      await Deno.remove(dockerDir, { recursive: true }).catch(() => {});
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
