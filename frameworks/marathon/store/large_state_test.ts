/**
 * Marathon's state at size (issue 17 item 4): a group of 1,000 apps (3 MB) in one request, 10,000
 * apps in one root version, an app of 10,000 instances, and pruning app versions without reading
 * them — on Deno KV, and on a 3-member etcd where one is installed.
 */
import assert from "node:assert/strict";
import { DenoKvStore, EtcdConnection, type StateStore } from "../../../store/mod.ts";
import { EtcdCluster, hasEtcd } from "../../../tests/support/etcd_cluster.ts";
import { inMemoryMarathon } from "../../../tests/support/marathon_in_memory.ts";
import { storedAppInfo } from "../api/apps_routes.ts";
import { instance } from "../deployment/testing.ts";
import { taskJson } from "../service/views.ts";
import { status, updated, withScheduler } from "../scheduler/testing.ts";
import { offer } from "../scheduler/testing.ts";
import { keys } from "./keys.ts";
import { MAX_ROOT_VERSIONS } from "./group_record.ts";
import { MarathonStore } from "./store.ts";

/** An API over `backend`; `fn` gets a request function and the store. */
async function withApiOn(
  backend: StateStore,
  fn: (
    request: (path: string, method?: string, json?: unknown) => Promise<Response>,
    store: MarathonStore,
  ) => Promise<void>,
): Promise<void> {
  const marathon = inMemoryMarathon(backend);
  try {
    await fn(
      (path, method = "GET", json) =>
        marathon.request(path, {
          method,
          ...(json === undefined
            ? {}
            : { body: JSON.stringify(json), headers: { "content-type": "application/json" } }),
        }),
      marathon.store,
    );
  } finally {
    marathon.close();
  }
}

/** `n` apps of about `bytes` each (labels make up the size). */
function apps(n: number, bytes = 0, prefix = "app") {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    cmd: "sleep 1000",
    cpus: 0.01,
    mem: 8,
    ...(bytes > 0 ? { labels: { pad: "p".repeat(bytes) } } : {}),
  }));
}

