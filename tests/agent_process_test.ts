/**
 * The agent against a FakeMaster over real HTTP, running real processes with the process
 * containerizer: subscription, task lifecycle, reliable updates, kills, reconcile, reconnect.
 */
import assert from "node:assert/strict";
import type { AgentEvent, FrameworkInfo, TaskInfo } from "../protocol/mod.ts";
import { type RunningAgent, startAgent } from "../agent/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { launchEvent, testTask } from "./support/agent_tasks.ts";

// Tasks run as their framework's user (Mesos' --switch_user): the one running the tests.
const FRAMEWORK: FrameworkInfo = {
  user: Deno.env.get("USER") || "root",
  name: "agent-test",
  id: { value: "fw-1" },
};
const KILLING_FRAMEWORK: FrameworkInfo = {
  ...FRAMEWORK,
  capabilities: [{ type: "TASK_KILLING_STATE" }],
};

function task(id: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return testTask(id, { command: { value: command }, ...extra }, [
    { name: "ports", type: "RANGES", ranges: { range: [{ begin: 31007, end: 31008 }] } },
  ]);
}

const launch = (t: TaskInfo, framework = FRAMEWORK): AgentEvent => launchEvent(t, framework);

function kill(taskId: string, graceMs?: number): AgentEvent {
  return {
    type: "KILL",
    kill: {
      framework_id: { value: "fw-1" },
      task_id: { value: taskId },
      ...(graceMs === undefined
        ? {}
        : { kill_policy: { grace_period: { nanoseconds: graceMs * 1e6 } } }),
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

async function logsOf(agent: RunningAgent, taskId: string): Promise<string> {
  const res = await fetch(`${agent.url}/tasks/${taskId}/logs`);
  return await res.text();
}

Deno.test("agent with the process containerizer, against a FakeMaster", async (t) => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-agent-test-" });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    hostname: "test-node",
    workDir,
    resources: "cpus:2;mem:1024;ports:[31000-31100]",
    attributes: "rack:r1",
    containerizer: "process",
    statusUpdateRetryMs: 300,
    killGraceMs: 5000,
    log: () => {},
  });
  try {
    await t.step("subscribes with its hostname, resources and attributes", async () => {
      await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
      const info = master.subscriptions[0]!.subscribe.agent_info;
      assert.equal(info.hostname, "test-node");
      assert.equal(info.port, agent.port);
      const byName = new Map(info.resources.map((r) => [r.name, r]));
      assert.equal(byName.get("cpus")?.scalar?.value, 2);
      assert.equal(byName.get("mem")?.scalar?.value, 1024);
      assert.deepEqual(byName.get("ports")?.ranges?.range, [{ begin: 31000, end: 31100 }]);
      assert.ok((byName.get("disk")?.scalar?.value ?? 0) > 0, "disk is detected");
      // The operator's attributes, and which containerizers run here (placement reads it).
      assert.deepEqual(info.attributes, [
        { name: "rack", type: "TEXT", text: { value: "r1" } },
        { name: "containerizers", type: "TEXT", text: { value: "process" } },
      ]);
      assert.equal(agent.agent.id, "agent-1");
    });

    await t.step("sends heartbeats", async () => {
      await waitFor(() => master.heartbeats >= 1, { what: "a heartbeat", timeoutMs: 5000 });
    });

    await t.step(
      "runs a LAUNCH: STARTING, RUNNING, FINISHED in order, with the task's env",
      async () => {
        // Acknowledged by hand, to read the logs both while the agent holds the task and after
        // it forgot the task (then from the sandbox).
        master.autoAck = false;
        master.send(launch(task("hello", 'echo "hello $PORT0 $PORTS $MESOS_TASK_ID"')));
        master.ack(await master.waitForState("hello", "TASK_STARTING"));
        master.ack(await master.waitForState("hello", "TASK_RUNNING"));
        const finished = await master.waitForState("hello", "TASK_FINISHED");
        assert.deepEqual(master.statesOf("hello"), [
          "TASK_STARTING",
          "TASK_RUNNING",
          "TASK_FINISHED",
        ]);
        assert.equal(finished.message, "Command exited with status 0");
        assert.equal(finished.agent_id?.value, "agent-1");
        const running = master.statusesOf("hello")[1]!;
        assert.ok(running.container_status?.container_id?.value);
        assert.equal(await logsOf(agent, "hello"), "hello 31007 31007,31008 hello\n");
        master.ack(finished);
        master.autoAck = true;
        await waitFor(() => !agent.agent.tasks().some((x) => x.id === "hello"), {
          what: "the agent to forget the finished task",
        });
        assert.equal(await logsOf(agent, "hello"), "hello 31007 31007,31008 hello\n");
      },
    );

    await t.step("a task exiting non-zero is TASK_FAILED with Mesos' message", async () => {
      master.send(launch(task("fails", "exit 3")));
      const failed = await master.waitForState("fails", "TASK_FAILED");
      assert.equal(failed.message, "Command exited with status 3");
      assert.equal(failed.reason, "REASON_COMMAND_EXECUTOR_FAILED");
    });

    await t.step(
      "a launch the containerizer refuses is TASK_FAILED, container launch failed",
      async () => {
        master.send(launch(task("nocmd", "", { command: {} })));
        const failed = await master.waitForState("nocmd", "TASK_FAILED");
        assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
        assert.match(failed.message ?? "", /no command/);
      },
    );

    await t.step(
      "retries an update until it is acknowledged, and holds the next one back",
      async () => {
        master.autoAck = false;
        master.send(launch(task("retry", "sleep 30")));
        await waitFor(() => master.statesOf("retry").length >= 3, {
          what: "STARTING to be resent",
        });
        const statuses = master.statusesOf("retry");
        assert.deepEqual(master.statesOf("retry").slice(0, 3), [
          "TASK_STARTING",
          "TASK_STARTING",
          "TASK_STARTING",
        ]);
        assert.equal(new Set(statuses.map((s) => s.uuid)).size, 1, "a retry carries the same uuid");
        master.send({
          type: "ACKNOWLEDGE",
          acknowledge: {
            framework_id: { value: "fw-1" },
            task_id: { value: "retry" },
            uuid: "c3RhbGU=",
          },
        });
        master.ack(statuses[0]!);
        const running = await master.waitForState("retry", "TASK_RUNNING");
        master.ack(running);
        master.autoAck = true;
        master.send(kill("retry", 0));
        await master.waitForState("retry", "TASK_KILLED");
      },
    );

    await t.step("a task that exits on SIGTERM is TASK_KILLED well before its grace", async () => {
      master.send(launch(
        task(
          "graceful",
          "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done",
        ),
        KILLING_FRAMEWORK,
      ));
      await master.waitForState("graceful", "TASK_RUNNING");
      await waitFor(async () => (await logsOf(agent, "graceful")).includes("ready"), {
        what: "the trap",
      });
      const started = Date.now();
      master.send(kill("graceful", 20_000));
      const killed = await master.waitForState("graceful", "TASK_KILLED");
      assert.ok(Date.now() - started < 10_000, "the kill waited for the grace period");
      assert.deepEqual(master.statesOf("graceful").slice(-2), ["TASK_KILLING", "TASK_KILLED"]);
      assert.equal(killed.source, "SOURCE_EXECUTOR");
      const stdout = await Deno.readTextFile(`${workDir}/sandboxes/fw-1/graceful/stdout`);
      assert.match(stdout, /bye/, "the task ran its TERM trap");
    });

    await t.step("a task that ignores SIGTERM is killed once the grace period ends", async () => {
      master.send(
        launch(task("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.1; done")),
      );
      await master.waitForState("stubborn", "TASK_RUNNING");
      await waitFor(async () => (await logsOf(agent, "stubborn")).includes("ready"), {
        what: "the trap",
      });
      const started = Date.now();
      master.send(kill("stubborn", 1000));
      const killed = await master.waitForState("stubborn", "TASK_KILLED");
      const took = Date.now() - started;
      assert.ok(took >= 1000, `killed after ${took} ms, before the grace period ended`);
      assert.match(killed.message ?? "", /SIGKILL/);
      assert.ok(
        !master.statesOf("stubborn").includes("TASK_KILLING"),
        "no TASK_KILLING without the capability",
      );
    });

    await t.step(
      "an HTTP health check marks the task healthy, then kills it when it fails",
      async () => {
        const port = freePort();
        master.send(launch(
          task("web", "echo ok > index.html; exec /bin/busybox httpd -f -p 127.0.0.1:$PORT0 -h .", {
            resources: [{
              name: "ports",
              type: "RANGES",
              ranges: { range: [{ begin: port, end: port }] },
            }],
            health_check: {
              type: "HTTP",
              http: { port, path: "/index.html" },
              delay_seconds: 0,
              interval_seconds: 0.2,
              timeout_seconds: 1,
              grace_period_seconds: 5,
              consecutive_failures: 2,
            },
          }),
        ));
        await waitFor(() => master.statusesOf("web").some((s) => s.healthy === true), {
          what: "a healthy TASK_RUNNING",
        });
        const healthy = master.statusesOf("web").find((s) => s.healthy === true)!;
        assert.equal(healthy.state, "TASK_RUNNING");
        assert.equal(healthy.reason, "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED");
        await Deno.remove(`${workDir}/sandboxes/fw-1/web/index.html`);
        const killed = await master.waitForState("web", "TASK_KILLED");
        assert.equal(killed.healthy, false);
        assert.equal(killed.reason, "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED");
        assert.match(killed.message ?? "", /failed its health check/);
        assert.ok(
          master.statusesOf("web").some((s) => s.state === "TASK_RUNNING" && s.healthy === false),
        );
      },
    );

    await t.step("LAUNCH_GROUP runs every task; killing one kills the group", async () => {
      master.send({
        type: "LAUNCH_GROUP",
        launch_group: {
          framework_id: { value: "fw-1" },
          framework_info: FRAMEWORK,
          executor: { executor_id: { value: "pod-1" }, type: "DEFAULT" },
          tasks: [task("pod-a", "sleep 30"), task("pod-b", "sleep 30")],
        },
      });
      await master.waitForState("pod-a", "TASK_RUNNING");
      await master.waitForState("pod-b", "TASK_RUNNING");
      master.send(kill("pod-a", 0));
      await master.waitForState("pod-a", "TASK_KILLED");
      await master.waitForState("pod-b", "TASK_KILLED");
    });

    await t.step("a KILL of an unknown task answers TASK_LOST, REASON_TASK_UNKNOWN", async () => {
      master.send(kill("ghost"));
      const lost = await master.waitForState("ghost", "TASK_LOST");
      assert.equal(lost.reason, "REASON_TASK_UNKNOWN");
      assert.equal(lost.source, "SOURCE_AGENT");
    });

    await t.step("RECONCILE re-sends the latest status without a uuid", async () => {
      master.send(launch(task("recon", "sleep 30")));
      await master.waitForState("recon", "TASK_RUNNING");
      const before = master.statusesOf("recon").length;
      master.send({
        type: "RECONCILE",
        reconcile: { tasks: [{ framework_id: { value: "fw-1" }, task_id: { value: "recon" } }] },
      });
      await waitFor(() => master.statusesOf("recon").length > before, {
        what: "the reconciliation",
      });
      const latest = master.statusesOf("recon").at(-1)!;
      assert.equal(latest.state, "TASK_RUNNING");
      assert.equal(latest.reason, "REASON_RECONCILIATION");
      assert.equal(latest.uuid, undefined);
      const count = master.statusesOf("recon").length;
      master.send({ type: "RECONCILE", reconcile: { tasks: [] } });
      await waitFor(() => master.statusesOf("recon").length > count, {
        what: "implicit reconciliation",
      });
    });

    await t.step(
      "after the stream breaks it resubscribes with its id and running tasks",
      async () => {
        const streams = master.streams;
        master.dropStream();
        await waitFor(() => master.streams > streams && agent.agent.connected, {
          what: "resubscription",
        });
        const sub = master.subscriptions.at(-1)!.subscribe;
        assert.equal(sub.agent_info.id?.value, "agent-1");
        const recon = sub.tasks.find((x) => x.task.task_id.value === "recon");
        assert.equal(recon?.status.state, "TASK_RUNNING");
        assert.ok(
          !sub.tasks.some((x) => x.task.task_id.value === "hello"),
          "acknowledged terminal tasks are gone",
        );
      },
    );

    await t.step(
      "a stream silent for three heartbeat intervals is abandoned for a new one",
      async () => {
        const streams = master.streams;
        const mutedAt = Date.now();
        master.muted = true;
        await waitFor(() => master.streams > streams, {
          what: "a new subscription",
          timeoutMs: 10_000,
        });
        const took = Date.now() - mutedAt;
        assert.ok(
          took >= 2500,
          `gave up on the stream after ${took} ms, before three 1 s intervals`,
        );
        await waitFor(() => agent.agent.connected, { what: "the agent to be subscribed again" });
      },
    );

    await t.step("SHUTDOWN_FRAMEWORK kills every task of the framework", async () => {
      master.send({
        type: "SHUTDOWN_FRAMEWORK",
        shutdown_framework: { framework_id: { value: "fw-1" } },
      });
      await master.waitForState("recon", "TASK_KILLED");
      await waitFor(() => agent.agent.tasks().length === 0, { what: "the task records to go" });
      const left = await Array.fromAsync(Deno.readDir(`${workDir}/containers`));
      assert.deepEqual(
        left,
        [],
        "containers are destroyed once their terminal update is acknowledged",
      );
    });
  } finally {
    await agent.stop();
    await master.close();
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("the agent removes a finished task's sandbox after --gc-delay, never a running one's", async () => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-agent-gc-" });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    workDir,
    resources: "cpus:2;mem:1024;ports:[31000-31100]",
    containerizer: "process",
    gcDelayMs: 300,
    log: () => {},
  });
  const sandbox = (taskId: string) => `${agent.workDir}/sandboxes/fw-1/${taskId}`;
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  try {
    await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
    master.send(launch(task("long", "sleep 30")));
    master.send(launch(task("short", "echo bye")));
    await master.waitForState("long", "TASK_RUNNING");
    await master.waitForState("short", "TASK_FINISHED");
    await waitFor(() => exists(sandbox("short")).then((e) => !e), {
      what: "the finished task's sandbox to be collected",
      timeoutMs: 10_000,
    });
    assert.equal((await fetch(`${agent.url}/tasks/short/logs`)).status, 404);
    assert.ok(await exists(sandbox("long")), "a running task's sandbox stays, however old");
    assert.equal(await logsOf(agent, "long"), "");
  } finally {
    master.send(kill("long", 0));
    await master.waitForState("long", "TASK_KILLED").catch(() => {});
    await agent.stop();
    await master.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
