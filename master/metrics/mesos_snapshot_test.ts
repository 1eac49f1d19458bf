import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { Master } from "../core/master.ts";
import { mesosMetricsSnapshot } from "./mesos_snapshot.ts";

Deno.test("mesosMetricsSnapshot() counts agents, frameworks, live tasks and resources under Mesos' names", () => {
  const clock = new FakeClock();
  const master = new Master({ clock, ids: new SequentialIds() }, DEFAULT_MASTER_OPTIONS);
  const fw = master.subscribeFramework({
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "f" } },
  }, "fs1");
  const agent = master.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        hostname: "h1",
        port: 5051,
        resources: Resources.parse("cpus:4;mem:1024").toMesos(),
        attributes: [],
      },
      tasks: [],
    },
  }, "as1");
  master.allocatePending();
  const offer = master.drain().outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  )[0]!;
  master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: fw },
    accept: {
      offer_ids: [offer.id],
      operations: [{
        type: "LAUNCH",
        launch: {
          task_infos: [{
            name: "t",
            task_id: { value: "t" },
            agent_id: { value: agent },
            resources: Resources.parse("cpus:1;mem:256").toMesos(),
            command: { value: "sleep 9" },
          }],
        },
      }],
    },
  }, "fs1");
  clock.advance(5000);
  const m = mesosMetricsSnapshot(master.ctx);
  assert.equal(m["master/uptime_secs"], 5);
  assert.equal(m["master/elected"], 1);
  assert.equal(m["master/slaves_active"], 1);
  assert.equal(m["master/frameworks_active"], 1);
  assert.equal(m["master/tasks_staging"], 1);
  assert.equal(m["master/tasks_running"], 0);
  assert.equal(m["master/cpus_total"], 4);
  assert.equal(m["master/cpus_used"], 1);
  assert.equal(m["master/cpus_percent"], 0.25);
  assert.equal(m["master/mem_used"], 256);
  assert.equal(m["master/messages_launch_tasks"], 1);

  master.markAgentGone(agent);
  const after = mesosMetricsSnapshot(master.ctx);
  assert.equal(after["master/slaves_active"], 0);
  assert.equal(after["master/slave_removals"], 1);
  assert.equal(after["master/tasks_staging"], 0);
});
