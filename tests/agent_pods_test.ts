/**
 * Task groups (LAUNCH_GROUP) as pods, on each containerizer, against a FakeMaster: two tasks,
 * one serving HTTP, the other fetching from it on localhost, both seeing each other's files in
 * the group's shared volume (a SANDBOX_PATH PARENT volume). With Docker and containerd the pod
 * has a network namespace of its own (so localhost is the pod's, not the host's); with the
 * process containerizer the tasks share the host's. Docker and containerd tests are ignored,
 * visibly, where those are missing.
 */
import assert from "node:assert/strict";
import type { AgentEvent, ContainerInfo, ExecutorInfo, TaskInfo } from "../protocol/mod.ts";
import { type RunningAgent, startAgent, type StartAgentOptions } from "../agent/mod.ts";
import { CriClient } from "../agent/containerizer/cri_client.ts";
import { DockerEngine } from "../agent/containerizer/docker_engine.ts";
import { CRI_TEST_IMAGE, noContainerd, startContainerd } from "./support/containerd.ts";
import { ensureTestImage, IMAGE, noDocker, SOCKET } from "./docker_helpers.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { CURRENT_USER, testFramework, testTask } from "./support/agent_tasks.ts";

/** The group's shared volume, as Marathon's pods declare an ephemeral one. */
const SHARED = {
  container_path: "shared",
  mode: "RW",
  source: { type: "SANDBOX_PATH", sandbox_path: { type: "PARENT", path: "shared" } },
} as const;

function task(
  id: string,
  command: string,
  container: ContainerInfo,
  ports: number[] = [],
): TaskInfo {
  const portRanges = ports.map((p) => ({ begin: p, end: p }));
  return testTask(
    id,
    { command: { value: command }, container: { ...container, volumes: [SHARED] } },
    ports.length > 0 ? [{ name: "ports", type: "RANGES", ranges: { range: portRanges } }] : [],
  );
}

function launchGroup(executor: ExecutorInfo, tasks: TaskInfo[]): AgentEvent {
  return {
    type: "LAUNCH_GROUP",
    launch_group: {
      framework_id: { value: "fw-1" },
      framework_info: testFramework(CURRENT_USER),
      executor,
      tasks,
    },
  };
}

function kill(taskId: string): AgentEvent {
  return {
    type: "KILL",
    kill: {
      framework_id: { value: "fw-1" },
      task_id: { value: taskId },
      kill_policy: { grace_period: { nanoseconds: 0 } },
    },
  };
}

/** The server writes into the shared volume and serves it; the client fetches on localhost. */
function commands(port: number, listen: string) {
  return {
    server: `echo hello-from-server > "$MESOS_SANDBOX/shared/greeting"; ` +
      `exec busybox httpd -f -p ${listen}:${port} -h "$MESOS_SANDBOX/shared"`,
    client: `echo hello-from-client > "$MESOS_SANDBOX/shared/reply"; ` +
      `until busybox wget -q -O - http://127.0.0.1:${port}/greeting; do sleep 0.2; done; ` +
      // The server serves the client's file: it sees it too.
      `busybox wget -q -O - http://127.0.0.1:${port}/reply; cat "$MESOS_SANDBOX/shared/greeting"; ` +
      `exec sleep 600`,
  };
}

async function stdoutOf(agent: RunningAgent, taskId: string): Promise<string> {
  const res = await fetch(`${agent.url}/tasks/${taskId}/logs?stream=stdout`);
  return await res.text();
}

