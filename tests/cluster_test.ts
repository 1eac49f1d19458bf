/**
 * The cluster core end to end: a real master and real agents as processes on loopback, a
 * framework on the real SDK, tasks run by the process containerizer.
 */
import assert from "node:assert/strict";
import { taskInfo } from "../mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { RawScheduler } from "./support/raw_scheduler.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const AGENT_FLAGS = [
  "--containerizer",
  "process",
  "--resources",
  "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
];

Deno.test("a framework subscribes, gets offers, launches, and sees STARTING, RUNNING, FINISHED", async () => {
  const cluster = await Cluster.start();
  const fw = new RecordingFramework(cluster.masterUrl);
  try {
    await cluster.addAgent(AGENT_FLAGS);
    await fw.driver.start();
    const offer = await fw.takeOffer();
    assert.equal(offer.hostname, "agent-0.test");
    await fw.driver.launch([offer.id.value], [
      taskInfo({
        name: "ok",
        taskId: "ok-1",
        agentId: offer.agent_id.value,
        cpus: 0.5,
        mem: 64,
        command: "echo hi",
      }),
      taskInfo({
        name: "bad",
        taskId: "bad-1",
        agentId: offer.agent_id.value,
        cpus: 0.5,
        mem: 64,
        command: "exit 3",
      }),
    ]);
    const finished = await fw.waitForState("ok-1", "TASK_FINISHED");
    assert.deepEqual(fw.states("ok-1"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);
    assert.equal(finished.agent_id?.value, offer.agent_id.value);
    const failed = await fw.waitForState("bad-1", "TASK_FAILED");
    assert.match(failed.message ?? "", /3/);
    // Acknowledged terminal tasks end up in completed_tasks.
    await waitFor("tasks to complete", async () => {
      const state = await cluster.state();
      return state.frameworks[0]?.completed_tasks.length === 2;
    });
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    await cluster.stop();
  }
});

Deno.test("a master killed with SIGKILL and restarted keeps its frameworks and tasks", async () => {
  const cluster = await Cluster.start();
  const fw = new RecordingFramework(cluster.masterUrl, { failover_timeout: 3600 });
  try {
    await cluster.addAgent(AGENT_FLAGS);
    await fw.driver.start();
    const offer = await fw.takeOffer();
    await fw.driver.launch([offer.id.value], [
      taskInfo({
        name: "long",
        taskId: "long-1",
        agentId: offer.agent_id.value,
        cpus: 1,
        mem: 64,
        command: "sleep 120",
      }),
    ]);
    await fw.waitForState("long-1", "TASK_RUNNING");
    const frameworkId = fw.driver.frameworkId;

    await cluster.master.kill("SIGKILL");
    cluster.master.start();
    await cluster.waitForMaster();

    // Straight after the restart, before anyone re-registers, the master knows them.
    const recovered = await cluster.state();
    const framework = recovered.frameworks.find((f: { id: string }) => f.id === frameworkId);
    assert.ok(framework, "the framework survived the restart");
    assert.equal(framework.tasks[0]?.id, "long-1");
    assert.equal(framework.tasks[0]?.state, "TASK_RUNNING");

    // The agent re-registers, the framework re-subscribes with its id, and work goes on.
    await waitFor("the agent and framework to come back", async () => {
      const s = await cluster.state();
      return s.slaves[0]?.active && s.frameworks[0]?.connected;
    });
    assert.ok(fw.subscriptions >= 2);
    await fw.driver.kill("long-1");
    await fw.waitForState("long-1", "TASK_KILLED");
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    await cluster.stop();
  }
});

Deno.test("a silent agent's tasks become TASK_UNREACHABLE, and RUNNING again when it returns", async () => {
  const cluster = await Cluster.start(["--agent-timeout", "2"]);
  const fw = new RecordingFramework(cluster.masterUrl, {
    capabilities: [{ type: "PARTITION_AWARE" }],
  });
  try {
    const agent = await cluster.addAgent(AGENT_FLAGS);
    await fw.driver.start();
    const offer = await fw.takeOffer();
    await fw.driver.launch([offer.id.value], [
      taskInfo({
        name: "p",
        taskId: "p-1",
        agentId: offer.agent_id.value,
        cpus: 1,
        mem: 64,
        command: "sleep 120",
      }),
    ]);
    await fw.waitForState("p-1", "TASK_RUNNING");
    agent.signal("SIGSTOP"); // silent, connection still open
    const unreachable = await fw.waitForState("p-1", "TASK_UNREACHABLE", 10_000);
    assert.equal(unreachable.reason, "REASON_AGENT_DISCONNECTED");
    assert.equal((await cluster.state()).unreachable_slaves, 1);
    agent.signal("SIGCONT");
    await waitFor(
      "the task to be RUNNING again",
      () => fw.states("p-1").at(-1) === "TASK_RUNNING",
      15_000,
    );
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    await cluster.stop();
  }
});

Deno.test("bad scheduler calls answer 400 with a message naming the problem", async (t) => {
  const cluster = await Cluster.start();
  const fw = new RawScheduler(cluster.masterUrl);
  try {
    await cluster.addAgent(AGENT_FLAGS);
    await fw.subscribe();
    const offer = await waitFor("an offer", () => fw.offers()[0]);
    const agentId = offer.agent_id.value;
    const frameworkId = { value: fw.frameworkId };
    const accept = (accept: unknown) =>
      fw.call({ type: "ACCEPT", framework_id: frameworkId, accept });
    const task = (id: string, agent: string, cpus = 0.5) =>
      taskInfo({ name: id, taskId: id, agentId: agent, cpus, mem: 32, command: "true" });
    const launch = (tasks: unknown[]) => [{ type: "LAUNCH", launch: { task_infos: tasks } }];

    await t.step("unknown call type", async () => {
      const r = await fw.call({ type: "FROBNICATE", framework_id: frameworkId });
      assert.equal(r.status, 400);
      assert.match(r.text, /unknown call type "FROBNICATE"/);
    });
    await t.step("malformed JSON", async () => {
      const r = await fw.call("{not json");
      assert.equal(r.status, 400);
      assert.match(r.text, /Failed to parse body into JSON/);
    });
    await t.step("unknown offer", async () => {
      const r = await accept({
        offer_ids: [{ value: "no-such-offer" }],
        operations: launch([task("x", agentId)]),
      });
      assert.equal(r.status, 400);
      assert.match(r.text, /Offer "no-such-offer" is unknown/);
    });
    await t.step("offer used twice in one call", async () => {
      const r = await accept({
        offer_ids: [offer.id, offer.id],
        operations: launch([task("x", agentId)]),
      });
      assert.equal(r.status, 400);
      assert.match(r.text, /appears more than once/);
    });
    await t.step("resources beyond the offer", async () => {
      const r = await accept({
        offer_ids: [offer.id],
        operations: launch([task("x", agentId, 64)]),
      });
      assert.equal(r.status, 400);
      assert.match(r.text, /Task "x" needs cpus:64.* but offer/);
    });
    await t.step("launch on the wrong agent", async () => {
      const r = await accept({
        offer_ids: [offer.id],
        operations: launch([task("x", "some-other-agent")]),
      });
      assert.equal(r.status, 400);
      assert.match(r.text, /names agent "some-other-agent"/);
    });
    await t.step("none of it changed anything: the offer still launches, once", async () => {
      const r = await accept({ offer_ids: [offer.id], operations: launch([task("x", agentId)]) });
      assert.equal(r.status, 202);
      await waitFor(
        "x to run",
        () => fw.events.some((e) => e.type === "UPDATE" && e.update.status.task_id.value === "x"),
      );
      const again = await accept({
        offer_ids: [offer.id],
        operations: launch([task("y", agentId)]),
      });
      assert.equal(again.status, 400);
      assert.match(again.text, /no longer valid/);
    });
    await t.step("a call with the wrong stream id", async () => {
      const r = await fetch(`${cluster.masterUrl}/api/v1/scheduler`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Mesos-Stream-Id": "not-mine" },
        body: JSON.stringify({ type: "REVIVE", framework_id: frameworkId, revive: {} }),
      });
      assert.equal(r.status, 400);
      assert.match(await r.text(), /did not match/);
    });
  } finally {
    await fw.close();
    await cluster.stop();
  }
});

