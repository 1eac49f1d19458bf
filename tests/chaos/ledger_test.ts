import assert from "node:assert/strict";
import { Ledger } from "./ledger.ts";

Deno.test("Ledger keeps acknowledged changes in order and forgets unsureness on the next ack", () => {
  const ledger = new Ledger();
  ledger.acked("/a", {
    version: "v1",
    instances: 2,
    gen: 1,
    at: 10,
    op: "create",
    deploymentId: "d1",
  });
  ledger.unsure("/a");
  assert.equal(ledger.app("/a")!.unsure, true);
  ledger.acked("/a", {
    version: "v2",
    instances: 3,
    gen: 1,
    at: 20,
    op: "scale",
    deploymentId: "d2",
  });
  assert.equal(ledger.app("/a")!.unsure, false);
  assert.deepEqual(ledger.app("/a")!.changes.map((c) => c.version), ["v1", "v2"]);
  assert.deepEqual([...ledger.deploymentsSince(15)], ["d2"]);
  assert.equal(ledger.deploymentCount, 2);
  ledger.acked("/a", { version: "v3", instances: 3, gen: 1, at: 30, op: "delete" });
  assert.equal(ledger.app("/a")!.deleted, true);
});

Deno.test("Ledger.recentInstances() includes what the change before the recent ones left", () => {
  const ledger = new Ledger();
  ledger.acked("/a", { version: "v1", instances: 4, gen: 1, at: 10, op: "create" });
  ledger.acked("/a", { version: "v2", instances: 1, gen: 1, at: 20, op: "scale" });
  ledger.acked("/b", { version: "v1", instances: 2, gen: 1, at: 10, op: "create" });
  assert.deepEqual(ledger.recentInstances(15), new Map([["/a", 4]]));
  assert.deepEqual(ledger.recentInstances(25), new Map());
});
