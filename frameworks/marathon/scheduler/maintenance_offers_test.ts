import assert from "node:assert/strict";
import type { Offer } from "../../../protocol/mod.ts";
import { offer, withScheduler } from "./testing.ts";

function leaving(host: string): Offer {
  return { ...offer(host), unavailability: { start: { nanoseconds: 1e15 } } };
}

Deno.test("MarathonScheduler places no instance on an agent scheduled for maintenance while others offer", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.createApp({ id: "web", cmd: "serve", instances: 1, cpus: 0.5, mem: 64 });
    const away = leaving("n1");
    await scheduler.offers(driver, [away, offer("n2")]);
    assert.deepEqual((await store.listInstances("/web")).map((i) => i.hostname), ["n2"]);
    const declined = driver.declined.find((d) => d.offerIds.includes(away.id.value));
    assert.equal(declined?.filters?.refuse_seconds, 5);
  });
});

Deno.test("MarathonScheduler uses an agent scheduled for maintenance when nothing else is offered", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.createApp({ id: "web", cmd: "serve", instances: 1, cpus: 0.5, mem: 64 });
    await scheduler.offers(driver, [leaving("n1")]);
    assert.equal(driver.launched.length, 1);
    assert.deepEqual((await store.listInstances("/web")).map((i) => i.hostname), ["n1"]);
  });
});
