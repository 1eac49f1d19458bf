import assert from "node:assert/strict";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import { planDeployment } from "./plan.ts";
import { deploymentProgress, heldApps } from "./progress.ts";
import { instance } from "./testing.ts";

function app(id: string, extra: Record<string, unknown> = {}): App {
  return { ...parseApp({ id, cmd: "serve", ...extra }), version: "v1" };
}

Deno.test("deploymentProgress() walks the steps as apps settle", () => {
  const db = app("/db"), web = app("/web", { dependencies: ["/db"] });
  const target = new Map([["/db", db], ["/web", web]]);
  const plan = planDeployment({ id: "d", version: "v1", original: new Map(), target });
  assert.equal(plan.steps.length, 3);
  assert.deepEqual(deploymentProgress(plan, target, []), { done: false, currentStep: 2 });
  const dbUp = instance(db);
  assert.deepEqual(deploymentProgress(plan, target, [dbUp]), { done: false, currentStep: 3 });
  assert.deepEqual(deploymentProgress(plan, target, [dbUp, instance(web)]), { done: true });
  assert.deepEqual(
    deploymentProgress(plan, target, [dbUp, instance(web, { condition: "Staging" })]),
    {
      done: false,
      currentStep: 3,
    },
  );
});

Deno.test("deploymentProgress() waits for a stopped app's instances to end", () => {
  const web = app("/web");
  const plan = planDeployment({
    id: "d",
    version: "v2",
    original: new Map([["/web", web]]),
    target: new Map(),
  });
  const running = instance(web);
  assert.equal(deploymentProgress(plan, new Map(), [running]).done, false);
  // Its kill was sent but the task still runs (draining, or in its grace period): not done.
  const stopping = { ...running, goal: "Stopped" as const };
  assert.equal(deploymentProgress(plan, new Map(), [stopping]).done, false);
  assert.equal(
    deploymentProgress(plan, new Map(), [{ ...stopping, condition: "Killed" as const }]).done,
    true,
  );
});

Deno.test("heldApps() holds apps whose step comes after the current one", () => {
  const db = app("/db"), web = app("/web", { dependencies: ["/db"] });
  const plan = planDeployment({
    id: "d",
    version: "v1",
    original: new Map(),
    target: new Map([["/db", db], ["/web", web]]),
  });
  assert.deepEqual([...heldApps([{ ...plan, currentStep: 1 }])].sort(), ["/db", "/web"]);
  assert.deepEqual([...heldApps([{ ...plan, currentStep: 2 }])], ["/web"]);
  assert.deepEqual([...heldApps([{ ...plan, currentStep: 3 }])], []);
});
