import assert from "node:assert/strict";
import { Resources } from "../protocol/mod.ts";
import { SequentialIds, systemClock } from "../base/mod.ts";
import { FakeMaster, waitFor } from "../tests/support/fake_master.ts";
import { FakeHaMaster, proxyTo } from "../tests/support/ha_master.ts";
import { Agent } from "./agent.ts";
import { SimulatedContainerizer } from "./containerizer/simulated.ts";

Deno.test("Agent.start() retries recovery while the engine is away, then subscribes", async () => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/agent.kv`);
  const containerizer = new SimulatedContainerizer(systemClock);
  let failures = 2;
  const real = containerizer.recover.bind(containerizer);
  containerizer.recover = (known) => {
    if (failures-- > 0) return Promise.reject(new Error("Docker Engine unreachable"));
    return real(known);
  };
  const logs: string[] = [];
  const agent = new Agent(
    { kv, clock: systemClock, ids: new SequentialIds(), containerizer, log: (m) => logs.push(m) },
    {
      master: master.url,
      hostname: "a",
      port: 5051,
      advertiseIp: "127.0.0.1",
      workDir: dir,
      resources: Resources.parse("cpus:1;mem:128"),
      attributes: [],
    },
  );
  try {
    await agent.start();
    assert.equal(failures, -1, "recovery was tried three times");
    assert.equal(logs.filter((l) => l.startsWith("Recovery failed")).length, 2);
    await waitFor(() => agent.connected, { what: "the agent to subscribe" });
  } finally {
    await agent.stop();
    kv.close();
    await master.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Agent re-registers at the new leader after a failover, with its id and its running task", async () => {
  const oldLeader = new FakeMaster({ agentId: "agent-9" }), newLeader = new FakeMaster();
  const a = FakeHaMaster.start(), b = FakeHaMaster.start();
  a.lead(proxyTo(oldLeader.url));
  b.standBy(a);
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/agent.kv`);
  const containerizer = new SimulatedContainerizer(systemClock);
  const agent = new Agent(
    { kv, clock: systemClock, ids: new SequentialIds(), containerizer },
    {
      master: `${b.url},${a.url}`,
      hostname: "a",
      port: 5051,
      advertiseIp: "127.0.0.1",
      workDir: dir,
      resources: Resources.parse("cpus:1;mem:128"),
      attributes: [],
      reconnectMaxMs: 50,
    },
  );
  try {
    await agent.start();
    await waitFor(() => agent.connected, { what: "the agent to subscribe" });
    oldLeader.send({
      type: "LAUNCH",
      launch: {
        framework_id: { value: "fw-1" },
        framework_info: { user: "t", name: "t", id: { value: "fw-1" } },
        task: {
          name: "web",
          task_id: { value: "web.1" },
          agent_id: { value: "agent-9" },
          resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 0.1 } }],
          command: { value: "serve" },
        },
      },
    });
    await oldLeader.waitForState("web.1", "TASK_RUNNING");

    await a.kill();
    b.lead(proxyTo(newLeader.url));
    await waitFor(() => newLeader.subscriptions.length > 0 && agent.connected, {
      what: "the agent to subscribe at the new leader",
    });
    const subscribe = newLeader.subscriptions[0]!.subscribe;
    assert.deepEqual(subscribe.agent_info.id, { value: "agent-9" });
    assert.deepEqual(
      subscribe.tasks?.map((t) => [t.task.task_id.value, t.status.state]),
      [["web.1", "TASK_RUNNING"]],
    );
    assert.equal(agent.id, "agent-9");
    assert.deepEqual(agent.tasks().map((t) => [t.id, t.state]), [["web.1", "TASK_RUNNING"]]);
    assert.equal(agent.state().master, `${b.url},${a.url}`);
  } finally {
    await agent.stop();
    kv.close();
    await a.kill();
    await b.kill();
    await oldLeader.close();
    await newLeader.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Agent re-registers a task group's tasks with their executor id", async () => {
  const master = new FakeMaster({ agentId: "agent-3" });
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/agent.kv`);
  const containerizer = new SimulatedContainerizer(systemClock);
  const agent = new Agent(
    { kv, clock: systemClock, ids: new SequentialIds(), containerizer },
    {
      master: master.url,
      hostname: "a",
      port: 5051,
      advertiseIp: "127.0.0.1",
      workDir: dir,
      resources: Resources.parse("cpus:1;mem:128"),
      attributes: [],
      reconnectMaxMs: 50,
    },
  );
  try {
    await agent.start();
    await waitFor(() => agent.connected, { what: "the agent to subscribe" });
    const member = (id: string) => ({
      name: id,
      task_id: { value: id },
      agent_id: { value: "agent-3" },
      resources: [{ name: "cpus", type: "SCALAR" as const, scalar: { value: 0.1 } }],
      command: { value: "serve" },
    });
    master.send({
      type: "LAUNCH_GROUP",
      launch_group: {
        framework_id: { value: "fw-1" },
        framework_info: { user: "t", name: "t", id: { value: "fw-1" } },
        executor: { type: "DEFAULT", executor_id: { value: "pod-1" } },
        tasks: [member("pod.web"), member("pod.side")],
      },
    });
    await master.waitForState("pod.web", "TASK_RUNNING");
    await master.waitForState("pod.side", "TASK_RUNNING");
    master.dropStream();
    await waitFor(() => master.subscriptions.length > 1 && agent.connected, {
      what: "the agent to subscribe again",
    });
    const again = master.subscriptions.at(-1)!.subscribe;
    assert.deepEqual(
      again.tasks?.map((t) => [t.task.task_id.value, t.executor_id?.value]).sort(),
      [["pod.side", "pod-1"], ["pod.web", "pod-1"]],
    );
  } finally {
    await agent.stop();
    kv.close();
    await master.close();
    await Deno.remove(dir, { recursive: true });
  }
});
