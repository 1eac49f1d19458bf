/**
 * A task's user, as Mesos honours it (CommandInfo.user, else FrameworkInfo.user; `--no-switch-user`
 * runs every task as the agent), on the process, Docker and containerd containerizers, and the
 * modes of the files the agent keeps secrets in. Real agents against a FakeMaster, real processes
 * and containers. Needs root (to switch users); Docker and containerd steps are ignored, visibly,
 * where no engine answers.
 */
import assert from "node:assert/strict";
import type { AgentEvent, FrameworkInfo, TaskInfo } from "../protocol/mod.ts";
import { type RunningAgent, startAgent, type StartAgentOptions } from "../agent/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { IMAGE, noDocker, removeContainersOf, SOCKET } from "./docker_helpers.ts";
import { CRI_TEST_IMAGE, noContainerd, startContainerd } from "./support/containerd.ts";

const notRoot = Deno.uid() !== 0;
const NOBODY_UID = 65534;

function task(id: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: "agent-1" },
    resources: [
      { name: "cpus", type: "SCALAR", scalar: { value: 0.1 } },
      { name: "mem", type: "SCALAR", scalar: { value: 32 } },
    ],
    command: { value: command },
    ...extra,
  };
}

function launch(t: TaskInfo, frameworkUser: string, frameworkId = "fw-user"): AgentEvent {
  const framework: FrameworkInfo = {
    user: frameworkUser,
    name: "users",
    id: { value: frameworkId },
  };
  return {
    type: "LAUNCH",
    launch: { framework_id: { value: frameworkId }, framework_info: framework, task: t },
  };
}

async function output(agent: RunningAgent, taskId: string): Promise<string> {
  const res = await fetch(`${agent.url}/tasks/${taskId}/logs?stream=stdout`);
  return (await res.text()).trim();
}

/** Asserts a finished task's output (an engine's may reach the sandbox a moment later). */
async function assertOutput(agent: RunningAgent, taskId: string, expected: string) {
  let last = "";
  await waitFor(async () => (last = await output(agent, taskId)) === expected, {
    what: `task "${taskId}" to have printed ${JSON.stringify(expected)}`,
    timeoutMs: 15_000,
  }).catch(() => {});
  assert.equal(last, expected);
}

/** An agent and a FakeMaster in a temp dir, all removed by `close()`. */
async function agentWith(options: Partial<StartAgentOptions>) {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-task-user-" });
  let agent: RunningAgent;
  try {
    agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      resources: "cpus:2;mem:1024;ports:[31000-31100]",
      containerizer: "process",
      statusUpdateRetryMs: 300,
      log: () => {},
      ...options,
    });
    await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
  } catch (e) {
    await master.close();
    await Deno.remove(workDir, { recursive: true });
    throw e;
  }
  return {
    master,
    agent,
    workDir,
    close: async () => {
      await agent.stop();
      await master.close();
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    },
  };
}

function modeOf(path: string): number {
  return (Deno.statSync(path).mode ?? 0) & 0o777;
}

Deno.test({
  name: "a process task runs as its user; an unknown user fails naming it (needs root)",
  ignore: notRoot,
  fn: async (t) => {
    const { master, agent, workDir, close } = await agentWith({});
    try {
      await t.step("CommandInfo.user nobody runs as uid 65534 in a sandbox it owns", async () => {
        const t1 = task("as-nobody", "id -u; touch mine && echo wrote");
        t1.command = { ...t1.command, user: "nobody" };
        master.send(launch(t1, "root"));
        await master.waitForState("as-nobody", "TASK_FINISHED", 30_000);
        await assertOutput(agent, "as-nobody", `${NOBODY_UID}\nwrote`);
        const sandbox = `${workDir}/sandboxes/fw-user/as-nobody`;
        assert.equal(Deno.statSync(sandbox).uid, NOBODY_UID);
        assert.equal(Deno.statSync(`${sandbox}/mine`).uid, NOBODY_UID);
        assert.equal(modeOf(sandbox), 0o700);
      });

      await t.step("without CommandInfo.user, the framework's user", async () => {
        master.send(launch(task("fw-nobody", "id -u; id -g"), "nobody"));
        await master.waitForState("fw-nobody", "TASK_FINISHED", 30_000);
        const gid = (await lookupGid("nobody")).toString();
        await assertOutput(agent, "fw-nobody", `${NOBODY_UID}\n${gid}`);
      });

      await t.step("an unknown user is TASK_FAILED naming the user; nothing runs", async () => {
        const t2 = task("ghost", "touch /tmp/tender-ghost-ran");
        t2.command = { ...t2.command, user: "no-such-user-7" };
        master.send(launch(t2, "root"));
        const failed = await master.waitForState("ghost", "TASK_FAILED", 30_000);
        assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
        assert.equal(
          failed.message,
          'Cannot run task "ghost" as user "no-such-user-7": there is no such user on this agent',
        );
        assert.ok(!(await exists("/tmp/tender-ghost-ran")));
      });

      await t.step("a sandbox the user cannot reach fails the task naming the dir", async () => {
        await Deno.chmod(workDir, 0o700);
        try {
          const t5 = task("walled", "true");
          t5.command = { ...t5.command, user: "nobody" };
          master.send(launch(t5, "root"));
          const failed = await master.waitForState("walled", "TASK_FAILED", 30_000);
          assert.equal(
            failed.message,
            `Cannot run task "walled" as user "nobody": it cannot reach its sandbox, ${workDir} ` +
              "(mode 0700) is closed to it; give the agent a work dir others may pass through",
          );
        } finally {
          await Deno.chmod(workDir, 0o711);
        }
      });

      await t.step("a COMMAND health check runs as the task's user", async () => {
        const t3 = task("checked", "sleep 60", {
          health_check: {
            type: "COMMAND",
            command: { value: '[ "$(id -u)" = 65534 ]' },
            delay_seconds: 0,
            interval_seconds: 1,
            timeout_seconds: 5,
            grace_period_seconds: 30,
          },
        });
        t3.command = { ...t3.command, user: "nobody" };
        master.send(launch(t3, "root"));
        await waitFor(
          () => master.statusesOf("checked").some((s) => s.healthy === true),
          { what: "the check to pass as nobody", timeoutMs: 30_000 },
        );
        master.send({
          type: "KILL",
          kill: { framework_id: { value: "fw-user" }, task_id: { value: "checked" } },
        });
        await master.waitForState("checked", "TASK_KILLED", 30_000);
      });

      await t.step("the agent's store, task env and run dirs are the agent's alone", async () => {
        const t4 = task("secretive", "sleep 60", {});
        t4.command = {
          ...t4.command,
          user: "nobody",
          environment: { variables: [{ name: "DB_PASSWORD", value: "hunter2" }] },
        };
        master.send(launch(t4, "root"));
        await master.waitForState("secretive", "TASK_RUNNING", 30_000);
        assert.equal(modeOf(workDir), 0o711, "others may pass to their sandboxes, not list");
        assert.equal(modeOf(`${workDir}/agent.kv`), 0o600);
        const runDirs = [...Deno.readDirSync(`${workDir}/containers`)].map((d) => d.name);
        assert.equal(modeOf(`${workDir}/containers`), 0o711);
        for (const dir of runDirs) {
          const meta = `${workDir}/containers/${dir}/meta.json`;
          assert.equal(modeOf(meta), 0o600, `${meta} holds the task's env`);
          assert.equal(Deno.statSync(meta).uid, 0);
        }
        // As the task sees it: the env file of its own container is out of its reach.
        const probe = await new Deno.Command("sh", {
          args: ["-c", `cat ${workDir}/containers/*/meta.json`],
          uid: NOBODY_UID,
          gid: await lookupGid("nobody"),
          stdout: "piped",
          stderr: "null",
        }).output();
        assert.ok(!new TextDecoder().decode(probe.stdout).includes("hunter2"));
        master.send({
          type: "KILL",
          kill: { framework_id: { value: "fw-user" }, task_id: { value: "secretive" } },
        });
        await master.waitForState("secretive", "TASK_KILLED", 30_000);
      });
    } finally {
      await close();
    }
  },
});

