import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../base/mod.ts";
import type { FrameworkInfo, TaskInfo, TaskStatus } from "../protocol/mod.ts";
import type { ContainerId, ContainerSpec } from "./containerizer/containerizer.ts";
import { SimulatedContainerizer } from "./containerizer/simulated.ts";
import { keys } from "./keys.ts";
import { KvBatcher } from "./kv_batcher.ts";
import { StatusUpdateManager } from "./status_update_manager.ts";
import { TaskSupervisor } from "./task_supervisor.ts";

/** A simulated containerizer whose launches wait until the test opens the gate. */
class GatedContainerizer extends SimulatedContainerizer {
  gate = Promise.withResolvers<void>();
  override async launch(
    id: ContainerId,
    spec: ContainerSpec,
  ): Promise<"launched" | "already_launched"> {
    await this.gate.promise;
    return await super.launch(id, spec);
  }
}

const FRAMEWORK: FrameworkInfo = { user: "u", name: "f", id: { value: "fw" } };

function task(id: string, command = "serve"): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: "a1" },
    resources: [],
    command: { value: command },
  };
}

async function harness(containerizer: SimulatedContainerizer) {
  const dir = await Deno.makeTempDir({ prefix: "tender-supervisor-" });
  const kv = await Deno.openKv(`${dir}/kv`);
  const clock = new FakeClock(0);
  const ids = new SequentialIds();
  const sent: TaskStatus[] = [];
  const batcher = new KvBatcher(kv);
  const updates = new StatusUpdateManager({
    kv,
    clock,
    ids,
    batcher,
    send: (u) => Promise.resolve(void sent.push(u.status)),
  }, { retryMinMs: 1000, retryMaxMs: 1000 });
  const make = () =>
    new TaskSupervisor(
      { kv, clock, ids, containerizer, updates, batcher, agentId: () => "a1" },
      { advertiseIp: "127.0.0.1", workDir: dir },
    );
  const states = (taskId: string) =>
    updates.pending().filter((u) => u.status.task_id.value === taskId).map((u) => u.status);
  return {
    kv,
    updates,
    make,
    states,
    sent,
    async close() {
      await updates.stop();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("TaskSupervisor.kill() during a launch skips TASK_RUNNING: KILLED_DURING_LAUNCH", async () => {
  const containerizer = new GatedContainerizer(new FakeClock(0));
  const h = await harness(containerizer);
  try {
    const supervisor = h.make();
    supervisor.launch("fw", FRAMEWORK, task("slow"));
    await new Promise((r) => setTimeout(r, 20));
    supervisor.kill("fw", "slow");
    containerizer.gate.resolve();
    await supervisor.settled();
    const statuses = h.states("slow");
    assert.deepEqual(statuses.map((s) => s.state), ["TASK_STARTING", "TASK_KILLED"]);
    assert.equal(statuses[1]!.reason, "REASON_TASK_KILLED_DURING_LAUNCH");
    assert.equal(containerizer.running(), 0, "the container launched meanwhile was destroyed");
  } finally {
    await h.close();
  }
});

Deno.test("TaskSupervisor.recover() reports vanished containers and kills unknown ones", async () => {
  const containerizer = new SimulatedContainerizer(new FakeClock(0));
  const h = await harness(containerizer);
  try {
    const first = h.make();
    first.launch("fw", FRAMEWORK, task("alive"));
    first.launch("fw", FRAMEWORK, task("gone"));
    first.launch(
      "fw",
      { ...FRAMEWORK, capabilities: [{ type: "PARTITION_AWARE" }] },
      task("gone-pa"),
    );
    await first.settled();
    const records = first.records();
    const idOf = (t: string) => records.find((r) => r.task.task_id.value === t)!.container_id;
    // While "the agent is down": two containers vanish, a stranger appears.
    const spec = { ...simulatedSpec(), taskId: "stranger" };
    await containerizer.launch("stranger", spec);
    // A vanished container is one the containerizer no longer lists.
    const recover = containerizer.recover.bind(containerizer);
    containerizer.recover = async (known) =>
      (await recover(known)).filter((c) => c.id !== idOf("gone") && c.id !== idOf("gone-pa"));

    const second = h.make();
    assert.equal(await second.recover(), 3);
    assert.equal(h.states("alive").at(-1)?.state, "TASK_RUNNING");
    const gone = h.states("gone").at(-1)!;
    assert.equal(gone.state, "TASK_LOST");
    assert.equal(gone.reason, "REASON_AGENT_RESTARTED");
    assert.match(gone.message ?? "", /agent restarted/);
    assert.equal(h.states("gone-pa").at(-1)?.state, "TASK_GONE");
    assert.equal((await containerizer.wait("stranger"))?.reason, "killed");
    const stored = await h.kv.get(keys.task("fw", "gone"));
    assert.ok(stored.value, "the record stays until the terminal update is acknowledged");
  } finally {
    await h.close();
  }
});

function simulatedSpec(): ContainerSpec {
  return {
    agentId: "a1",
    frameworkId: "fw",
    taskId: "x",
    command: { value: "serve" },
    limits: { cpus: 0, memMb: 0, diskMb: 0 },
    ports: [],
    env: {},
    hostIp: "127.0.0.1",
    sandbox: "/nonexistent/simulated",
  };
}