/** What the pod test checks on each containerizer; `check` runs while the server runs. */
async function podScenario(
  t: Deno.TestContext,
  options: {
    agent: Omit<StartAgentOptions, "master">;
    container: ContainerInfo;
    executor: ExecutorInfo;
    listen: string;
    port: number;
    hostPorts?: number[];
    whileRunning?: (agent: RunningAgent) => Promise<void>;
    afterRemoval?: () => Promise<void>;
    restart?: boolean;
  },
): Promise<void> {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const start = () =>
    startAgent({ ...options.agent, master: master.url, statusUpdateRetryMs: 300, log: () => {} });
  let agent = await start();
  try {
    await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
    await t.step("the tasks reach each other on localhost and share the volume", async () => {
      const { server, client } = commands(options.port, options.listen);
      master.send(launchGroup(options.executor, [
        task("server", server, options.container, options.hostPorts),
        task("client", client, options.container),
      ]));
      await master.waitForState("server", "TASK_RUNNING", 30_000);
      await master.waitForState("client", "TASK_RUNNING", 30_000);
      const expected = "hello-from-server\nhello-from-client\nhello-from-server\n";
      await waitFor(async () => (await stdoutOf(agent, "client")) === expected, {
        what: `the client's output to be ${JSON.stringify(expected)}`,
        timeoutMs: 30_000,
      });
      await options.whileRunning?.(agent);
    });
    if (options.restart) {
      await t.step("a restarted agent adopts the pod", async () => {
        await agent.stop();
        const subscriptions = master.subscriptions.length;
        agent = await start();
        await waitFor(() => master.subscriptions.length > subscriptions && agent.agent.connected, {
          what: "the restarted agent to subscribe",
        });
        assert.ok(agent.agent.tasks().some((x) => x.id === "server" && x.state === "TASK_RUNNING"));
      });
    }
    await t.step("a KILL of one task stops the pod; once acknowledged it is removed", async () => {
      master.send(kill("server"));
      await master.waitForState("server", "TASK_KILLED", 30_000);
      await master.waitForState("client", "TASK_KILLED", 30_000);
      await waitFor(() => agent.agent.tasks().length === 0, {
        what: "the tasks to be forgotten",
        timeoutMs: 30_000,
      });
      await options.afterRemoval?.();
    });
  } finally {
    await agent.stop().catch(() => undefined);
    await master.close();
  }
}

Deno.test("a task group on the process containerizer shares the host's network and a directory", async (t) => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-pod-process-" });
  try {
    const port = freePort();
    await podScenario(t, {
      agent: { port: 0, workDir, resources: "cpus:2;mem:1024", containerizer: "process" },
      container: { type: "MESOS" },
      executor: { executor_id: { value: "pod-1" }, type: "DEFAULT" },
      listen: "127.0.0.1",
      port,
    });
    // Mesos' layout in meaning: the group's directory beside its tasks' sandboxes.
    const shared = `${workDir}/sandboxes/fw-1/pod+pod-1/shared`;
    assert.equal(await Deno.readTextFile(`${shared}/reply`), "hello-from-client\n");
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
  }
});

Deno.test("a task that fails kills its group, one that finishes does not; a volume a process cannot have fails the group", async () => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-pod-fail-" });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    workDir,
    resources: "cpus:2;mem:1024",
    containerizer: "process",
    log: () => {},
  });
  try {
    await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
    const mesos: ContainerInfo = { type: "MESOS" };
    master.send(launchGroup({ executor_id: { value: "pod-f" } }, [
      task("long", "sleep 30", mesos),
      task("done", "true", mesos),
      task("bad", "sleep 0.5; exit 3", mesos),
    ]));
    await master.waitForState("done", "TASK_FINISHED");
    assert.equal(master.statesOf("long").at(-1), "TASK_RUNNING");
    const failed = await master.waitForState("bad", "TASK_FAILED");
    assert.equal(failed.message, "Command exited with status 3");
    const killed = await master.waitForState("long", "TASK_KILLED");
    assert.match(killed.message ?? "", /A task of its group ended: Command exited with status 3/);

    const absolute = task("abs", "sleep 30", mesos);
    absolute.container!.volumes = [{ ...SHARED, container_path: "/shared" }];
    master.send(launchGroup({ executor_id: { value: "pod-g" } }, [
      task("other", "sleep 30", mesos),
      absolute,
    ]));
    const refused = await master.waitForState("abs", "TASK_FAILED");
    assert.equal(refused.reason, "REASON_CONTAINER_LAUNCH_FAILED");
    assert.match(refused.message ?? "", /Cannot mount "\/shared" in task "abs": a process has no/);
    await master.waitForState("other", "TASK_KILLED");
  } finally {
    await agent.stop();
    await master.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
  }
});