Deno.test({
  name: "--no-switch-user runs every process task as the agent's user (needs root)",
  ignore: notRoot,
  fn: async () => {
    const { master, agent, close } = await agentWith({ switchUser: false });
    try {
      const t1 = task("as-agent", "id -u");
      t1.command = { ...t1.command, user: "nobody" };
      master.send(launch(t1, "nobody"));
      await master.waitForState("as-agent", "TASK_FINISHED", 30_000);
      await assertOutput(agent, "as-agent", String(Deno.uid()));
    } finally {
      await close();
    }
  },
});

Deno.test({
  name: "a Docker task runs as the user it names, inside the image (needs Docker)",
  ignore: noDocker,
  fn: async () => {
    const { master, agent, close } = await agentWith({
      containerizer: "docker",
      dockerSocket: SOCKET,
    });
    const frameworkId = "fw-user-docker";
    try {
      const image = { type: "DOCKER" as const, docker: { image: IMAGE, network: "HOST" as const } };
      // As nobody, it may write in its sandbox (handed to the host's nobody).
      const t1 = task("d-nobody", 'id -u; touch "$MESOS_SANDBOX/mine" && echo wrote', {
        container: image,
      });
      t1.command = { ...t1.command, user: "nobody" };
      master.send(launch(t1, "root", frameworkId));
      // The framework's user does not override the image's own (root in the test image).
      master.send(launch(task("d-default", "id -u", { container: image }), "nobody", frameworkId));
      const t3 = task("d-ghost", "id -u", { container: image });
      t3.command = { ...t3.command, user: "no-such-user-7" };
      master.send(launch(t3, "root", frameworkId));
      await master.waitForState("d-nobody", "TASK_FINISHED", 60_000);
      await assertOutput(agent, "d-nobody", `${NOBODY_UID}\nwrote`);
      await master.waitForState("d-default", "TASK_FINISHED", 60_000);
      await assertOutput(agent, "d-default", "0");
      const failed = await master.waitForState("d-ghost", "TASK_FAILED", 60_000);
      assert.match(failed.message ?? "", /no-such-user-7/);
    } finally {
      await close();
      await removeContainersOf(frameworkId);
    }
  },
});

Deno.test({
  name: "a containerd task runs as the user it names, inside the image (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const ctd = await startContainerd();
    try {
      const { master, agent, close } = await agentWith({
        containerizer: "containerd",
        containerdSocket: ctd.socket,
      });
      try {
        const image = {
          type: "DOCKER" as const,
          docker: { image: CRI_TEST_IMAGE, network: "BRIDGE" as const },
        };
        const t1 = task("c-nobody", 'id -u; touch "$MESOS_SANDBOX/mine" && echo wrote', {
          container: image,
        });
        t1.command = { ...t1.command, user: "nobody" };
        master.send(launch(t1, "root"));
        await master.waitForState("c-nobody", "TASK_FINISHED", 60_000);
        await assertOutput(agent, "c-nobody", `${NOBODY_UID}\nwrote`);
      } finally {
        await close();
      }
    } finally {
      await ctd.stop();
    }
  },
});

async function lookupGid(name: string): Promise<number> {
  const out = await new Deno.Command("id", { args: ["-g", name], stdout: "piped" }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
