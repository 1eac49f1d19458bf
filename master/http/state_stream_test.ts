import assert from "node:assert/strict";
import { FakeClock, jsonPieces, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { Master } from "../core/master.ts";
import { masterState, masterStateStreamed, type Visibility } from "./state_json.ts";

/** A master core with one framework running `n` tasks on one agent. */
function masterWith(n: number) {
  const master = new Master({ clock: new FakeClock(), ids: new SequentialIds() }, {
    ...DEFAULT_MASTER_OPTIONS,
  });
  const frameworkId = master.subscribeFramework({
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "many" } },
  }, "fs1");
  const agentId = master.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        hostname: "h1",
        port: 5051,
        resources: Resources.parse("cpus:1000;mem:100000").toMesos(),
        attributes: [],
      },
      tasks: [],
    },
  }, "as1");
  master.allocatePending();
  const [offer] = master.drain().outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  );
  master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: frameworkId },
    accept: {
      offer_ids: [offer!.id],
      operations: [{
        type: "LAUNCH",
        launch: {
          task_infos: Array.from({ length: n }, (_, i) => ({
            name: `t${i}`,
            task_id: { value: `t${i}` },
            agent_id: { value: agentId },
            resources: Resources.parse("cpus:0.01;mem:1").toMesos(),
            command: { value: "sleep 10" },
          })),
        },
      }],
    },
  }, "fs1");
  master.drain();
  return { master, frameworkId, agentId };
}

async function streamed(value: unknown): Promise<string> {
  let text = "";
  for await (const piece of jsonPieces(value)) text += piece;
  return text;
}

Deno.test("masterStateStreamed() writes the same bytes as masterState(), filtered alike", async () => {
  const { master } = masterWith(2_000);
  const all = JSON.stringify(masterState(master.ctx));
  assert.equal(JSON.parse(all).frameworks[0].tasks.length, 2_000);
  assert.equal(await streamed(masterStateStreamed(master.ctx)), all);
  const odd: Visibility = { framework: () => true, task: (t) => t.info.name.length % 2 === 1 };
  assert.equal(
    await streamed(masterStateStreamed(master.ctx, odd)),
    JSON.stringify(masterState(master.ctx, odd)),
  );
});

Deno.test("masterStateStreamed() shows the tasks as they were when it was taken", async () => {
  const { master, frameworkId, agentId } = masterWith(500);
  const before = JSON.stringify(masterState(master.ctx));
  const taken = masterStateStreamed(master.ctx);
  master.agentCall({
    type: "UPDATE",
    agent_id: { value: agentId },
    update: {
      status: {
        task_id: { value: "t0" },
        agent_id: { value: agentId },
        state: "TASK_RUNNING",
        source: "SOURCE_EXECUTOR",
        uuid: btoa("0123456789abcdef"),
        timestamp: 1,
      },
      framework_id: { value: frameworkId },
    },
  });
  master.drain();
  assert.notEqual(JSON.stringify(masterState(master.ctx)), before, "the task changed");
  assert.equal(await streamed(taken), before);
});