async function onKv(fn: (backend: StateStore, reopen: () => Promise<StateStore>) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "marathon-large-" });
  const opened: StateStore[] = [];
  const open = async () => {
    const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
    opened.push(kv);
    return kv;
  };
  try {
    await fn(await open(), open);
  } finally {
    for (const kv of opened) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function groupOf1000(backend: StateStore, reopen: () => Promise<StateStore>) {
  await withApiOn(backend, async (request) => {
    const group = { apps: apps(1_000, 3_000) };
    assert.ok(JSON.stringify(group).length > 3_000_000, "a 3 MB group");
    const r = await request("/v2/groups/big", "PUT", group);
    assert.equal(r.status, 200, await r.clone().text());
    const listed = await (await request("/v2/apps")).json();
    assert.equal(listed.apps.length, 1_000);
    const deployments = await (await request("/v2/deployments")).json();
    assert.equal(deployments[0].affectedApps.length, 1_000);
  });
  // Another Marathon on the same store (a restart, a new leader) reads all of it back.
  await withApiOn(await reopen(), async (request) => {
    const listed = await (await request("/v2/apps")).json();
    assert.equal(listed.apps.length, 1_000);
    assert.equal(listed.apps[999].labels.pad.length, 3_000);
    const versions = await (await request("/v2/groups/versions")).json();
    assert.equal(versions.length, 1);
  });
}

Deno.test("PUT /v2/groups with 1,000 apps (3 MB) in one request deploys them all, on Deno KV", async () => {
  await onKv(groupOf1000);
});

Deno.test("10,000 apps in one root version: created, listed, kept across a restart", async () => {
  await onKv(async (backend, reopen) => {
    let version = "";
    await withApiOn(backend, async (request) => {
      const r = await request("/v2/groups", "POST", { id: "/many", apps: apps(10_000) });
      assert.equal(r.status, 201, await r.clone().text());
      version = (await r.json()).version;
      const listed = await (await request("/v2/apps")).json();
      assert.equal(listed.apps.length, 10_000);
    });
    await withApiOn(await reopen(), async (request, store) => {
      assert.equal((await store.getRootVersion(version))?.apps.length, 10_000);
      const group = await (await request(`/v2/groups/many`)).json();
      assert.equal(group.apps.length, 10_000);
    });
  });
});

Deno.test("GET /v2/apps and /v2/tasks stream the bytes one string would hold", async () => {
  await onKv(async (backend) => {
    await withApiOn(backend, async (request, store) => {
      const r = await request("/v2/groups/s", "PUT", { apps: apps(1_000, 100) });
      assert.equal(r.status, 200);
      const listed = await store.listApps();
      await store.addInstances(listed.slice(0, 500).flatMap((a) => [instance(a), instance(a)]));
      const answer = await request("/v2/apps?embed=apps.tasks");
      assert.equal(answer.headers.get("content-type"), "application/json");
      const expected = JSON.stringify({
        apps: await Promise.all(
          listed.map((a) => storedAppInfo(store, a, { tasks: true, lastTaskFailure: true })),
        ),
      });
      assert.equal(await answer.text(), expected);
      const tasks = await request("/v2/tasks");
      const byId = new Map(listed.map((a) => [a.id, a]));
      assert.equal(
        await tasks.text(),
        JSON.stringify({
          tasks: (await store.listInstances()).map((i) => taskJson(byId.get(i.appId), i)),
        }),
      );
    });
  });
});

/** Counts the values a store hands out under a prefix. */
class CountingStore implements StateStore {
  listed = 0;
  constructor(readonly inner: StateStore, readonly under: readonly string[]) {}
  get describe() {
    return this.inner.describe;
  }
  get limits() {
    return this.inner.limits;
  }
  get: StateStore["get"] = (key) => this.inner.get(key);
  getMany: StateStore["getMany"] = (k) => this.inner.getMany(k);
  async *list<T>(prefix: readonly (string | number)[]) {
    for await (const e of this.inner.list<T>(prefix)) {
      if (this.under.every((p, i) => e.key[i] === p)) this.listed++;
      yield e;
    }
  }
  set: StateStore["set"] = (k, v) => this.inner.set(k, v);
  delete: StateStore["delete"] = (k) => this.inner.delete(k);
  atomic = () => this.inner.atomic();
  close = () => this.inner.close();
}

Deno.test("a deployment prunes an app's versions without reading the stored versions", async () => {
  await onKv(async (kv) => {
    const counting = new CountingStore(kv, keys.appVersions("/web").slice(0, 2));
    await withApiOn(counting, async (request, store) => {
      for (let n = 0; n < MAX_ROOT_VERSIONS + 5; n++) {
        const r = await request("/v2/apps/web?force=true", "PUT", { cmd: `v${n}`, mem: 8 });
        assert.ok(r.status === 200 || r.status === 201, await r.clone().text());
        await store.endDeployment((await r.json()).deploymentId).catch(() => {});
      }
      assert.equal((await store.listVersions("/web")).length, MAX_ROOT_VERSIONS);
      assert.equal(counting.listed, 0, "no stored app version was read to prune or list");
      assert.equal((await (await request("/v2/apps/web/versions")).json()).versions.length, 50);
    });
  });
});

Deno.test("an app of 10,000 instances launches on simulated agents and is stored", async () => {
  await withScheduler(async ({ scheduler, driver, service, store }) => {
    await service.createApp({
      id: "/wide",
      cmd: "sleep 1000",
      cpus: 0.001,
      mem: 1,
      instances: 10_000,
      portDefinitions: [],
    }, {});
    // 100 simulated agents offer at once; Marathon places 5 instances per offer at most.
    for (
      let round = 0;
      round < 40 && (await store.listInstances("/wide")).length < 10_000;
      round++
    ) {
      await scheduler.offers(
        driver,
        Array.from({ length: 100 }, (_, i) => offer(`sim-${i}`, "cpus:100;mem:100000;disk:100")),
      );
    }
    const instances = await store.listInstances("/wide");
    assert.equal(instances.length, 10_000);
    const launched = driver.launched.flatMap((l) => l.tasks);
    assert.equal(launched.length, 10_000);
    // Every one running, each update a store write of its own.
    for (const t of launched.slice(0, 100)) {
      await updated(scheduler, driver, status(t.task_id.value, "TASK_RUNNING"));
    }
    assert.equal(
      (await store.listInstances("/wide")).filter((i) => i.condition === "Running").length,
      100,
    );
  });
});

Deno.test({
  name: "PUT /v2/groups with 1,000 apps (3 MB) in one request deploys them all, on a 3-member etcd",
  ignore: !hasEtcd(),
  async fn() {
    const cluster = await EtcdCluster.start();
    const opened: EtcdConnection[] = [];
    const open = async () => {
      const c = await EtcdConnection.open({ endpoints: cluster.endpoints, prefix: "large" });
      opened.push(c);
      return c.store("marathon");
    };
    try {
      await groupOf1000(await open(), open);
    } finally {
      for (const c of opened) c.close();
      await cluster.close();
    }
  },
});
