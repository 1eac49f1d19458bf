import assert from "node:assert/strict";
import type { Event } from "../../protocol/mod.ts";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS, type Outgoing } from "./context.ts";
import { RETRY_FORWARD_MS } from "./agents.ts";
import { Master } from "./master.ts";

/** A master with one framework (on stream `stream`) running task "t" on one agent. */
function world() {
  const clock = new FakeClock();
  const master = new Master({ clock, ids: new SequentialIds() }, DEFAULT_MASTER_OPTIONS);
  const sent: Outgoing[] = [];
  const flush = () => sent.push(...master.drain().outbox);
  const subscribe = (stream: string) => {
    master.subscribeFramework({
      type: "SUBSCRIBE",
      subscribe: {
        framework_info: {
          user: "u",
          name: "f",
          failover_timeout: 3600,
          ...(fw ? { id: { value: fw } } : {}),
        },
        ...(fw ? { framework_id: { value: fw } } : {}),
      },
    }, stream);
    flush();
  };
  let fw = "";
  subscribe("fs1");
  fw = master.ctx.frameworks.keys().next().value!;
  const agent = master.subscribeAgent({
    type: "SUBSCRIBE",
    subscribe: {
      agent_info: {
        hostname: "h1",
        port: 5051,
        resources: Resources.parse("cpus:4;mem:4096").toMesos(),
        attributes: [],
      },
      tasks: [],
    },
  }, "as1");
  master.allocatePending();
  flush();
  const offer = sent.flatMap((o) =>
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
            resources: Resources.parse("cpus:1;mem:128").toMesos(),
            command: { value: "serve" },
          }],
        },
      }],
    },
  }, "fs1");
  flush();
  const update = (uuid: string) => {
    master.agentCall({
      type: "UPDATE",
      agent_id: { value: agent },
      update: {
        framework_id: { value: fw },
        status: { task_id: { value: "t" }, state: "TASK_RUNNING", uuid },
      },
    });
    flush();
  };
  const updates = () =>
    sent.filter((o): o is Extract<Outgoing, { to: "framework" }> => o.to === "framework")
      .map((o) => o.event)
      .filter((e: Event) => e.type === "UPDATE").length;
  const acknowledge = (uuid: string) => {
    master.schedulerCall({
      type: "ACKNOWLEDGE",
      framework_id: { value: fw },
      acknowledge: { agent_id: { value: agent }, task_id: { value: "t" }, uuid },
    }, "fs1");
    flush();
  };
  return { clock, update, updates, acknowledge, subscribe, master };
}

Deno.test("Master does not forward an agent's retry on the stream that already carried it", () => {
  const w = world();
  w.update("u1");
  assert.equal(w.updates(), 1);
  w.clock.advance(10_000);
  w.update("u1");
  w.update("u1");
  assert.equal(w.updates(), 1, "the framework is not sent the same update again");
  w.clock.advance(RETRY_FORWARD_MS);
  w.update("u1");
  assert.equal(w.updates(), 2, "a lost acknowledgement: forwarded again after a while");
  w.acknowledge("u1");
  assert.equal(w.master.ctx.forwarded.size, 0, "forgotten once acknowledged");
});

Deno.test("Master forwards a retry on a new stream of the framework", () => {
  const w = world();
  w.update("u1");
  w.subscribe("fs2");
  const afterResubscribe = w.updates();
  assert.equal(afterResubscribe, 2, "the pending update is sent to the new stream at once");
  w.update("u1");
  assert.equal(w.updates(), 3, "the agent's retry goes to the new stream too");
  w.update("u1");
  assert.equal(w.updates(), 3);
});

Deno.test("Master forgets forwarded updates never acknowledged once they hold nothing back", () => {
  const w = world();
  w.update("u1");
  w.update("u2");
  assert.equal(w.master.ctx.forwarded.size, 2);
  w.clock.advance(RETRY_FORWARD_MS);
  w.update("u3");
  assert.deepEqual([...w.master.ctx.forwarded.keys()], ["u3"], "u1 and u2 dropped, u3 kept");
});
