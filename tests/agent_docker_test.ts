/**
 * The agent with the docker containerizer (Docker for DOCKER tasks, processes for plain
 * commands) against a FakeMaster: real containers from tender-busybox:latest.
 */
import assert from "node:assert/strict";
import type { AgentEvent, TaskInfo } from "../protocol/mod.ts";
import { probeDocker, startAgent } from "../agent/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import {
  CURRENT_USER,
  launchEvent,
  SMALL_TASK_RESOURCES,
  testFramework,
  testTask,
} from "./support/agent_tasks.ts";

const SOCKET = "/var/run/docker.sock";
const dockerUp = await probeDocker(SOCKET);

function dockerTask(id: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return testTask(id, {
    command: { value: command },
    container: { type: "DOCKER", docker: { image: "tender-busybox:latest", network: "HOST" } },
    ...extra,
  });
}

const launch = (task: TaskInfo): AgentEvent => launchEvent(task, testFramework(CURRENT_USER));

async function ownedContainers(): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: ["ps", "-a", "--filter", "name=tender-", "--format", "{{.Names}}"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

async function containersOfTask(taskId: string): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: ["ps", "-aq", "--filter", `label=tender.task_id=${taskId}`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

Deno.test({
  name: "agent with the docker containerizer runs, fails and kills real containers (needs Docker)",
  ignore: !dockerUp,
  fn: async (t) => {
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-docker-" });
    const before = new Set(await ownedContainers());
    const start = () =>
      startAgent({
        master: master.url,
        port: 0,
        workDir,
        resources: "cpus:2;mem:1024",
        containerizer: "docker",
        dockerSocket: SOCKET,
        statusUpdateRetryMs: 300,
        log: () => {},
      });
    let agent = await start();
    try {
      await t.step("a docker task runs to TASK_FINISHED and its output is served", async () => {
        await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
        master.autoAck = false;
        master.send(launch(dockerTask("hello", "echo hello from $MESOS_TASK_ID")));
        master.ack(await master.waitForState("hello", "TASK_STARTING", 30_000));
        master.ack(await master.waitForState("hello", "TASK_RUNNING", 30_000));
        const finished = await master.waitForState("hello", "TASK_FINISHED", 30_000);
        const res = await fetch(`${agent.url}/tasks/hello/logs?stream=stdout`);
        assert.equal(await res.text(), "hello from hello\n");
        master.ack(finished);
        master.autoAck = true;
      });

      await t.step("a finished docker task's output is kept in its sandbox", async () => {
        // Once the terminal update is acknowledged the container is removed; the output stays.
        await waitFor(async () => (await containersOfTask("hello")).length === 0, {
          what: "the finished container to be removed",
          timeoutMs: 30_000,
        });
        assert.ok(!agent.agent.tasks().some((task) => task.id === "hello"));
        const out = await fetch(`${agent.url}/tasks/hello/logs?stream=stdout`);
        assert.equal(out.status, 200);
        assert.equal(await out.text(), "hello from hello\n");
        const err = await fetch(`${agent.url}/tasks/hello/logs?stream=stderr&tail=5`);
        assert.equal(await err.text(), "");
        const followed = await fetch(`${agent.url}/tasks/hello/logs?follow=true`);
        assert.equal(await followed.text(), "hello from hello\n", "a followed ended log closes");
        const unknown = await fetch(`${agent.url}/tasks/never-ran/logs`);
        assert.equal(unknown.status, 404);
        await unknown.body?.cancel();
      });

      await t.step("a missing image is TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED", async () => {
        const task = dockerTask("noimage", "true");
        task.container = { type: "DOCKER", docker: { image: "tender-no-such-image:latest" } };
        master.send(launch(task));
        const failed = await master.waitForState("noimage", "TASK_FAILED", 30_000);
        assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
        assert.match(failed.message ?? "", /tender-no-such-image/);
      });

      await t.step("a plain command on a docker agent runs as a process", async () => {
        master.send(launch({ ...dockerTask("plain", "exit 4"), container: undefined }));
        const failed = await master.waitForState("plain", "TASK_FAILED", 30_000);
        assert.equal(failed.message, "Command exited with status 4");
      });

      await t.step("a TCP check of a BRIDGE task fails when nothing listens inside", async () => {
        // Docker's proxy accepts on the published port whatever runs inside: the check must
        // reach the container itself, so a task that listens nowhere is killed.
        master.send(launch(dockerTask("deaf", "sleep 3600", {
          resources: [...SMALL_TASK_RESOURCES, {
            name: "ports",
            type: "RANGES",
            ranges: { range: [{ begin: 31777, end: 31777 }] },
          }],
          container: {
            type: "DOCKER",
            docker: {
              image: "tender-busybox:latest",
              network: "BRIDGE",
              port_mappings: [{ host_port: 31777, container_port: 8080 }],
            },
          },
          health_check: {
            type: "TCP",
            tcp: { port: 8080 },
            delay_seconds: 0,
            interval_seconds: 0.3,
            timeout_seconds: 1,
            grace_period_seconds: 0,
            consecutive_failures: 2,
          },
        })));
        const killed = await master.waitForState("deaf", "TASK_KILLED", 30_000);
        assert.match(killed.message ?? "", /health check/);
      });

      await t.step("a KILL stops a docker task: TASK_KILLED", async () => {
        master.send(
          launch(dockerTask("sleeper", "trap 'exit 0' TERM; while true; do sleep 0.1; done")),
        );
        await master.waitForState("sleeper", "TASK_RUNNING", 30_000);
        master.send({
          type: "KILL",
          kill: {
            framework_id: { value: "fw-1" },
            task_id: { value: "sleeper" },
            kill_policy: { grace_period: { nanoseconds: 10e9 } },
          },
        });
        await master.waitForState("sleeper", "TASK_KILLED", 30_000);
      });

      await t.step(
        "a restarted agent adopts its running container and can still kill it",
        async () => {
          master.send(
            launch(dockerTask("survivor", "trap 'exit 0' TERM; while true; do sleep 0.1; done")),
          );
          const running = await master.waitForState("survivor", "TASK_RUNNING", 30_000);
          await agent.stop();
          const subscriptions = master.subscriptions.length;
          agent = await start();
          await waitFor(
            () => master.subscriptions.length > subscriptions && agent.agent.connected,
            {
              what: "the restarted agent to subscribe",
            },
          );
          const listed = master.subscriptions.at(-1)!.subscribe.tasks.find((x) =>
            x.task.task_id.value === "survivor"
          );
          assert.equal(listed?.status.state, "TASK_RUNNING");
          assert.deepEqual(agent.agent.tasks().map((x) => x.container_id), [
            running.container_status?.container_id?.value,
          ]);
          master.send({
            type: "KILL",
            kill: { framework_id: { value: "fw-1" }, task_id: { value: "survivor" } },
          });
          await master.waitForState("survivor", "TASK_KILLED", 30_000);
        },
      );

      await t.step(
        "containers are removed once their terminal updates are acknowledged",
        async () => {
          await waitFor(() => agent.agent.tasks().length === 0, { what: "all task records to go" });
          await waitFor(async () => (await ownedContainers()).every((n) => before.has(n)), {
            what: "the agent's containers to be removed",
          });
        },
      );
    } finally {
      for (const c of await agent.containerizer.recover(new Set())) {
        await agent.containerizer.destroy(c.id, 0).catch(() => {});
      }
      await agent.stop();
      await master.close();
      await Deno.remove(workDir, { recursive: true });
    }
  },
});
