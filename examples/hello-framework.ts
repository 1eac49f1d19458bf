/**
 * A minimal custom framework: launches N shell tasks, packing several per offer, prints every
 * state change (`task hello-2 TASK_RUNNING`), and exits 0 once all finished (1 if any did not),
 * tearing the framework down.
 *
 *   deno run -A examples/hello-framework.ts --master http://127.0.0.1:5050 --tasks 3
 */
import { parseArgs } from "node:util";
import {
  isTerminalState,
  type Offer,
  OfferPicker,
  type Scheduler,
  SchedulerDriver,
  type TaskInfo,
  taskInfo,
  type TaskState,
} from "../mod.ts";

const USAGE = `Usage: deno run -A examples/hello-framework.ts [--master URL (http://127.0.0.1:5050)]
  [--tasks N (3)] [--cmd 'echo hi; sleep 5'] [--cpus 0.1] [--mem 32]`;

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    master: { type: "string", default: "http://127.0.0.1:5050" },
    tasks: { type: "string", default: "3" },
    cmd: { type: "string", default: "echo hi; sleep 5" },
    cpus: { type: "string", default: "0.1" },
    mem: { type: "string", default: "32" },
    help: { type: "boolean" },
  },
});
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const count = Number(args.tasks);
const demand = { cpus: Number(args.cpus), mem: Number(args.mem) };
if (!Number.isInteger(count) || count < 1 || !(demand.cpus > 0) || !(demand.mem > 0)) {
  console.error(USAGE);
  Deno.exit(2);
}

const taskIds = Array.from({ length: count }, (_, i) => `hello-${i + 1}`);
const toLaunch = [...taskIds];
const states = new Map<string, TaskState>();
let suppressed = false;
let finish: (code: number) => void = () => {};
const finished = new Promise<number>((resolve) => (finish = resolve));

/** Packs as many waiting tasks as fit into one offer. */
function packTasks(offer: Offer): TaskInfo[] {
  const picker = new OfferPicker(offer);
  const tasks: TaskInfo[] = [];
  while (toLaunch.length > 0) {
    const pick = picker.pick(demand);
    if (!pick.ok) break;
    const taskId = toLaunch.shift()!;
    tasks.push(taskInfo({
      name: taskId,
      taskId,
      agentId: offer.agent_id.value,
      ...demand,
      command: args.cmd,
      ...(offer.allocation_info ? { allocationRole: offer.allocation_info.role } : {}),
    }));
  }
  return tasks;
}

const scheduler: Scheduler = {
  subscribed(driver, info) {
    console.log(
      `subscribed as framework ${info.frameworkId}${info.resubscribed ? " (again)" : ""}`,
    );
    if (info.resubscribed) {
      return driver.reconcile(); // states may have moved while the stream was down
    }
  },

  async offers(driver, offers) {
    for (const offer of offers) {
      const tasks = packTasks(offer);
      if (tasks.length === 0) {
        await driver.decline([offer.id.value], { refuse_seconds: 60 });
        continue;
      }
      console.log(`launching ${tasks.map((t) => t.name).join(", ")} on ${offer.hostname}`);
      try {
        await driver.launch([offer.id.value], tasks, { refuse_seconds: 60 });
      } catch (e) {
        console.error(`launch failed: ${e instanceof Error ? e.message : e}`);
        toLaunch.unshift(...tasks.map((t) => t.task_id.value));
      }
    }
    if (toLaunch.length === 0 && !suppressed) {
      suppressed = true;
      await driver.suppress();
    }
  },

  async update(driver, status) {
    const taskId = status.task_id.value;
    if (taskIds.includes(taskId) && states.get(taskId) !== status.state) {
      states.set(taskId, status.state);
      console.log(`task ${taskId} ${status.state}${status.message ? ` (${status.message})` : ""}`);
    }
    // acknowledged by hand (autoAcknowledge is off) so that the last one goes out before teardown
    if (status.uuid) {
      await driver.acknowledge(status).catch((e) =>
        console.error(
          `ack of ${taskId} failed (the agent will resend it): ${
            e instanceof Error ? e.message : e
          }`,
        )
      );
    }
    const done = taskIds.filter((id) => {
      const state = states.get(id);
      return state !== undefined && isTerminalState(state);
    });
    if (done.length === taskIds.length) {
      finish(done.every((id) => states.get(id) === "TASK_FINISHED") ? 0 : 1);
    }
  },

  error(driver, message) {
    console.error(`error: ${message}`);
    if (!driver.running) finish(1);
  },

  disconnected(_driver, reason) {
    console.error(`disconnected: ${reason}; re-subscribing`);
  },
};

const driver = new SchedulerDriver(scheduler, {
  master: args.master,
  framework: {
    user: Deno.env.get("USER") ?? "root",
    name: "hello-framework",
    failover_timeout: 60,
  },
  autoAcknowledge: false,
});
Deno.addSignalListener("SIGINT", () => finish(130));
try {
  await driver.start();
} catch (e) {
  console.error(`cannot subscribe to ${args.master}: ${e instanceof Error ? e.message : e}`);
  Deno.exit(1);
}
const code = await finished;
await driver.stop({ teardown: true }).catch((e) => console.error(`teardown failed: ${e}`));
console.log(code === 0 ? `all ${count} tasks finished` : "some tasks did not finish");
Deno.exit(code);
