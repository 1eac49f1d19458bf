import assert from "node:assert/strict";
import { TenderError } from "../../../base/mod.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import { startDeployment } from "./deploy.ts";
import { CoreHarness } from "./testing.ts";

function deployment(id: string, apps: string[]): DeploymentRecord {
  return {
    id,
    version: `2026-01-01T00:00:0${id.length}.000Z`,
    affectedApps: apps,
    steps: [{ actions: apps.map((app) => ({ action: "StartApplication" as const, app })) }],
    currentStep: 1,
    originalVersions: Object.fromEntries(apps.map((a) => [a, null])),
    startedAt: "2026-01-01T00:00:00.000Z",
  };
}

const is = (code: string) => (e: unknown) => e instanceof TenderError && e.code === code;

Deno.test("startDeployment() writes the apps, the deployment with its locks and the root version", () => {
  const h = new CoreHarness();
  const web = h.app({ id: "/web", cmd: "serve" });
  h.books.setApp("/web", undefined);
  const out = startDeployment(h.books, { deployment: deployment("d1", ["/web"]), put: [web] });
  assert.deepEqual(out.changes.map((c) => c.kind), ["app", "deployment", "root_version"]);
  const root = out.changes.find((c) => c.kind === "root_version");
  assert.ok(root?.kind === "root_version");
  assert.deepEqual(root.apps, [["/web", web.version]]);
});

Deno.test("startDeployment() answers 409 for a taken id and a lock, unless forced, and 404 for a gone app", () => {
  const h = new CoreHarness();
  const web = h.app({ id: "/web", cmd: "serve" });
  assert.throws(
    () =>
      startDeployment(h.books, {
        deployment: deployment("d1", ["/web"]),
        put: [web],
        mustBeNew: ["/web"],
      }),
    is("conflict"),
  );
  assert.throws(
    () =>
      startDeployment(h.books, { deployment: deployment("d1", ["/x"]), put: [], remove: ["/x"] }),
    is("not_found"),
  );
  const holder = deployment("d0", ["/web"]);
  h.books.setDeployment(holder.id, holder);
  assert.throws(
    () => startDeployment(h.books, { deployment: deployment("d1", ["/web"]), put: [web] }),
    is("conflict"),
  );
  const forced = startDeployment(h.books, {
    deployment: deployment("d1", ["/web"]),
    put: [web],
    force: true,
  });
  assert.deepEqual(forced.changes[0], {
    kind: "deployment",
    id: "d0",
    value: null,
    expected: holder,
  });
});
