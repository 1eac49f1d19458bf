/**
 * The agent with `--containerizer containerd` against a FakeMaster and a private containerd
 * (tests/support/containerd.ts): real pods from the busybox test image. Ignored, visibly, where
 * containerd, runc or the CNI plugins are missing.
 */
import assert from "node:assert/strict";
import type { AgentEvent, TaskInfo } from "../protocol/mod.ts";
import { startAgent } from "../agent/mod.ts";
import { parseAgentFlags } from "../agent/flags.ts";
import { CriClient } from "../agent/containerizer/cri_client.ts";
import { CRI_TEST_IMAGE, noContainerd, startContainerd } from "./support/containerd.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import {
  CURRENT_USER,
  launchEvent,
  SMALL_TASK_RESOURCES,
  testFramework,
  testTask,
} from "./support/agent_tasks.ts";

function podTask(id: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return testTask(id, {
    command: { value: command },
    container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE, network: "BRIDGE" } },
    ...extra,
  });
}

const launch = (task: TaskInfo): AgentEvent => launchEvent(task, testFramework(CURRENT_USER));

Deno.test({
  name:
    "agent with the containerd containerizer runs, checks, kills and adopts pods (needs containerd)",
  ignore: noContainerd,
  fn: async (t) => {
    const ctd = await startContainerd();
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-containerd-" });
    const start = () =>
      startAgent({
        master: master.url,
        port: 0,
        workDir,
        resources: "cpus:2;mem:1024;ports:[31000-31100]",
        containerizer: "containerd",
        containerdSocket: ctd.socket,
        statusUpdateRetryMs: 300,
        log: () => {},
      });
    let agent = await start();
    try {
      await t.step("a task runs to TASK_FINISHED; its output is served and kept", async () => {
        assert.equal(agent.containerizer.kind, "containerd+process");
        await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
        master.send(launch(podTask("hello", "echo hello from $MESOS_TASK_ID; echo oops >&2")));
        const running = await master.waitForState("hello", "TASK_RUNNING", 30_000);
        assert.ok(running.container_status?.container_id?.value);
        await master.waitForState("hello", "TASK_FINISHED", 30_000);
        await waitFor(async () => {
          const res = await fetch(`${agent.url}/tasks/hello/logs?stream=stdout`);
          return (await res.text()) === "hello from hello\n";
        }, { what: "the output to be served" });
        // Once acknowledged the pod goes; the output stays in the sandbox.
        await waitFor(async () => (await podsOf("hello")).length === 0, {
          what: "the finished pod to be removed",
          timeoutMs: 30_000,
        });
        const err = await fetch(`${agent.url}/tasks/hello/logs?stream=stderr`);
        assert.equal(await err.text(), "oops\n");
      });

      await t.step("an image that cannot be pulled is TASK_FAILED with the reason", async () => {
        const task = podTask("noimage", "true");
        task.container = {
          type: "DOCKER",
          docker: { image: "127.0.0.1:1/tender/no-such-image:1" },
        };
        master.send(launch(task));
        const failed = await master.waitForState("noimage", "TASK_FAILED", 30_000);
        assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
        assert.match(
          failed.message ?? "",
          /Cannot pull image "127\.0\.0\.1:1\/tender\/no-such-image:1": .*connection refused/,
        );
      });

      await t.step("a plain command on a containerd agent runs as a process", async () => {
        master.send(launch({ ...podTask("plain", "exit 4"), container: undefined }));
        const failed = await master.waitForState("plain", "TASK_FAILED", 30_000);
        assert.equal(failed.message, "Command exited with status 4");
      });

      await t.step("HTTP health checks reach the pod; a COMMAND check runs inside", async () => {
        master.send(launch(podTask("web", "exec httpd -f -p 8080 -h /www", {
          resources: [...SMALL_TASK_RESOURCES, {
            name: "ports",
            type: "RANGES",
            ranges: { range: [{ begin: 31001, end: 31001 }] },
          }],
          container: {
            type: "DOCKER",
            docker: {
              image: CRI_TEST_IMAGE,
              network: "BRIDGE",
              port_mappings: [{ host_port: 31001, container_port: 8080 }],
            },
          },
          health_check: {
            type: "HTTP",
            http: { port: 8080, path: "/" },
            delay_seconds: 0,
            interval_seconds: 0.3,
            timeout_seconds: 2,
            grace_period_seconds: 10,
            consecutive_failures: 3,
          },
        })));
        const healthy = await master.waitForState("web", "TASK_RUNNING", 30_000);
        assert.ok(healthy);
        await waitFor(
          () =>
            master.updates.some((u) =>
              u.update.status.task_id.value === "web" && u.update.status.healthy === true
            ),
          {
            what: "the HTTP check to pass",
            timeoutMs: 30_000,
          },
        );
        master.send(launch(podTask("cmd", "sleep 3600", {
          health_check: {
            type: "COMMAND",
            command: { value: "test -f /tmp/never" },
            delay_seconds: 0,
            interval_seconds: 0.3,
            timeout_seconds: 2,
            grace_period_seconds: 0,
            consecutive_failures: 2,
          },
        })));
        const killed = await master.waitForState("cmd", "TASK_KILLED", 30_000);
        assert.match(killed.message ?? "", /health check/);
      });

      await t.step("a restarted agent adopts its running pod and a KILL stops it", async () => {
        master.send(
          launch(podTask("survivor", "trap 'exit 0' TERM; while true; do sleep 0.1; done")),
        );
        const running = await master.waitForState("survivor", "TASK_RUNNING", 30_000);
        await agent.stop();
        const subscriptions = master.subscriptions.length;
        agent = await start();
        await waitFor(() => master.subscriptions.length > subscriptions && agent.agent.connected, {
          what: "the restarted agent to subscribe",
        });
        const listed = master.subscriptions.at(-1)!.subscribe.tasks.find((x) =>
          x.task.task_id.value === "survivor"
        );
        assert.equal(listed?.status.state, "TASK_RUNNING");
        assert.ok(
          agent.agent.tasks().some((x) =>
            x.container_id === running.container_status?.container_id?.value
          ),
        );
        master.send({
          type: "KILL",
          kill: {
            framework_id: { value: "fw-1" },
            task_id: { value: "survivor" },
            kill_policy: { grace_period: { nanoseconds: 10e9 } },
          },
        });
        await master.waitForState("survivor", "TASK_KILLED", 30_000);
      });
    } finally {
      await agent.stop().catch(() => undefined);
      await master.close();
      await ctd.stop();
      await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
    }

    async function podsOf(taskId: string) {
      const cri = new CriClient(ctd.socket);
      try {
        return await cri.listPodSandboxes({ "tender.task_id": taskId });
      } finally {
        cri.close();
      }
    }
  },
});

Deno.test("agent --containerizer containerd without containerd fails at start naming the socket", async () => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-agent-containerd-" });
  try {
    await assert.rejects(
      () =>
        startAgent({
          master: master.url,
          port: 0,
          workDir,
          containerizer: "containerd",
          containerdSocket: `${workDir}/nothing.sock`,
          log: () => {},
        }),
      (e: Error) => {
        assert.match(e.message, /No containerd answers CRI at .*nothing\.sock/);
        return true;
      },
    );
  } finally {
    await master.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
  }
});

Deno.test("parseAgentFlags() takes --containerizer containerd and --containerd-socket", () => {
  const flags = parseAgentFlags([
    "--master",
    "127.0.0.1:5050",
    "--containerizer",
    "containerd",
    "--containerd-socket",
    "/run/k3s/containerd/containerd.sock",
  ]);
  assert.equal(flags.containerizer, "containerd");
  assert.equal(flags.containerdSocket, "/run/k3s/containerd/containerd.sock");
});
