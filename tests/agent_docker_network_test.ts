/**
 * The Docker containerizer on named networks and with secrets, against a FakeMaster: a task
 * whose `network_infos` names a user-defined network (made by the test, removed after) joins it,
 * publishes its port there and reports its address on it in TASK_RUNNING; a network that does
 * not exist fails the task naming it; VALUE secrets reach a container as a variable and as files
 * (relative and absolute paths) and never the agent's `/state`. Needs Docker.
 */
import assert from "node:assert/strict";
import { type AgentEvent, base64Of, type TaskInfo } from "../protocol/mod.ts";
import { startAgent } from "../agent/mod.ts";
import { DockerEngine } from "../agent/containerizer/docker_engine.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { launchEvent, SMALL_TASK_RESOURCES, testTask } from "./support/agent_tasks.ts";
import { ensureTestImage, IMAGE, noDocker, SOCKET } from "./docker_helpers.ts";

const VALUE = "d0ck3r-s3cret-51f2";

function task(id: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return testTask(id, {
    command: { value: command },
    container: { type: "DOCKER", docker: { image: IMAGE, network: "HOST" } },
    ...extra,
  });
}

const launch = (task: TaskInfo): AgentEvent => launchEvent(task);

async function docker(...args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "Docker tasks join a user-defined network by name and get VALUE secrets (needs Docker)",
  ignore: noDocker,
  fn: async (t) => {
    await ensureTestImage();
    const network = `tender-test-net-${crypto.randomUUID().slice(0, 8)}`;
    await docker("network", "create", network);
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-net-" });
    const agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      resources: "cpus:2;mem:1024;ports:[31900-31910]",
      containerizer: "docker",
      dockerSocket: SOCKET,
      statusUpdateRetryMs: 300,
      log: () => {},
    });
    const engine = new DockerEngine(SOCKET);
    try {
      await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });

      await t.step(
        "a task on a named network joins it, with its address in TASK_RUNNING",
        async () => {
          master.send(launch(task("on-net", "sleep 3600", {
            resources: [...SMALL_TASK_RESOURCES, {
              name: "ports",
              type: "RANGES",
              ranges: { range: [{ begin: 31905, end: 31905 }] },
            }],
            container: {
              type: "DOCKER",
              docker: {
                image: IMAGE,
                network: "USER",
                port_mappings: [{ host_port: 31905, container_port: 8080 }],
              },
              network_infos: [{ name: network }],
            },
          })));
          const running = await master.waitForState("on-net", "TASK_RUNNING", 60_000);
          const [summary] = await engine.list(["tender.task_id=on-net"]);
          assert.ok(summary, "the task's container");
          const inspected = JSON.parse(await docker("inspect", summary.Id))[0];
          assert.equal(inspected.HostConfig.NetworkMode, network);
          const ip = inspected.NetworkSettings.Networks[network]?.IPAddress;
          assert.match(ip ?? "", /^\d+\.\d+\.\d+\.\d+$/);
          // Docker publishes a user-defined network's ports as the default bridge's.
          assert.equal(inspected.HostConfig.PortBindings["8080/tcp"]?.[0]?.HostPort, "31905");
          assert.deepEqual(running.container_status?.network_infos, [
            { name: network, ip_addresses: [{ ip_address: ip }] },
          ]);
        },
      );

      await t.step("a network that does not exist is TASK_FAILED naming it", async () => {
        master.send(launch(task("no-net", "sleep 3600", {
          container: {
            type: "DOCKER",
            docker: { image: IMAGE, network: "USER" },
            network_infos: [{ name: "tender-no-such-net" }],
          },
        })));
        const failed = await master.waitForState("no-net", "TASK_FAILED", 60_000);
        assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
        assert.match(failed.message ?? "", /Docker network "tender-no-such-net" does not exist/);
      });

      await t.step(
        "VALUE secrets reach the container as a variable and read-only files",
        async () => {
          const secret = {
            type: "VALUE" as const,
            value: { data: base64Of(new TextEncoder().encode(VALUE)) },
          };
          master.send(launch(task(
            "secrets",
            "",
            {
              command: {
                value: 'echo "env=$DB rel=$(cat $MESOS_SANDBOX/pw) abs=$(cat /etc/tender-pw)"; ' +
                  "(echo x > /etc/tender-pw) 2>/dev/null || echo read-only; exec sleep 3600",
                environment: { variables: [{ name: "DB", type: "SECRET", secret }] },
              },
              container: {
                type: "DOCKER",
                docker: { image: IMAGE, network: "HOST" },
                volumes: [
                  { container_path: "pw", mode: "RO", source: { type: "SECRET", secret } },
                  {
                    container_path: "/etc/tender-pw",
                    mode: "RO",
                    source: { type: "SECRET", secret },
                  },
                ],
              },
            },
          )));
          await master.waitForState("secrets", "TASK_RUNNING", 60_000);
          let out = "";
          await waitFor(async () => {
            const r = await fetch(`${agent.url}/tasks/secrets/logs?stream=stdout`);
            out = await r.text();
            return out.includes("read-only");
          }, { what: "the task's output", timeoutMs: 30_000 });
          assert.equal(out, `env=${VALUE} rel=${VALUE} abs=${VALUE}\nread-only\n`);
          const state = await (await fetch(`${agent.url}/state`)).text();
          assert.ok(state.includes('"secrets"'), "the task is in the agent's state");
          assert.ok(!state.includes(VALUE) && !state.includes(btoa(VALUE)), state);
        },
      );
    } finally {
      for (const c of await agent.containerizer.recover(new Set())) {
        await agent.containerizer.destroy(c.id, 0).catch(() => {});
      }
      await agent.stop();
      await master.close();
      engine.close();
      await docker("network", "rm", network).catch(() => {});
      await Deno.remove(workDir, { recursive: true });
    }
  },
});
