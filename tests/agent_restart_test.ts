/**
 * Chaos: a real agent process (`deno run agent/main.ts`) is SIGKILLed and restarted on the same
 * work dir. It must resend its unacknowledged update, report the task that finished while it
 * was down, and still control the task that kept running.
 */
import assert from "node:assert/strict";
import type { AgentEvent, TaskInfo } from "../protocol/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";

const root = new URL("..", import.meta.url).pathname;

function spawnAgent(
  masterUrl: string,
  workDir: string,
): { child: Deno.ChildProcess; output: () => string } {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      `${root}agent/main.ts`,
      "--master",
      masterUrl,
      "--port",
      "0",
      "--work-dir",
      workDir,
      "--containerizer",
      "process",
      "--resources",
      "cpus:1;mem:256;disk:100",
      "--status-update-retry-ms",
      "300",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipeTo(new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }))
      .catch(() => {});
  }
  return { child, output: () => text };
}

function launch(id: string, command: string): AgentEvent {
  const task: TaskInfo = {
    name: id,
    task_id: { value: id },
    agent_id: { value: "agent-1" },
    resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 0.1 } }],
    command: { value: command },
  };
  return {
    type: "LAUNCH",
    launch: {
      framework_id: { value: "fw-1" },
      framework_info: { user: Deno.env.get("USER") || "root", name: "t", id: { value: "fw-1" } },
      task,
    },
  };
}

/** Kills whatever task processes a failed run left behind. */
async function killLeftovers(workDir: string): Promise<void> {
  try {
    for await (const dir of Deno.readDir(`${workDir}/containers`)) {
      const meta = JSON.parse(
        await Deno.readTextFile(`${workDir}/containers/${dir.name}/meta.json`),
      );
      try {
        Deno.kill(-meta.pid, "SIGKILL");
      } catch { /* gone */ }
    }
  } catch { /* nothing left */ }
}

Deno.test("agent SIGKILLed and restarted resends its unacknowledged update and reports what ended", async (t) => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-agent-restart-" });
  let agent = spawnAgent(master.url, workDir);
  try {
    let waiterContainer = "";
    let pendingUuid = "";
    await t.step(
      "the first agent runs two tasks and leaves one update unacknowledged",
      async () => {
        await waitFor(() => master.subscriptions.length === 1, {
          what: "the agent to subscribe",
          timeoutMs: 30_000,
        });
        master.send(launch("waiter", "while [ ! -e go ]; do sleep 0.1; done; exit 0"));
        const running = await master.waitForState("waiter", "TASK_RUNNING");
        waiterContainer = running.container_status?.container_id?.value ?? "";
        assert.ok(waiterContainer);

        master.autoAck = false;
        master.send(launch("pending", "sleep 60"));
        master.ack(await master.waitForState("pending", "TASK_STARTING"));
        pendingUuid = (await master.waitForState("pending", "TASK_RUNNING")).uuid ?? "";
        assert.ok(pendingUuid);
      },
    );

    await t.step("the agent is SIGKILLed; a task finishes while it is down", async () => {
      agent.child.kill("SIGKILL");
      await agent.child.status;
      await Deno.writeTextFile(`${workDir}/sandboxes/fw-1/waiter/go`, "");
      await waitFor(async () => {
        try {
          await Deno.stat(`${workDir}/containers/${waiterContainer}/status/exit_status`);
          return true;
        } catch {
          return false;
        }
      }, { what: "the waiter task to exit" });
    });

    await t.step("the restarted agent re-registers with its id and its tasks", async () => {
      const seen = master.updates.length;
      master.autoAck = true;
      agent = spawnAgent(master.url, workDir);
      await waitFor(() => master.subscriptions.length === 2, {
        what: "the resubscription",
        timeoutMs: 30_000,
      });
      const sub = master.subscriptions[1]!.subscribe;
      assert.equal(sub.agent_info.id?.value, "agent-1");
      const states = Object.fromEntries(
        sub.tasks.map((x) => [x.task.task_id.value, x.status.state]),
      );
      assert.equal(states.pending, "TASK_RUNNING");
      assert.ok(states.waiter, "the waiter task is reported");

      await waitFor(
        () => master.updates.slice(seen).some((u) => u.update.status.uuid === pendingUuid),
        {
          what: "the unacknowledged TASK_RUNNING to be resent",
        },
      );
      const finished = await master.waitForState("waiter", "TASK_FINISHED");
      assert.equal(finished.message, "Command exited with status 0");
    });

    await t.step("the adopted task can still be killed", async () => {
      master.send({
        type: "KILL",
        kill: {
          framework_id: { value: "fw-1" },
          task_id: { value: "pending" },
          kill_policy: { grace_period: { nanoseconds: 0 } },
        },
      });
      await master.waitForState("pending", "TASK_KILLED");
      await waitFor(
        async () => (await Array.fromAsync(Deno.readDir(`${workDir}/containers`))).length === 0,
        {
          what: "the containers to be removed",
        },
      );
    });
  } catch (e) {
    console.error(`agent output:\n${agent.output()}`);
    throw e;
  } finally {
    try {
      agent.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await agent.child.status;
    await killLeftovers(workDir);
    await master.close();
    await Deno.remove(workDir, { recursive: true });
  }
});
