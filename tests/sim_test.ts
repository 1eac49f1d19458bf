/**
 * `deno task sim` against a real master process: 50 simulated agents register, a bare Mesos
 * scheduler launches tasks on them over HTTP (acknowledging every update), the tasks run and
 * finish when told; a killed simulation leaves its agents disconnected, and a restarted one
 * brings the same agents back.
 */
import assert from "node:assert/strict";
import { taskInfo } from "../mod.ts";
import type { Offer } from "../protocol/mod.ts";
import { Cluster, TenderProcess, waitFor } from "./support/cluster.ts";
import { RawScheduler } from "./support/raw_scheduler.ts";

const AGENTS = 50;

interface Slave {
  id: string;
  hostname: string;
  active: boolean;
  attributes: Record<string, unknown>;
}
interface Task {
  id: string;
  state: string;
  slave_id: string;
}

Deno.test("deno task sim: 50 agents run a scheduler's tasks, and come back as the same agents after a restart", async () => {
  const cluster = await Cluster.start();
  const sim = new TenderProcess("sim", "agent/sim/main.ts", [
    "--master",
    cluster.masterUrl,
    "--agents",
    String(AGENTS),
    "--resources",
    "cpus:2;mem:1024;ports:[31000-31010]",
    "--attributes",
    "rack:r1",
    "--work-dir",
    `${cluster.root}/sim`,
  ]);
  const fw = new RawScheduler(cluster.masterUrl);
  let acker: ReturnType<typeof setInterval> | undefined;
  const slaves = async (): Promise<Slave[]> => (await cluster.state()).slaves;
  const tasks = async (): Promise<Task[]> =>
    (await cluster.state()).frameworks.flatMap((f: { tasks: Task[] }) => f.tasks);
  try {
    sim.start();
    const first = await waitFor("50 simulated agents to register", async () => {
      const s = await slaves();
      return s.length === AGENTS && s.every((a) => a.active) && s;
    }, 60_000);
    assert.deepEqual(
      first.map((a) => a.hostname).sort(),
      Array.from({ length: AGENTS }, (_, i) => `sim-${String(i + 1).padStart(5, "0")}`),
    );
    assert.equal(first[0]!.attributes.rack, "r1");

    await fw.subscribe({ name: "sim-test" });
    let seen = 0;
    acker = setInterval(() => {
      for (const e of fw.events.slice(seen)) {
        if (e.type !== "UPDATE" || !e.update.status.uuid) continue;
        const { task_id, agent_id, uuid } = e.update.status;
        void fw.call({
          type: "ACKNOWLEDGE",
          framework_id: { value: fw.frameworkId },
          acknowledge: { agent_id, task_id, uuid },
        }).catch(() => {});
      }
      seen = fw.events.length;
    }, 50);
    // One offer per agent; each gets a task that runs and one that finishes after a second.
    const offers = await waitFor("an offer from every agent", () => {
      const byAgent = new Map<string, Offer>();
      for (const o of fw.offers()) byAgent.set(o.agent_id.value, o);
      return byAgent.size === AGENTS && [...byAgent.values()];
    }, 30_000);
    for (const [i, offer] of offers.entries()) {
      const agentId = offer.agent_id.value;
      const task = (id: string, command: string) =>
        taskInfo({ name: id, taskId: id, agentId, cpus: 0.5, mem: 32, command });
      const r = await fw.call({
        type: "ACCEPT",
        framework_id: { value: fw.frameworkId },
        accept: {
          offer_ids: [offer.id],
          operations: [{
            type: "LAUNCH",
            launch: {
              task_infos: [
                task(`run-${i}`, "serve forever"),
                task(`done-${i}`, "sim:finish-after=1s"),
              ],
            },
          }],
        },
      });
      assert.equal(r.status, 202, r.text);
    }
    await waitFor("every task to run or finish as told", async () => {
      const all = await tasks();
      const running = all.filter((t) => t.state === "TASK_RUNNING" && t.id.startsWith("run-"));
      const finished = fw.events.filter((e) =>
        e.type === "UPDATE" && e.update.status.state === "TASK_FINISHED"
      );
      return running.length === AGENTS && finished.length >= AGENTS;
    }, 60_000);
    const updates = fw.events.filter((e) => e.type === "UPDATE");
    const uuids = updates.map((e) => e.type === "UPDATE" ? e.update.status.uuid : undefined);
    assert.equal(new Set(uuids).size, uuids.length, "no duplicate status update");

    await sim.kill("SIGKILL");
    await waitFor("the killed simulation's agents to be disconnected", async () => {
      const s = await slaves();
      return s.length === AGENTS && s.every((a) => !a.active);
    }, 30_000);

    sim.start();
    const again = await waitFor("the same agents to come back", async () => {
      const s = await slaves();
      return s.length === AGENTS && s.every((a) => a.active) && s;
    }, 60_000);
    assert.deepEqual(
      again.map((a) => a.id).sort(),
      first.map((a) => a.id).sort(),
      "the restarted simulation registers the same agent ids",
    );
    // The restarted agents run nothing: the master does not keep their tasks as running.
    await waitFor("the lost tasks to leave TASK_RUNNING", async () => {
      return (await tasks()).every((t) => t.state !== "TASK_RUNNING");
    }, 30_000);
  } finally {
    if (acker !== undefined) clearInterval(acker);
    await fw.close();
    await sim.kill("SIGKILL");
    await cluster.stop();
  }
});
