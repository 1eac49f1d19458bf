import assert from "node:assert/strict";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import { dependencyDepths, isConfigChange, planDeployment, revertPlan } from "./plan.ts";

function apps(...list: Record<string, unknown>[]): Map<string, App> {
  return new Map(list.map((raw) => {
    const app = parseApp({ cmd: "serve", ...raw });
    return [app.id, { ...app, version: "v" }];
  }));
}

const plan = (original: Map<string, App>, target: Map<string, App>) =>
  planDeployment({ id: "d1", version: "2026-01-01T00:00:00.000Z", original, target });

Deno.test("planDeployment() starts then scales new apps in dependency order", () => {
  const p = plan(
    new Map(),
    apps({ id: "/web", dependencies: ["/api"] }, { id: "/api", dependencies: ["/db"] }, {
      id: "/db",
    }),
  );
  assert.deepEqual(p.steps, [
    {
      actions: [
        { action: "StartApplication", app: "/api" },
        { action: "StartApplication", app: "/db" },
        { action: "StartApplication", app: "/web" },
      ],
    },
    { actions: [{ action: "ScaleApplication", app: "/db" }] },
    { actions: [{ action: "ScaleApplication", app: "/api" }] },
    { actions: [{ action: "ScaleApplication", app: "/web" }] },
  ]);
  assert.deepEqual(p.affectedApps, ["/api", "/db", "/web"]);
});

Deno.test("planDeployment() tells scale-only changes from config changes", () => {
  const before = apps({ id: "/a" }, { id: "/b" }, { id: "/c" });
  const after = apps({ id: "/a", instances: 3 }, { id: "/b", env: { X: "1" } }, { id: "/c" });
  assert.deepEqual(plan(before, after).steps, [{
    actions: [{ action: "ScaleApplication", app: "/a" }, {
      action: "RestartApplication",
      app: "/b",
    }],
  }]);
  assert.equal(isConfigChange(before.get("/a")!, after.get("/a")!), false);
  assert.equal(
    isConfigChange(before.get("/a")!, { ...before.get("/a")!, labels: { x: "y" } }),
    true,
  );
  assert.equal(
    isConfigChange(before.get("/a")!, { ...before.get("/a")!, version: "other" }),
    false,
  );
  assert.deepEqual(plan(before, before).steps, []);
});

Deno.test("planDeployment() stops removed apps, dependents first", () => {
  const before = apps({ id: "/web", dependencies: ["/db"] }, { id: "/db" });
  assert.deepEqual(plan(before, new Map()).steps, [
    { actions: [{ action: "StopApplication", app: "/web" }] },
    { actions: [{ action: "StopApplication", app: "/db" }] },
  ]);
});

Deno.test("planDeployment() restarts on request and reverts to the original", () => {
  const a = apps({ id: "/a" });
  const restart = planDeployment({
    id: "d",
    version: "v",
    original: a,
    target: a,
    restart: new Set(["/a"]),
  });
  assert.deepEqual(restart.steps, [{ actions: [{ action: "RestartApplication", app: "/a" }] }]);
  const b = apps({ id: "/a", cmd: "other" }, { id: "/b" });
  const back = revertPlan({ id: "r", version: "v", original: a, target: b });
  assert.deepEqual(back.steps, [
    { actions: [{ action: "StopApplication", app: "/b" }] },
    { actions: [{ action: "RestartApplication", app: "/a" }] },
  ]);
});

Deno.test("dependencyDepths() ignores missing dependencies and survives cycles", () => {
  const d = dependencyDepths(
    apps({ id: "/a", dependencies: ["/b", "/missing"] }, { id: "/b", dependencies: ["/a"] }),
  );
  assert.equal(d.size, 2);
  assert.ok([...d.values()].every((v) => v <= 2));
  assert.equal(dependencyDepths(apps({ id: "/x", dependencies: ["/nope"] })).get("/x"), 0);
});
