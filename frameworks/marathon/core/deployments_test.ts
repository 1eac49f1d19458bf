import assert from "node:assert/strict";
import { OfferSchema, Resources } from "../../../protocol/mod.ts";
import { TenderError } from "../../../base/mod.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import { syncDeployments } from "./deployments.ts";
import { resetLaunchDelay } from "./launch_queue.ts";
import { CoreHarness } from "./testing.ts";

/** A deployment starting an app: StartApplication, then ScaleApplication (Marathon's two steps). */
function starting(appId: string): DeploymentRecord {
  return {
    id: "d-1",
    version: "2026-01-01T00:00:00.000Z",
    affectedApps: [appId],
    steps: [
      { actions: [{ action: "StartApplication", app: appId }] },
      { actions: [{ action: "ScaleApplication", app: appId }] },
    ],
    currentStep: 1,
    originalVersions: { [appId]: null },
    startedAt: "2026-01-01T00:00:00.000Z",
  };
}

Deno.test("syncDeployments() ends a deployment once its app runs, and announces it", () => {
  const h = new CoreHarness();
  h.app({ id: "/web", cmd: "serve", cpus: 0.5, mem: 64 });
  const record = starting("/web");
  h.books.setDeployment(record.id, record);
  const step = syncDeployments(h.books);
  assert.equal(step.changes.length, 1, "the app exists: on to the scale step");
  // The step advanced (as the shell persists it): the app may launch now.
  const advanced = { ...record, currentStep: 2 };
  h.books.setDeployment(record.id, advanced);
  h.offers([
    OfferSchema.parse({
      id: { value: "o-1" },
      framework_id: { value: "fw" },
      agent_id: { value: "a-n1" },
      hostname: "n1",
      resources: Resources.parse("cpus:4;mem:4096;ports:[31000-31010]").toMesos(),
    }),
  ]);
  h.update(h.calls("launch")[0]!.tasks[0]!.task_id.value, "TASK_RUNNING");
  // The app runs: the deployment ends.
  const out = syncDeployments(h.books);
  assert.deepEqual(out.changes, [
    { kind: "deployment", id: "d-1", value: null, expected: advanced },
  ]);
  assert.deepEqual(out.events.map((e) => e.type), ["deployment_success"]);
});

Deno.test("resetLaunchDelay() drops the backoff of an app, and is a 404 for an unknown id", () => {
  const h = new CoreHarness();
  h.app({ id: "/web", cmd: "serve" });
  assert.deepEqual(resetLaunchDelay(h.books, "/web").changes, [
    { kind: "backoff", id: "/web", value: null },
  ]);
  assert.throws(
    () => resetLaunchDelay(h.books, "/nope"),
    (e) => e instanceof TenderError && e.code === "not_found",
  );
});