Deno.test({
  name: "a task group on Docker shares the first container's network namespace (needs Docker)",
  ignore: noDocker,
  fn: async (t) => {
    await ensureTestImage();
    const workDir = await Deno.makeTempDir({ prefix: "tender-pod-docker-" });
    const hostPort = freePort();
    const engine = new DockerEngine(SOCKET);
    const groupContainers = () => engine.list(["tender.pod=fw-1/pod-d"]);
    try {
      await podScenario(t, {
        agent: {
          port: 0,
          workDir,
          resources: `cpus:2;mem:1024;ports:[${hostPort}-${hostPort}]`,
          containerizer: "docker",
          dockerSocket: SOCKET,
        },
        container: { type: "DOCKER", docker: { image: IMAGE, network: "BRIDGE" } },
        executor: {
          executor_id: { value: "pod-d" },
          type: "DEFAULT",
          container: {
            type: "MESOS",
            network_infos: [{ port_mappings: [{ host_port: hostPort, container_port: 8080 }] }],
          },
        },
        listen: "0.0.0.0",
        port: 8080,
        whileRunning: async () => {
          const found = await groupContainers();
          assert.equal(found.length, 2);
          const modes = await Promise.all(
            found.map(async (c) => (await engine.inspect(c.Id))?.HostConfig.NetworkMode ?? ""),
          );
          assert.equal(modes.filter((m) => m.startsWith("container:")).length, 1, `${modes}`);
          // The pod's ports are published by the container holding its network.
          const res = await fetch(`http://127.0.0.1:${hostPort}/reply`);
          assert.equal(await res.text(), "hello-from-client\n");
        },
        afterRemoval: async () => {
          await waitFor(async () => (await groupContainers()).length === 0, {
            what: "the pod's containers to be removed",
            timeoutMs: 30_000,
          });
        },
      });
    } finally {
      for (const c of await groupContainers().catch(() => [])) {
        await engine.remove(c.Id).catch(() => undefined);
      }
      engine.close();
      await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
    }
  },
});

Deno.test({
  name:
    "a task group on containerd is one CRI pod sandbox, adopted after a restart (needs containerd)",
  ignore: noContainerd,
  fn: async (t) => {
    const ctd = await startContainerd();
    const workDir = await Deno.makeTempDir({ prefix: "tender-pod-containerd-" });
    const cri = new CriClient(ctd.socket);
    const sandboxes = () => cri.listPodSandboxes({ "tender.pod": "fw-1/pod-c" });
    try {
      await podScenario(t, {
        agent: {
          port: 0,
          workDir,
          resources: "cpus:2;mem:1024",
          containerizer: "containerd",
          containerdSocket: ctd.socket,
        },
        container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE, network: "BRIDGE" } },
        executor: { executor_id: { value: "pod-c" }, type: "DEFAULT" },
        listen: "0.0.0.0",
        port: 8080,
        restart: true,
        whileRunning: async () => {
          const pods = await sandboxes();
          assert.equal(pods.length, 1, "one sandbox for the group");
          const members = await cri.listContainers({ "tender.pod": "fw-1/pod-c" });
          assert.equal(members.length, 2);
          assert.ok(members.every((c) => c.pod_sandbox_id === pods[0]!.id));
        },
        afterRemoval: async () => {
          await waitFor(async () => (await sandboxes()).length === 0, {
            what: "the group's sandbox to be removed after its last member",
            timeoutMs: 30_000,
          });
        },
      });
    } finally {
      cri.close();
      await ctd.stop();
      await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
    }
  },
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}
