import assert from "node:assert/strict";
import { FakeClock } from "../../base/mod.ts";
import type { CatalogTask } from "./catalog.ts";
import { CatalogStore } from "./catalog_store.ts";
import { CatalogUpdater } from "./catalog_updater.ts";

const running = (id: string): CatalogTask => ({
  frameworkName: "marathon",
  taskId: id,
  taskName: "web",
  state: "TASK_RUNNING",
  hasHealthCheck: false,
  agentHostname: "h",
  agentIp: "10.0.0.1",
  hostPorts: [31000],
  labels: {},
});

Deno.test("CatalogUpdater.changed() coalesces a burst into one update after the delay", async () => {
  const clock = new FakeClock();
  const store = new CatalogStore();
  let tasks: CatalogTask[] = [];
  let reads = 0;
  const updater = new CatalogUpdater(store, () => {
    reads += 1;
    return tasks;
  }, { clock, delayMs: 50 });
  tasks = [running("t1")];
  updater.changed();
  tasks = [running("t1"), running("t2")];
  updater.changed();
  clock.advance(49);
  await Promise.resolve();
  assert.equal(reads, 0);
  clock.advance(1);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(reads, 1);
  assert.equal(store.current().catalog.services[0]?.endpoints.length, 2);
  tasks = [];
  updater.changed();
  updater.flush();
  assert.equal(reads, 2);
  assert.equal(store.current().catalog.services.length, 0);
  clock.advance(100); // the cancelled timer does not update again
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(reads, 2);
  updater.close();
});

Deno.test("CatalogUpdater waits ten times as long as the last derivation took, when that is longer", () => {
  const clock = new FakeClock();
  const store = new CatalogStore();
  const updater = new CatalogUpdater(store, () => {
    clock.advance(30); // a derivation over a large cluster takes 30 ms
    return [running("t1")];
  }, { clock, delayMs: 50 });
  assert.equal(updater.delayMs(), 50);
  updater.flush();
  assert.equal(updater.delayMs(), 300);
  updater.close();
});
