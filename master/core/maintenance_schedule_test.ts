import assert from "node:assert/strict";
import type { AgentEvent, Event } from "../../protocol/mod.ts";
import { FakeClock, SequentialIds, TenderError } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS, type Outgoing } from "./context.ts";
import { Master } from "./master.ts";
import { maintenanceStatus } from "./maintenance_schedule.ts";
import { quotas, roleWeight } from "./roles.ts";

function harness() {
  const clock = new FakeClock();
  const master = new Master({ clock, ids: new SequentialIds() }, {
    ...DEFAULT_MASTER_OPTIONS,
    weights: { ops: 3 },
  });
  const sent: Outgoing[] = [];
  const flush = () => sent.push(...master.drain().outbox);
  const toFramework = (id: string): Event[] =>
    sent.flatMap((o) => o.to === "framework" && o.frameworkId === id ? [o.event] : []);
  const toAgent = (id: string): AgentEvent[] =>
    sent.flatMap((o) => o.to === "agent" && o.agentId === id ? [o.event] : []);
  const addAgent = (hostname: string, stream: string, claim?: string) => {
    const id = master.subscribeAgent(
      {
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: {
            ...(claim ? { id: { value: claim } } : {}),
            hostname,
            port: 5051,
            resources: Resources.parse("cpus:4;mem:4096").toMesos(),
            attributes: [],
          },
          tasks: [],
        },
      },
      stream,
      "10.0.0.1",
    );
    flush();
    return id;
  };
  const frameworkId = master.subscribeFramework({
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "t" } },
  }, "fs1");
  flush();
  return { clock, master, flush, toFramework, toAgent, addAgent, frameworkId };
}

function launch(h: ReturnType<typeof harness>, offerId: string, agentId: string) {
  const conn = h.master.ctx.frameworkConnections.get(h.frameworkId)!;
  h.master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: h.frameworkId },
    accept: {
      offer_ids: [{ value: offerId }],
      operations: [{
        type: "LAUNCH",
        launch: {
          task_infos: [{
            name: "t",
            task_id: { value: "t1" },
            agent_id: { value: agentId },
            resources: Resources.parse("cpus:1;mem:64").toMesos(),
            command: { value: "sleep 100", shell: true },
          }],
        },
      }],
    },
  }, conn.streamId);
  h.flush();
}

const WINDOW = {
  machine_ids: [{ hostname: "H1" }],
  unavailability: { start: { nanoseconds: 5e15 }, duration: { nanoseconds: 1e12 } },
};

