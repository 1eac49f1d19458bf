import assert from "node:assert/strict";
import type { Event, InverseOffer } from "../protocol/mod.ts";
import { SchedulerDriver } from "./driver.ts";
import type { Scheduler } from "./scheduler.ts";
import { FakeSchedulerMaster } from "./testing/fake_scheduler_master.ts";

const INVERSE: Event = {
  type: "INVERSE_OFFERS",
  inverse_offers: {
    inverse_offers: [{
      id: { value: "io-1" },
      framework_id: { value: "fake-master-0001" },
      agent_id: { value: "a-1" },
      unavailability: { start: { nanoseconds: 1e15 } },
      resources: [],
    }],
  },
};

async function withDriver(
  scheduler: Scheduler,
  body: (driver: SchedulerDriver, master: FakeSchedulerMaster) => Promise<void>,
): Promise<void> {
  const master = FakeSchedulerMaster.start();
  const driver = new SchedulerDriver(scheduler, {
    master: master.url,
    framework: { user: "tester", name: "inverse-test" },
    backoff: { initialMs: 10, maxMs: 50 },
  });
  try {
    await driver.start();
    await body(driver, master);
  } finally {
    await driver.stop();
    await master.close();
  }
}

Deno.test("SchedulerDriver accepts inverse offers when the scheduler has no inverseOffers()", async () => {
  await withDriver({}, async (_driver, master) => {
    master.send(INVERSE);
    const call = await master.waitFor(() => master.callsOf("ACCEPT_INVERSE_OFFERS")[0], {
      what: "ACCEPT_INVERSE_OFFERS",
    });
    assert.deepEqual(call.call, {
      type: "ACCEPT_INVERSE_OFFERS",
      framework_id: { value: "fake-master-0001" },
      accept_inverse_offers: { inverse_offer_ids: [{ value: "io-1" }] },
    });
  });
});

Deno.test("SchedulerDriver hands inverse offers to inverseOffers(), which may decline them", async () => {
  const seen: InverseOffer[] = [];
  const rescinded: string[] = [];
  const scheduler: Scheduler = {
    async inverseOffers(driver, inverse) {
      seen.push(...inverse);
      await driver.declineInverseOffers(inverse.map((o) => o.id.value), { refuse_seconds: 60 });
    },
    rescindInverseOffer: (_d, id) => void rescinded.push(id),
  };
  await withDriver(scheduler, async (_driver, master) => {
    master.send(INVERSE);
    master.send({
      type: "RESCIND_INVERSE_OFFER",
      rescind_inverse_offer: { inverse_offer_id: { value: "io-1" } },
    });
    const call = await master.waitFor(() => master.callsOf("DECLINE_INVERSE_OFFERS")[0], {
      what: "DECLINE_INVERSE_OFFERS",
    });
    assert.deepEqual(call.call, {
      type: "DECLINE_INVERSE_OFFERS",
      framework_id: { value: "fake-master-0001" },
      decline_inverse_offers: {
        inverse_offer_ids: [{ value: "io-1" }],
        filters: { refuse_seconds: 60 },
      },
    });
    assert.deepEqual(seen.map((o) => o.unavailability.start.nanoseconds), [1e15]);
    await master.waitFor(() => rescinded.length === 1, { what: "rescindInverseOffer()" });
    assert.equal(master.callsOf("ACCEPT_INVERSE_OFFERS").length, 0);
  });
});