Deno.test("the master's catalog lists a running task at its agent's address and host port", async () => {
  const cluster = await Cluster.start();
  const fw = new RecordingFramework(cluster.masterUrl, { name: "shop" });
  try {
    await cluster.addAgent(AGENT_FLAGS);
    await fw.driver.start();
    const offer = await fw.takeOffer();
    const port = offer.resources.find((r) => r.name === "ports")!.ranges!.range[0]!.begin;
    await fw.driver.launch([offer.id.value], [taskInfo({
      name: "web",
      taskId: "web-1",
      agentId: offer.agent_id.value,
      cpus: 0.1,
      mem: 32,
      ports: [port],
      command: "sleep 60",
      discovery: { visibility: "CLUSTER", name: "web" },
    })]);
    await fw.waitForState("web-1", "TASK_RUNNING");
    const service = await waitFor("the catalog to list web", async () => {
      const r = await fetch(`${cluster.masterUrl}/api/v1/services`);
      const body = await r.json();
      return body.services.find((s: { id: string; endpoints: unknown[] }) =>
        s.id === "web.shop" && s.endpoints.length === 1
      );
    });
    assert.equal(service.endpoints[0].ip, "127.0.0.1");
    assert.equal(service.endpoints[0].port, port);
    await fw.driver.kill("web-1");
    await waitFor("web to leave the catalog", async () => {
      const body = await (await fetch(`${cluster.masterUrl}/api/v1/services`)).json();
      const web = body.services.find((s: { id: string }) => s.id === "web.shop");
      return web === undefined || web.endpoints.length === 0;
    });
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    await cluster.stop();
  }
});