Deno.test("Master sends inverse offers for a scheduled machine and records the answers", () => {
  const h = harness();
  const a1 = h.addAgent("h1", "as1");
  h.addAgent("h2", "as2");
  h.master.allocatePending();
  h.flush();
  const offered = h.toFramework(h.frameworkId).flatMap((e) =>
    e.type === "OFFERS" ? e.offers.offers : []
  );
  assert.equal(offered.length, 2);
  assert.ok(offered.every((o) => o.unavailability === undefined));
  launch(h, offered.find((o) => o.agent_id.value === a1)!.id.value, a1);

  h.master.updateMaintenanceSchedule({ windows: [WINDOW] });
  h.flush();
  const events = h.toFramework(h.frameworkId);
  // h1 is asked back from the framework running a task there.
  const inverse = events.flatMap((e) =>
    e.type === "INVERSE_OFFERS" ? e.inverse_offers.inverse_offers : []
  );
  assert.equal(inverse.length, 1);
  assert.equal(inverse[0]!.agent_id?.value, a1);
  assert.deepEqual(inverse[0]!.unavailability, WINDOW.unavailability);
  assert.equal(
    maintenanceStatus(h.master.ctx).draining_machines[0]!.statuses[0]!.status,
    "UNKNOWN",
  );

  h.clock.advance(6_000); // past the filter the launch's unused rest left
  h.master.tick({ batch: true });
  h.flush();
  const reoffered = h.toFramework(h.frameworkId).flatMap((e) =>
    e.type === "OFFERS" ? e.offers.offers : []
  ).filter((o) => o.agent_id.value === a1);
  assert.deepEqual(reoffered.at(-1)!.unavailability, WINDOW.unavailability);

  const conn = h.master.ctx.frameworkConnections.get(h.frameworkId)!;
  h.master.schedulerCall({
    type: "DECLINE_INVERSE_OFFERS",
    framework_id: { value: h.frameworkId },
    decline_inverse_offers: { inverse_offer_ids: [inverse[0]!.id] },
  }, conn.streamId);
  const status = maintenanceStatus(h.master.ctx);
  assert.deepEqual(status.draining_machines[0]!.id, { hostname: "H1" });
  assert.equal(status.draining_machines[0]!.statuses[0]!.status, "DECLINE");
  assert.equal(status.draining_machines[0]!.statuses[0]!.framework_id.value, h.frameworkId);
  // Declined: not asked again until the decline's filter (default 5 s) ends.
  let before = h.toFramework(h.frameworkId).length;
  h.master.tick({ batch: false });
  h.flush();
  assert.ok(
    !h.toFramework(h.frameworkId).slice(before).some((e) => e.type === "INVERSE_OFFERS"),
  );
  h.clock.advance(5_000);
  h.master.tick({ batch: false });
  h.flush();
  const again = h.toFramework(h.frameworkId).slice(before).flatMap((e) =>
    e.type === "INVERSE_OFFERS" ? e.inverse_offers.inverse_offers : []
  );
  assert.equal(again.length, 1, "asked again");
  h.master.schedulerCall({
    type: "ACCEPT_INVERSE_OFFERS",
    framework_id: { value: h.frameworkId },
    accept_inverse_offers: { inverse_offer_ids: [again[0]!.id] },
  }, conn.streamId);
  assert.equal(maintenanceStatus(h.master.ctx).draining_machines[0]!.statuses[0]!.status, "ACCEPT");
  // Accepted: not asked again for this window (a decline would be, past its 5 s filter).
  before = h.toFramework(h.frameworkId).length;
  h.clock.advance(3_000); // 14 s in: the agents are still in touch (15 s timeout)
  h.master.tick({ batch: false });
  h.flush();
  assert.ok(
    !h.toFramework(h.frameworkId).slice(before).some((e) => e.type === "INVERSE_OFFERS"),
  );
  // Moved to another time: asked again.
  const moved = { ...WINDOW, unavailability: { start: { nanoseconds: 6e15 } } };
  h.master.updateMaintenanceSchedule({ windows: [moved] });
  h.flush();
  const asked = h.toFramework(h.frameworkId).slice(before).flatMap((e) =>
    e.type === "INVERSE_OFFERS" ? e.inverse_offers.inverse_offers : []
  );
  assert.equal(asked.length, 1);
  assert.deepEqual(asked[0]!.unavailability, moved.unavailability);
  // Out of the schedule: the outstanding inverse offer is rescinded.
  h.master.updateMaintenanceSchedule({ windows: [] });
  h.flush();
  assert.ok(
    h.toFramework(h.frameworkId).some((e) =>
      e.type === "RESCIND_INVERSE_OFFER" &&
      e.rescind_inverse_offer.inverse_offer_id.value === asked[0]!.id.value
    ),
  );
  assert.deepEqual(maintenanceStatus(h.master.ctx).draining_machines, []);
});

