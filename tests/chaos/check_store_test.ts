import assert from "node:assert/strict";
import { checkDeploymentsDone, checkNothingLost, type FinalStore } from "./check_store.ts";
import { app, task } from "./fixtures.ts";
import { Ledger } from "./ledger.ts";
import type { MarathonApp } from "./views.ts";

const ROOT = { id: "/", groups: [{ id: "/chaos", groups: [{ id: "/chaos/web", groups: [] }] }] };

function store(apps: MarathonApp[], versions: Record<string, string[]> = {}): FinalStore {
  return { apps, versions: new Map(Object.entries(versions)), root: ROOT, deployments: [] };
}

function ledgerOf(): Ledger {
  const ledger = new Ledger();
  ledger.group("/chaos");
  ledger.group("/chaos/web");
  ledger.acked("/chaos/web/a", {
    version: "2024-01-01T00:00:01Z",
    instances: 2,
    gen: 1,
    at: 1,
    op: "create",
  });
  ledger.acked("/chaos/web/a", {
    version: "2024-01-01T00:00:02Z",
    instances: 3,
    gen: 1,
    at: 2,
    op: "scale",
    deploymentId: "d2",
  });
  return ledger;
}

const current = (overrides: Partial<MarathonApp> = {}) =>
  app("/chaos/web/a", [task("/chaos/web/a", 1, "agent-1")], {
    version: "2024-01-01T00:00:02Z",
    instances: 3,
    ...overrides,
  });
const BOTH = { "/chaos/web/a": ["2024-01-01T00:00:02Z", "2024-01-01T00:00:01Z"] };

Deno.test("checkNothingLost() passes when every acknowledged change is there", () => {
  assert.deepEqual(checkNothingLost(ledgerOf(), store([current()], BOTH)), []);
});

Deno.test("checkNothingLost() names a lost group, app, version and update", () => {
  const ledger = ledgerOf();
  ledger.group("/chaos/work");
  const messages = (s: FinalStore) => checkNothingLost(ledger, s).map((v) => v.message);
  assert.deepEqual(messages(store([current()], BOTH)), ["group /chaos/work is gone"]);
  ledger.groups.delete("/chaos/work");
  assert.match(messages(store([]))[0]!, /app \/chaos\/web\/a is gone \(last acknowledged: scale/);
  assert.match(
    messages(store([current()], { "/chaos/web/a": ["2024-01-01T00:00:02Z"] }))[0]!,
    /lost acknowledged version\(s\) 2024-01-01T00:00:01Z/,
  );
  const older = messages(store([current({ version: "2024-01-01T00:00:01Z", instances: 2 })], BOTH));
  assert.match(older[0]!, /older than the acknowledged 2024-01-01T00:00:02Z/);
  assert.match(older[1]!, /the acknowledged scale .* is not what Marathon has/);
});

Deno.test("checkNothingLost() insists only on what was acknowledged", () => {
  const ledger = ledgerOf();
  ledger.unsure("/chaos/web/a");
  // A later change of unknown outcome may have applied: a newer version is fine, and so is none.
  const newer = current({ version: "2024-01-01T00:00:03Z", instances: 1 });
  assert.deepEqual(checkNothingLost(ledger, store([newer], BOTH)), []);
  ledger.acked("/chaos/web/a", {
    version: "2024-01-01T00:00:04Z",
    instances: 3,
    gen: 1,
    at: 4,
    op: "delete",
  });
  assert.deepEqual(checkNothingLost(ledger, store([])), []);
  assert.match(
    checkNothingLost(ledger, store([newer], BOTH))[0]!.message,
    /is back after its deletion was acknowledged/,
  );
});

Deno.test("checkDeploymentsDone() names deployments left and tasks of an old config", () => {
  const a = app("/a", [task("/a", 1, "agent-1"), { ...task("/a", 2, "agent-2"), version: "v0" }]);
  const found = checkDeploymentsDone({
    ...store([a]),
    deployments: [{ id: "d9", affectedApps: ["/a"], currentStep: 1, totalSteps: 1 }],
  });
  assert.deepEqual(found.map((v) => v.check), ["deployments", "deployments"]);
  assert.match(found[0]!.message, /deployment d9 of \/a never finished \(step 1\/1\)/);
  assert.match(
    found[1]!.message,
    /\/a: 1 task\(s\) still run an old config \(a\.2 at v0; current v1\)/,
  );
});
