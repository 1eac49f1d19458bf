/**
 * The agent's fetcher and Docker parameters on real processes and containers: URIs served by a
 * Deno.serve on 127.0.0.1 land in the sandbox of a process task and of a Docker task (at
 * /mnt/mesos/sandbox), a cached URI is downloaded once, failures are TASK_FAILED naming the URI,
 * docker parameters show in `docker inspect`, and an unknown one is TASK_ERROR.
 */
import assert from "node:assert/strict";
import type { AgentEvent, TaskInfo } from "../protocol/mod.ts";
import { probeDocker, startAgent } from "../agent/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { CURRENT_USER, launchEvent, testFramework, testTask } from "./support/agent_tasks.ts";
import { CRI_TEST_IMAGE, noContainerd, startContainerd } from "./support/containerd.ts";
import { makeCerts } from "./support/certs.ts";
import { ClientSecurity } from "../security/mod.ts";

const SOCKET = "/var/run/docker.sock";
const dockerUp = await probeDocker(SOCKET);

function task(id: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return testTask(id, {
    command: { value: command },
    ...extra,
  });
}

const launch = (task: TaskInfo): AgentEvent => launchEvent(task, testFramework(CURRENT_USER));

/** Files to fetch, served on 127.0.0.1 with a count of requests per path. */
async function fileServer() {
  const dir = await Deno.makeTempDir({ prefix: "tender-fetch-files-" });
  await Deno.writeTextFile(`${dir}/hello.txt`, "fetched hello\n");
  await Deno.mkdir(`${dir}/app`);
  await Deno.writeTextFile(`${dir}/app/conf.txt`, "from the tarball\n");
  await Deno.writeTextFile(`${dir}/tool.sh`, "echo tool ran\n");
  const tar = await new Deno.Command("tar", { args: ["-czf", "app.tgz", "app"], cwd: dir })
    .output();
  assert.ok(tar.success);
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    try {
      return new Response(await Deno.readFile(`${dir}${path}`));
    } catch {
      return new Response("not here", { status: 404 });
    }
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    hits,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function logs(url: string, taskId: string): Promise<string> {
  return await (await fetch(`${url}/tasks/${taskId}/logs?stream=stdout`)).text();
}

async function docker(args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function removeContainersOf(taskIds: string[]): Promise<void> {
  for (const id of taskIds) {
    const ids = (await docker(["ps", "-aq", "--filter", `label=tender.task_id=${id}`]))
      .split("\n").filter(Boolean);
    if (ids.length > 0) await docker(["rm", "-f", ...ids]);
  }
}

Deno.test("agent fetches URIs into process tasks' sandboxes, caches, and fails a bad URI", async (t) => {
  const files = await fileServer();
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-agent-fetch-" });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    workDir,
    resources: "cpus:2;mem:1024",
    containerizer: "process",
    statusUpdateRetryMs: 300,
    log: () => {},
  });
  try {
    await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });

    await t.step("a file, an executable and an extracted tarball are in the sandbox", async () => {
      master.send(launch(task("fetcher", "cat hello.txt app/conf.txt && ./tool.sh", {
        command: {
          value: "cat hello.txt app/conf.txt && ./tool.sh",
          uris: [
            { value: `${files.base}/hello.txt` },
            { value: `${files.base}/tool.sh`, executable: true },
            { value: `${files.base}/app.tgz`, cache: true },
          ],
        },
      })));
      await master.waitForState("fetcher", "TASK_FINISHED", 60_000);
      assert.equal(
        await logs(agent.url, "fetcher"),
        "fetched hello\nfrom the tarball\ntool ran\n",
      );
    });

    await t.step("a second task gets a cached URI from the cache", async () => {
      master.send(launch(task("cached", "cat app/conf.txt", {
        command: {
          value: "cat app/conf.txt",
          uris: [{ value: `${files.base}/app.tgz`, cache: true }],
        },
      })));
      await master.waitForState("cached", "TASK_FINISHED", 60_000);
      assert.equal(await logs(agent.url, "cached"), "from the tarball\n");
      assert.equal(files.hits.get("/app.tgz"), 1, "downloaded once, for the first task");
      assert.ok(
        [...Deno.readDirSync(`${workDir}/fetcher_cache`)].length === 1,
        "the cache holds it under the work dir",
      );
      const metrics = await (await fetch(`${agent.url}/metrics`)).text();
      assert.match(metrics, /tender_agent_fetcher_cache_total\{result="hit"\} 1\n/);
      assert.match(metrics, /tender_agent_fetcher_cache_total\{result="miss"\} 1\n/);
    });

    await t.step(
      "a URI that cannot be fetched is TASK_FAILED naming it; the task never runs",
      async () => {
        master.send(launch(task("missing", "touch ran", {
          command: { value: "touch ran", uris: [{ value: `${files.base}/nope.tgz` }] },
        })));
        const failed = await master.waitForState("missing", "TASK_FAILED", 60_000);
        assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
        assert.equal(
          failed.message,
          `Cannot fetch "${files.base}/nope.tgz" for task "missing": the server answered 404 Not Found`,
        );
        assert.equal(
          await Deno.stat(`${workDir}/sandboxes/fw-1/missing/ran`).catch(() => undefined),
          undefined,
        );
      },
    );

    await t.step("an output_file leaving the sandbox is refused", async () => {
      master.send(launch(task("escape", "true", {
        command: {
          value: "true",
          uris: [{ value: `${files.base}/hello.txt`, output_file: "../../../escaped" }],
        },
      })));
      const failed = await master.waitForState("escape", "TASK_FAILED", 60_000);
      assert.match(
        failed.message ?? "",
        /output_file "\.\.\/\.\.\/\.\.\/escaped" has a `\.\.` step/,
      );
      assert.equal(await Deno.stat(`${workDir}/escaped`).catch(() => undefined), undefined);
    });

    await t.step({
      name: "a task running as nobody owns what was fetched for it (needs root)",
      ignore: Deno.uid() !== 0,
      fn: async () => {
        const command = "stat -c %U hello.txt app/conf.txt tool.sh && echo more >> hello.txt && " +
          "./tool.sh && tail -1 hello.txt";
        master.send(launch(task("as-nobody", command, {
          command: {
            value: command,
            user: "nobody",
            uris: [
              { value: `${files.base}/hello.txt` },
              { value: `${files.base}/tool.sh`, executable: true },
              { value: `${files.base}/app.tgz`, cache: true },
            ],
          },
        })));
        await master.waitForState("as-nobody", "TASK_FINISHED", 60_000);
        assert.equal(
          await logs(agent.url, "as-nobody"),
          "nobody\nnobody\nnobody\ntool ran\nmore\n",
        );
      },
    });

    await t.step("a task group's executor URIs land in the group's directory", async () => {
      master.send({
        type: "LAUNCH_GROUP",
        launch_group: {
          framework_id: { value: "fw-1" },
          framework_info: {
            user: Deno.env.get("USER") || "root",
            name: "t",
            id: { value: "fw-1" },
          },
          executor: {
            type: "DEFAULT",
            executor_id: { value: "group-1" },
            command: {
              uris: [{ value: `${files.base}/hello.txt`, output_file: "shared/hello.txt" }],
            },
          },
          tasks: [task("member", "cat shared/hello.txt", {
            container: {
              type: "MESOS",
              volumes: [{
                container_path: "shared",
                mode: "RW",
                source: { type: "SANDBOX_PATH", sandbox_path: { type: "PARENT", path: "shared" } },
              }],
            },
          })],
        },
      });
      await master.waitForState("member", "TASK_FINISHED", 60_000);
      assert.equal(await logs(agent.url, "member"), "fetched hello\n");
    });

    await t.step("docker parameters on a process task are TASK_ERROR, not ignored", async () => {
      master.send(launch(task("params", "true", {
        container: {
          type: "MESOS",
          docker: { image: "x", parameters: [{ key: "label", value: "a=b" }] },
        },
      })));
      const error = await master.waitForState("params", "TASK_ERROR", 60_000);
      assert.equal(error.reason, "REASON_TASK_INVALID");
      assert.match(error.message ?? "", /container\.docker\.parameters \(label\)/);
    });
  } finally {
    await agent.stop();
    await master.close();
    await files.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "agent fetches into a Docker task's sandbox and applies docker parameters (needs Docker)",
  ignore: !dockerUp,
  fn: async (t) => {
    const files = await fileServer();
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-fetch-docker-" });
    const agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      resources: "cpus:2;mem:1024",
      containerizer: "docker",
      dockerSocket: SOCKET,
      statusUpdateRetryMs: 300,
      log: () => {},
    });
    const image = { type: "DOCKER" as const, docker: { image: "tender-busybox:latest" } };
    try {
      await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });

      await t.step("a Docker task reads what was fetched at /mnt/mesos/sandbox", async () => {
        master.send(
          launch(task("dfetch", "cat $MESOS_SANDBOX/hello.txt $MESOS_SANDBOX/app/conf.txt", {
            command: {
              value: "cat $MESOS_SANDBOX/hello.txt $MESOS_SANDBOX/app/conf.txt",
              uris: [{ value: `${files.base}/hello.txt` }, { value: `${files.base}/app.tgz` }],
            },
            container: { ...image, docker: { ...image.docker, network: "HOST" } },
          })),
        );
        await master.waitForState("dfetch", "TASK_FINISHED", 60_000);
        // The output moves from Docker to the sandbox as the finished container goes.
        await waitFor(
          async () => (await logs(agent.url, "dfetch")) === "fetched hello\nfrom the tarball\n",
          { what: "the task's output to show the fetched files", timeoutMs: 30_000 },
        );
      });

      await t.step("label, env and hostname parameters show in docker inspect", async () => {
        master.send(launch(task("dparams", "echo $GREETING; sleep 300", {
          container: {
            type: "DOCKER",
            docker: {
              image: "tender-busybox:latest",
              network: "BRIDGE",
              parameters: [
                { key: "label", value: "team=web" },
                { key: "env", value: "GREETING=hi from a parameter" },
                { key: "hostname", value: "param-host" },
              ],
            },
          },
        })));
        await master.waitForState("dparams", "TASK_RUNNING", 60_000);
        const id = await docker(["ps", "-q", "--filter", "label=tender.task_id=dparams"]);
        assert.ok(id, "the container runs");
        const inspect = JSON.parse(await docker(["inspect", id]))[0];
        assert.equal(inspect.Config.Labels.team, "web");
        assert.equal(inspect.Config.Labels["tender.task_id"], "dparams", "Tender's labels stay");
        assert.ok(inspect.Config.Env.includes("GREETING=hi from a parameter"));
        assert.equal(inspect.Config.Hostname, "param-host");
        await waitFor(async () => (await logs(agent.url, "dparams")) === "hi from a parameter\n", {
          what: "the task to print the parameter's variable",
          timeoutMs: 30_000,
        });
        master.send({
          type: "KILL",
          kill: { framework_id: { value: "fw-1" }, task_id: { value: "dparams" } },
        });
        await master.waitForState("dparams", "TASK_KILLED", 60_000);
      });

      await t.step(
        "an unknown docker parameter is TASK_ERROR naming it; no container is made",
        async () => {
          master.send(launch(task("dunknown", "true", {
            container: {
              type: "DOCKER",
              docker: {
                image: "tender-busybox:latest",
                parameters: [{ key: "oom-kill-disable", value: "true" }],
              },
            },
          })));
          const error = await master.waitForState("dunknown", "TASK_ERROR", 60_000);
          assert.equal(error.reason, "REASON_TASK_INVALID");
          assert.match(
            error.message ?? "",
            /docker parameter "oom-kill-disable" \(parameters\[0\]\) is not a docker parameter Tender supports/,
          );
          assert.equal(
            await docker(["ps", "-aq", "--filter", "label=tender.task_id=dunknown"]),
            "",
          );
        },
      );
    } finally {
      await removeContainersOf(["dfetch", "dparams", "dunknown"]);
      await agent.stop();
      await master.close();
      await files.close();
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "agent fetches into a containerd task's sandbox and refuses its docker parameters (needs containerd)",
  ignore: noContainerd,
  fn: async (t) => {
    const files = await fileServer();
    const ctd = await startContainerd();
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-fetch-containerd-" });
    const agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      resources: "cpus:2;mem:1024",
      containerizer: "containerd",
      containerdSocket: ctd.socket,
      statusUpdateRetryMs: 300,
      log: () => {},
    });
    try {
      await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });

      await t.step("a containerd task reads what was fetched at /mnt/mesos/sandbox", async () => {
        master.send(launch(task("cfetch", "cat $MESOS_SANDBOX/app/conf.txt", {
          command: {
            value: "cat $MESOS_SANDBOX/app/conf.txt",
            uris: [{ value: `${files.base}/app.tgz` }],
          },
          container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE } },
        })));
        await master.waitForState("cfetch", "TASK_FINISHED", 60_000);
        await waitFor(async () => (await logs(agent.url, "cfetch")) === "from the tarball\n", {
          what: "the task's output to show the fetched file",
          timeoutMs: 30_000,
        });
      });

      await t.step(
        "docker parameters on a containerd task are TASK_ERROR naming them",
        async () => {
          master.send(launch(task("cparams", "true", {
            container: {
              type: "DOCKER",
              docker: { image: CRI_TEST_IMAGE, parameters: [{ key: "label", value: "a=b" }] },
            },
          })));
          const error = await master.waitForState("cparams", "TASK_ERROR", 60_000);
          assert.equal(error.reason, "REASON_TASK_INVALID");
          assert.equal(
            error.message,
            'Cannot run task "cparams" in containerd: container.docker.parameters (label) are ' +
              "docker run options, which only the Docker containerizer applies",
          );
        },
      );
    } finally {
      await agent.stop();
      await master.close();
      await ctd.stop();
      await files.close();
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("agent fetches https URIs trusting its --ca, and fails them without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-fetch-tls-" });
  const certs = await makeCerts(`${dir}/certs`);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(certs.cert),
    key: await Deno.readTextFile(certs.key),
    onListen: () => {},
  }, () => new Response("over tls\n"));
  const uri = `https://127.0.0.1:${server.addr.port}/tls.txt`;
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const start = (workDir: string, client?: ClientSecurity) =>
    startAgent({
      master: master.url,
      port: 0,
      workDir,
      resources: "cpus:2;mem:1024",
      containerizer: "process",
      statusUpdateRetryMs: 300,
      log: () => {},
      ...(client ? { client } : {}),
    });
  const trusting = await start(
    `${dir}/trusting`,
    new ClientSecurity({ caCerts: [await Deno.readTextFile(certs.caCert)] }),
  );
  try {
    await waitFor(() => trusting.agent.connected, { what: "the agent to subscribe" });
    master.send(launch(task("tls", "cat tls.txt", {
      command: { value: "cat tls.txt", uris: [{ value: uri }] },
    })));
    await master.waitForState("tls", "TASK_FINISHED", 60_000);
    assert.equal(await logs(trusting.url, "tls"), "over tls\n");
  } finally {
    await trusting.stop();
  }
  const untrusting = await start(`${dir}/untrusting`);
  try {
    await waitFor(() => untrusting.agent.connected, { what: "the second agent to subscribe" });
    master.send(launch(task("no-ca", "true", {
      command: { value: "true", uris: [{ value: uri }] },
    })));
    const failed = await master.waitForState("no-ca", "TASK_FAILED", 60_000);
    assert.match(failed.message ?? "", new RegExp(`^Cannot fetch "${uri}" for task "no-ca": `));
  } finally {
    await untrusting.stop();
    await master.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