Deno.test("Master.startMaintenance() kills the machine's tasks, blocks its agents; stopMaintenance() lets them back", () => {
  const h = harness();
  const a1 = h.addAgent("h1", "as1");
  h.master.updateMaintenanceSchedule({ windows: [WINDOW] });
  h.master.allocatePending();
  h.flush();
  const offer = h.toFramework(h.frameworkId).flatMap((e) =>
    e.type === "OFFERS" ? e.offers.offers : []
  )[0]!;
  launch(h, offer.id.value, a1);
  h.flush();

  assert.throws(() => h.master.startMaintenance([{ hostname: "other" }]), /not in the schedule/);
  h.master.startMaintenance([{ hostname: "h1" }]);
  h.flush();
  assert.ok(h.toAgent(a1).some((e) => e.type === "KILL"), "the task is killed");
  assert.equal(h.master.ctx.agents.get(a1)!.deactivated, true);
  assert.deepEqual(maintenanceStatus(h.master.ctx).down_machines, [{ hostname: "h1" }]);
  assert.throws(
    () => h.master.updateMaintenanceSchedule({ windows: [] }),
    /DOWN: it cannot leave the schedule/,
  );
  const huge = Array.from({ length: 3000 }, (_, i) => ({ hostname: `node-${i}.example.com` }));
  assert.throws(
    () =>
      h.master.updateMaintenanceSchedule({
        windows: [WINDOW, { ...WINDOW, machine_ids: huge }],
      }),
    (e) => e instanceof TenderError && e.code === "payload_too_large",
  );
  assert.equal(h.master.ctx.maintenance.record.schedule.windows.length, 1, "nothing changed");
  assert.throws(() => h.master.reactivateAgent(a1), /DOWN for maintenance/);
  // The agent reconnecting is refused.
  h.master.agentDisconnected(a1, "as1");
  assert.throws(
    () => h.addAgent("h1", "as3", a1),
    (e) => e instanceof TenderError && e.code === "forbidden" && /DOWN/.test(e.message),
  );

  h.master.stopMaintenance([{ hostname: "h1" }]);
  h.flush();
  assert.deepEqual(h.master.ctx.maintenance.record, { schedule: { windows: [] }, down: [] });
  assert.equal(h.addAgent("h1", "as4", a1), a1);
  assert.equal(h.master.ctx.agents.get(a1)!.deactivated, false);
});

Deno.test("updateQuota() and updateWeights() check every entry before changing anything", () => {
  const h = harness();
  h.addAgent("h1", "as1");
  assert.equal(roleWeight(h.master.ctx, "ops"), 3, "--weights");
  assert.equal(roleWeight(h.master.ctx, "web"), 1);
  assert.throws(
    () => h.master.updateWeights([{ role: "web", weight: 2 }, { role: "bad role", weight: 1 }]),
    /weight_infos\[1\]\.role/,
  );
  assert.equal(roleWeight(h.master.ctx, "web"), 1, "nothing changed");
  h.master.updateWeights([{ role: "ops", weight: 0.5 }]);
  assert.equal(roleWeight(h.master.ctx, "ops"), 0.5, "UPDATE_WEIGHTS wins over --weights");

  const web = { role: "web", guarantees: { cpus: 1 }, limits: { cpus: 2 } };
  for (
    const [bad, field] of [
      [{ role: "*", guarantees: {}, limits: { cpus: 1 } }, /default role/],
      [{ role: "db", guarantees: { gpus: 1 }, limits: { cpus: 0 } }, /gpus/],
      [{ role: "db", guarantees: { foo: 1 }, limits: {} }, /guarantees\.foo/],
      [{ role: "db", guarantees: { cpus: 3 }, limits: { cpus: 2 } }, /exceeds its limit/],
      [{ role: "db", guarantees: { mem: 1e9 }, limits: {} }, /capacity.*force/],
    ] as const
  ) {
    assert.throws(() => h.master.updateQuota({ force: false, configs: [web, bad] }), field);
    assert.deepEqual(quotas(h.master.ctx), [], "nothing changed");
  }
  h.master.updateQuota({
    force: true,
    configs: [web, { role: "db", guarantees: { mem: 1e9 }, limits: {} }],
  });
  assert.deepEqual(quotas(h.master.ctx).map((q) => q.role), ["db", "web"]);
  h.master.updateQuota({ force: false, configs: [{ role: "db", guarantees: {}, limits: {} }] });
  assert.deepEqual(quotas(h.master.ctx).map((q) => q.role), ["web"]);
});
