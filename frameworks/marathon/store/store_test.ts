import assert from "node:assert/strict";
import { TenderError } from "../../../base/mod.ts";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import { instance } from "../deployment/testing.ts";
import type { DeploymentRecord } from "./deployment_record.ts";
import { MAX_ROOT_VERSIONS } from "./group_record.ts";
import { MarathonStore } from "./store.ts";
import { DenoKvStore } from "../../../store/mod.ts";

async function withStore(fn: (store: MarathonStore, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "marathon-store-" });
  const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
  try {
    await fn(new MarathonStore(kv), `${dir}/kv.sqlite3`);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function app(id: string, version: string, extra: Record<string, unknown> = {}): App {
  return { ...parseApp({ id, cmd: "serve", ...extra }), version };
}

function deployment(id: string, apps: string[]): DeploymentRecord {
  return {
    id,
    version: "2026-01-01T00:00:00.000Z",
    affectedApps: apps,
    steps: [{ actions: apps.map((app) => ({ action: "ScaleApplication" as const, app })) }],
    currentStep: 1,
    originalVersions: Object.fromEntries(apps.map((a) => [a, null])),
    startedAt: "2026-01-01T00:00:00.000Z",
  };
}

function rejects(status: number): (e: unknown) => boolean {
  return (e) => e instanceof TenderError && e.status === status;
}

Deno.test("MarathonStore.startDeployment() stores the app, its version, the deployment and locks", async () => {
  await withStore(async (store, path) => {
    const a = app("/web", "2026-01-01T00:00:00.000Z");
    await store.startDeployment({
      deployment: deployment("d1", ["/web"]),
      put: [a],
      mustBeNew: ["/web"],
    });
    assert.deepEqual(await store.getApp("/web"), a);
    assert.deepEqual(await store.listVersions("/web"), ["2026-01-01T00:00:00.000Z"]);
    assert.equal(await store.getLock("/web"), "d1");
    assert.equal((await store.listDeployments())[0]?.id, "d1");
    // Durable: a second handle on the same file sees it.
    const kv2 = await DenoKvStore.open(path);
    try {
      assert.deepEqual(await new MarathonStore(kv2).getApp("/web"), a);
    } finally {
      kv2.close();
    }
  });
});

Deno.test("MarathonStore.startDeployment() answers 409 for duplicates and locked apps unless forced", async () => {
  await withStore(async (store) => {
    await store.startDeployment({
      deployment: deployment("d1", ["/web"]),
      put: [app("/web", "v1")],
    });
    await assert.rejects(
      store.startDeployment({
        deployment: deployment("d2", ["/web"]),
        put: [app("/web", "v2")],
        mustBeNew: ["/web"],
      }),
      rejects(409),
    );
    await assert.rejects(
      store.startDeployment({ deployment: deployment("d2", ["/web"]), put: [app("/web", "v2")] }),
      (e: unknown) => {
        assert.ok(e instanceof TenderError && e.status === 409);
        assert.ok(e.message.startsWith("App is locked by one or more deployments."));
        assert.deepEqual(e.details, { deployments: [{ id: "d1" }] });
        return true;
      },
    );
    await store.startDeployment({
      deployment: deployment("d2", ["/web"]),
      put: [app("/web", "v2", { instances: 3 })],
      force: true,
    });
    assert.equal(await store.getLock("/web"), "d2");
    assert.equal(
      await store.getDeployment("d1"),
      undefined,
      "the forced-out deployment is cancelled",
    );
    assert.equal((await store.getApp("/web"))?.instances, 3);
    assert.deepEqual(await store.listVersions("/web"), ["v2", "v1"]);
    assert.equal((await store.getVersion("/web", "v1"))?.instances, 1);
  });
});

Deno.test("MarathonStore.endDeployment() releases locks; removal needs an existing app", async () => {
  await withStore(async (store) => {
    await store.startDeployment({
      deployment: deployment("d1", ["/a", "/b"]),
      put: [app("/a", "v1"), app("/b", "v1")],
    });
    await store.advanceDeployment("d1", 2);
    assert.equal((await store.getDeployment("d1"))?.currentStep, 2);
    await store.endDeployment("d1");
    assert.equal(await store.getLock("/a"), undefined);
    assert.equal(await store.getLock("/b"), undefined);
    await assert.rejects(store.endDeployment("d1"), rejects(404));
    await store.startDeployment({ deployment: deployment("d2", ["/a"]), put: [], remove: ["/a"] });
    assert.equal(await store.getApp("/a"), undefined);
    assert.deepEqual((await store.listApps()).map((x) => x.id), ["/b"]);
    await assert.rejects(
      store.startDeployment({ deployment: deployment("d3", ["/zzz"]), put: [], remove: ["/zzz"] }),
      rejects(404),
    );
  });
});

Deno.test("MarathonStore instances: add once, update read-modify-write, delete", async () => {
  await withStore(async (store) => {
    const a = app("/web", "v1");
    const i = instance(a, { condition: "Staging" });
    await store.addInstance(i);
    await assert.rejects(store.addInstance(i), rejects(409));
    const running = await store.updateInstance(
      "/web",
      i.instanceId,
      (x) => ({ ...x, condition: "Running" }),
    );
    assert.equal(running?.condition, "Running");
    assert.equal((await store.getInstance("/web", i.instanceId))?.condition, "Running");
    await store.addInstance(instance(app("/other", "v1")));
    assert.equal((await store.listInstances("/web")).length, 1);
    assert.equal((await store.listInstances()).length, 2);
    // Concurrent updates both land, neither is lost.
    await Promise.all([
      store.updateInstance("/web", i.instanceId, (x) => ({ ...x, healthy: true })),
      store.updateInstance("/web", i.instanceId, (x) => ({ ...x, hostPorts: [31000] })),
    ]);
    const both = await store.getInstance("/web", i.instanceId);
    assert.equal(both?.healthy, true);
    assert.deepEqual(both?.hostPorts, [31000]);
    await store.updateInstance("/web", i.instanceId, () => undefined);
    assert.equal(await store.getInstance("/web", i.instanceId), undefined);
    assert.equal(await store.updateInstance("/web", "nope", (x) => x), undefined);
  });
});

Deno.test("MarathonStore keeps backoff and the framework id", async () => {
  await withStore(async (store) => {
    await store.setBackoff("/web", {
      configVersion: "v1",
      failures: 2,
      delayMs: 1150,
      lastFailureAt: 5,
    });
    assert.equal((await store.getBackoff("/web"))?.failures, 2);
    await store.setBackoff("/web", undefined);
    assert.equal(await store.getBackoff("/web"), undefined);
    assert.equal(await store.getFrameworkId(), undefined);
    await store.setFrameworkId("fw-1");
    assert.equal(await store.getFrameworkId(), "fw-1");
  });
});

Deno.test("MarathonStore.startDeployment() lets exactly one of two racing creates win", async () => {
  await withStore(async (store) => {
    const results = await Promise.allSettled([
      store.startDeployment({
        deployment: deployment("d1", ["/web"]),
        put: [app("/web", "v1")],
        mustBeNew: ["/web"],
      }),
      store.startDeployment({
        deployment: deployment("d2", ["/web"]),
        put: [app("/web", "v2")],
        mustBeNew: ["/web"],
      }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const failed = results.find((r) => r.status === "rejected");
    assert.ok(
      failed?.status === "rejected" && failed.reason instanceof TenderError &&
        failed.reason.status === 409,
    );
    assert.equal((await store.listDeployments()).length, 1);
  });
});

Deno.test("MarathonStore reads back exactly what is committed, and what a refused change did not", async () => {
  await withStore(async (store, path) => {
    const web = app("/web", "v1");
    const first = instance(web, { condition: "Staging" });
    await store.startDeployment({ deployment: deployment("d1", ["/web"]), put: [web] });
    await store.addInstance(first);
    // A refused change (a taken instance id; a locked app) leaves what is read untouched.
    await assert.rejects(store.addInstances([instance(web), first]), rejects(409));
    await assert.rejects(
      store.startDeployment({ deployment: deployment("d2", ["/web"]), put: [app("/web", "v2")] }),
      rejects(409),
    );
    assert.equal((await store.listInstances()).length, 1);
    assert.equal((await store.getApp("/web"))?.version, "v1");
    assert.deepEqual((await store.listDeployments()).map((d) => d.id), ["d1"]);
    // What is read is a value, not a handle on the store's state.
    const read = (await store.getInstance("/web", first.instanceId))!;
    assert.throws(() => (read as { condition: string }).condition = "Running", TypeError);
    await store.updateInstance("/web", first.instanceId, (i) => ({ ...i, condition: "Running" }));
    await store.endDeployment("d1");
    // Another process reading the same KV afterwards (a restarted Marathon) sees the same.
    const kv = await DenoKvStore.open(path);
    try {
      const again = new MarathonStore(kv);
      assert.deepEqual(await again.listInstances(), await store.listInstances());
      assert.deepEqual(await again.listApps(), await store.listApps());
      assert.deepEqual(await again.listDeployments(), []);
      assert.equal((await again.getInstance("/web", first.instanceId))?.condition, "Running");
    } finally {
      kv.close();
    }
  });
});

Deno.test("MarathonStore keeps group records and the newest root and app versions, durably", async () => {
  await withStore(async (store, path) => {
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
    const group = { id: "/g", dependencies: ["/db"], enforceRole: false };
    for (let n = 0; n < MAX_ROOT_VERSIONS + 2; n++) {
      await store.startDeployment({
        deployment: { ...deployment(`d${n}`, ["/g/a"]), version: at(n) },
        put: [app("/g/a", at(n))],
        groups: { put: [{ ...group, version: at(n) }] },
      });
      await store.endDeployment(`d${n}`);
    }
    const newest = at(MAX_ROOT_VERSIONS + 1);
    const appVersions = await store.listVersions("/g/a");
    assert.equal(appVersions.length, MAX_ROOT_VERSIONS, "an app keeps its newest versions");
    assert.equal(appVersions.at(-1), at(2));
    const versions = await store.listRootVersions();
    assert.equal(versions.length, MAX_ROOT_VERSIONS);
    assert.equal(versions[0], newest);
    assert.equal(versions.at(-1), at(2), "the two oldest are gone");
    assert.equal(await store.getRootVersion(at(1)), undefined);
    assert.deepEqual(await store.getRootVersion(newest), {
      version: newest,
      apps: [["/g/a", newest]],
      groups: [{ ...group, version: newest }],
    });
    // Durable: a second handle on the same file sees the same.
    const kv2 = await DenoKvStore.open(path);
    try {
      const again = new MarathonStore(kv2);
      assert.deepEqual(await again.listGroups(), [{ ...group, version: newest }]);
      assert.deepEqual(await again.listRootVersions(), versions);
    } finally {
      kv2.close();
    }
    await store.startDeployment({
      deployment: { ...deployment("gone", ["/g/a"]), version: at(99) },
      put: [],
      remove: ["/g/a"],
      groups: { remove: ["/g"] },
    });
    assert.deepEqual(await store.listGroups(), []);
    assert.deepEqual((await store.getRootVersion(at(99)))?.apps, []);
  });
});
