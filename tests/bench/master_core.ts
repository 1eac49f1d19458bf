/**
 * Scale benchmark of the master core, in-process: 1,000 simulated agents, one framework that
 * places 10,000 tasks from offers, then every task's RUNNING update and acknowledgement.
 * Prints `metric value unit` lines. Target: at least 5,000 tasks placed per second.
 *
 *   deno run -A --unstable-kv tests/bench/master_core.ts [--agents 1000] [--tasks 10000]
 */
import { parseArgs } from "node:util";
import { DEFAULT_MASTER_OPTIONS, Master } from "../../master/mod.ts";
import type { Offer, TaskInfo } from "../../protocol/mod.ts";
import { randomIds, systemClock } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    agents: { type: "string", default: "1000" },
    tasks: { type: "string", default: "10000" },
  },
}).values;
const AGENTS = Number(args.agents);
const TASKS = Number(args.tasks);
const TASK = Resources.parse("cpus:0.1;mem:32");

const master = new Master({ clock: systemClock, ids: randomIds }, DEFAULT_MASTER_OPTIONS);
const heapBefore = Deno.memoryUsage().heapUsed;

for (let i = 0; i < AGENTS; i++) {
  master.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        hostname: `sim-${i}`,
        port: 5051,
        resources: Resources.parse("cpus:8;mem:16384;disk:100000;ports:[31000-32000]").toMesos(),
        attributes: [{ name: "rack", type: "TEXT", text: { value: `r${i % 20}` } }],
      },
      tasks: [],
    },
  }, `agent-stream-${i}`);
}
master.drain();
const frameworkId = master.subscribeFramework({
  type: "SUBSCRIBE",
  subscribe: { framework_info: { user: "bench", name: "bench" } },
}, "fw-stream");
master.drain();

const start = performance.now();
let placed = 0;
let rounds = 0;
const launched: { agentId: string; taskId: string }[] = [];
while (placed < TASKS && rounds < 1000) {
  rounds += 1;
  master.tick({ batch: true });
  const offers: Offer[] = master.drain().outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  );
  if (offers.length === 0) break;
  for (const offer of offers) {
    let left = Resources.fromMesos(offer.resources);
    const tasks: TaskInfo[] = [];
    while (placed + tasks.length < TASKS && left.contains(TASK)) {
      left = left.subtract(TASK);
      const id = `t-${placed + tasks.length}`;
      tasks.push({
        name: id,
        task_id: { value: id },
        agent_id: offer.agent_id,
        resources: TASK.toMesos(),
        command: { value: "sleep 1000" },
      });
      if (tasks.length >= 10) break; // spread: at most 10 tasks per agent per offer
    }
    if (tasks.length === 0) {
      master.schedulerCall({
        type: "DECLINE",
        framework_id: { value: frameworkId },
        decline: { offer_ids: [offer.id] },
      }, "fw-stream");
      continue;
    }
    master.schedulerCall({
      type: "ACCEPT",
      framework_id: { value: frameworkId },
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: "LAUNCH", launch: { task_infos: tasks } }],
      },
    }, "fw-stream");
    placed += tasks.length;
    for (const t of tasks) {
      launched.push({ agentId: offer.agent_id.value, taskId: t.task_id.value });
    }
  }
  master.drain();
}
const placedMs = performance.now() - start;

const updatesStart = performance.now();
let n = 0;
for (const { agentId, taskId } of launched) {
  const uuid = `u-${n++}`;
  master.agentCall({
    type: "UPDATE",
    agent_id: { value: agentId },
    update: {
      framework_id: { value: frameworkId },
      status: { task_id: { value: taskId }, state: "TASK_RUNNING", uuid },
    },
  });
  master.schedulerCall({
    type: "ACKNOWLEDGE",
    framework_id: { value: frameworkId },
    acknowledge: { agent_id: { value: agentId }, task_id: { value: taskId }, uuid },
  }, "fw-stream");
  if (n % 500 === 0) master.drain();
}
master.drain();
const updatesMs = performance.now() - updatesStart;

const running = [...master.ctx.tasks.values()].filter((t) => t.state === "TASK_RUNNING").length;
console.log(`agents ${AGENTS} count`);
console.log(`tasks_placed ${placed} count`);
console.log(`tasks_running ${running} count`);
console.log(`allocation_rounds ${rounds} count`);
console.log(`placement_time ${placedMs.toFixed(1)} ms`);
console.log(`tasks_placed_per_second ${Math.round(placed / (placedMs / 1000))} tasks/s`);
console.log(
  `status_updates_per_second ${Math.round((2 * launched.length) / (updatesMs / 1000))} msgs/s`,
);
console.log(`master_heap ${((Deno.memoryUsage().heapUsed - heapBefore) / 1048576).toFixed(1)} MiB`);
console.log(`process_heap ${(Deno.memoryUsage().heapUsed / 1048576).toFixed(1)} MiB`);
