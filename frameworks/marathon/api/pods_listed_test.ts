/** Pods where Marathon lists them beside apps: the group tree and the launch queue; not /v2/tasks. */
import assert from "node:assert/strict";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../../../security/mod.ts";
import type { Instance } from "../model/instance.ts";
import { post, withApi } from "./testing.ts";

/** A pod of `instances` sleeping containers, `/shop/cache` unless told. */
function sleeperPod(instances: number, id = "/shop/cache"): Record<string, unknown> {
  return {
    id,
    containers: [
      { name: "a", exec: { command: { shell: "sleep 1000" } }, resources: { cpus: 0.1, mem: 32 } },
      { name: "b", exec: { command: { shell: "sleep 1000" } }, resources: { cpus: 0.1, mem: 32 } },
    ],
    scaling: { kind: "fixed", instances },
  };
}

/** A running instance of pod `podId` at `version`, its two containers running. */
function podInstance(podId: string, version: string, n: number, now: number): Instance {
  const instanceId = `${podId.slice(1).replaceAll("/", "_")}.instance-${n}`;
  return {
    instanceId,
    taskId: `${instanceId}.a`,
    appId: podId,
    version,
    condition: "Running",
    goal: "Running",
    agentId: "agent-1",
    hostname: "a1.test",
    attributes: [],
    hostPorts: [],
    stagedAt: now,
    startedAt: now,
    since: now,
    tasks: ["a", "b"].map((name) => ({
      name,
      taskId: `${instanceId}.${name}`,
      condition: "Running" as const,
      since: now,
      startedAt: now,
    })),
  };
}

Deno.test("/v2/groups shows each pod's PodStatus in its group; a pod implies its groups", async () => {
  await withApi(async ({ request }) => {
    assert.equal((await request("/v2/pods", post(sleeperPod(1)))).status, 201);
    assert.equal(
      (await request("/v2/apps", post({ id: "/shop/web", cmd: "sleep 1" }))).status,
      201,
    );

    const root = await (await request("/v2/groups")).json();
    assert.deepEqual(root.pods, []);
    const shop = root.groups.find((g: { id: string }) => g.id === "/shop");
    assert.ok(shop, "the group the pod's id implies is in the tree");
    assert.deepEqual(shop.apps.map((a: { id: string }) => a.id), ["/shop/web"]);
    assert.equal(shop.pods.length, 1);
    assert.equal(shop.pods[0].id, "/shop/cache");
    assert.equal(shop.pods[0].status, "DEPLOYING");
    assert.deepEqual(shop.pods[0].spec.scaling, { kind: "fixed", instances: 1 });
    assert.deepEqual(shop.pods[0].instances, []);

    const direct = await (await request("/v2/groups/shop")).json();
    assert.deepEqual(direct.pods.map((p: { id: string }) => p.id), ["/shop/cache"]);

    // embed picks what is shown: apps only, or pods only.
    const appsOnly = await (await request("/v2/groups/shop?embed=group.apps")).json();
    assert.equal(appsOnly.pods, undefined);
    assert.equal(appsOnly.apps.length, 1);
    const podsOnly = await (await request("/v2/groups/shop?embed=group.pods")).json();
    assert.equal(podsOnly.apps, undefined);
    assert.equal(podsOnly.pods.length, 1);
  });
});

Deno.test("/v2/groups/{id} of a group only a pod lies in is found, not 404", async () => {
  await withApi(async ({ request }) => {
    await request("/v2/pods", post(sleeperPod(1, "/data/kv/store")));
    const kv = await request("/v2/groups/data/kv");
    assert.equal(kv.status, 200);
    assert.deepEqual((await kv.json()).pods.map((p: { id: string }) => p.id), ["/data/kv/store"]);
    const data = await (await request("/v2/groups/data")).json();
    assert.deepEqual(data.groups.map((g: { id: string }) => g.id), ["/data/kv"]);
    assert.deepEqual(data.pods, []);
    assert.equal((await request("/v2/groups/data/nothing")).status, 404);
  });
});

Deno.test("/v2/queue lists a pod with instances to launch as Marathon's QueuePod", async () => {
  await withApi(async ({ request, store, clock }) => {
    await request("/v2/pods", post(sleeperPod(3)));
    const pod = await store.getPod("/shop/cache");
    assert.ok(pod?.version);

    const [queued, ...rest] = (await (await request("/v2/queue")).json()).queue;
    assert.deepEqual(rest, []);
    assert.equal(queued.pod.id, "/shop/cache");
    assert.deepEqual(queued.pod.scaling, { kind: "fixed", instances: 3 });
    assert.equal(queued.app, undefined);
    assert.equal(queued.count, 3);
    assert.equal(queued.role, "*");
    assert.deepEqual(queued.delay, { timeLeftSeconds: 0, overdue: true });
    assert.equal(queued.processedOffersSummary.processedOffersCount, 0);

    // Two run: one left. All three run: the pod leaves the queue.
    await store.addInstances([1, 2].map((n) => podInstance(pod.id, pod.version!, n, clock.now())));
    assert.equal((await (await request("/v2/queue")).json()).queue[0].count, 1);
    await store.addInstance(podInstance(pod.id, pod.version, 3, clock.now()));
    assert.deepEqual((await (await request("/v2/queue")).json()).queue, []);

    // Backed off after failures: queued with the delay left, until the delay is reset.
    await store.setBackoff(pod.id, {
      configVersion: pod.version,
      failures: 2,
      delayMs: 30_000,
      lastFailureAt: clock.now(),
    });
    const backedOff = (await (await request("/v2/queue")).json()).queue[0];
    assert.equal(backedOff.count, 0);
    assert.deepEqual(backedOff.delay, { timeLeftSeconds: 30, overdue: false });
    assert.equal(backedOff.since, new Date(clock.now()).toISOString());
    const reset = await request("/v2/queue/shop/cache/delay", { method: "DELETE" });
    assert.equal(reset.status, 204);
    assert.equal(await store.getBackoff(pod.id), undefined);
    assert.deepEqual((await (await request("/v2/queue")).json()).queue, []);

    const unknown = await request("/v2/queue/shop/nothing/delay", { method: "DELETE" });
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).message, /\/shop\/nothing/);
  });
});

Deno.test("/v2/queue lists apps before pods", async () => {
  await withApi(async ({ request }) => {
    await request("/v2/pods", post(sleeperPod(1, "/a-pod")));
    await request("/v2/apps", post({ id: "/z-app", cmd: "sleep 1" }));
    const queue = (await (await request("/v2/queue")).json()).queue;
    assert.deepEqual(
      queue.map((q: { app?: { id: string }; pod?: { id: string } }) =>
        q.app ? `app ${q.app.id}` : `pod ${q.pod?.id}`
      ),
      ["app /z-app", "pod /a-pod"],
    );
  });
});

Deno.test("/v2/tasks lists app tasks only, as Marathon does; a pod's are in its ::status", async () => {
  await withApi(async ({ request, store, clock }) => {
    await request("/v2/pods", post(sleeperPod(1)));
    const pod = await store.getPod("/shop/cache");
    await store.addInstance(podInstance("/shop/cache", pod!.version!, 1, clock.now()));
    assert.deepEqual((await (await request("/v2/tasks")).json()).tasks, []);
    const status = await (await request("/v2/pods/shop/cache::status")).json();
    assert.deepEqual(
      status.instances[0].containers.map((c: { containerId: string }) => c.containerId),
      ["shop_cache.instance-1.a", "shop_cache.instance-1.b"],
    );
  });
});

Deno.test("/v2/groups and /v2/queue show a principal only the pods it may view", async () => {
  const rule = (principals: string[], paths: string[]) => ({
    principals: { values: principals },
    paths: { values: paths },
  });
  const security = new ServerSecurity({
    credentials: parseCredentials(JSON.stringify({
      credentials: [{ principal: "ops", secret: "ops-s" }, { principal: "web", secret: "web-s" }],
    })),
    acls: parseAcls(JSON.stringify({
      permissive: false,
      view_apps: [rule(["ops"], ["/"]), rule(["web"], ["/web"])],
      create_apps: [rule(["ops"], ["/"])],
    })),
  });
  const ops = { Authorization: basicHeader("ops", "ops-s") };
  const web = { Authorization: basicHeader("web", "web-s") };
  await withApi(async ({ request }) => {
    for (const id of ["/web/cache", "/db/store"]) {
      const created = await request("/v2/pods", { ...post(sleeperPod(1, id)), headers: ops });
      assert.equal(created.status, 201);
    }
    const podIds = (group: { pods: { id: string }[]; groups: unknown[] }): string[] => [
      ...group.pods.map((p) => p.id),
      ...group.groups.flatMap((g) => podIds(g as typeof group)),
    ];
    const all = await (await request("/v2/groups", { headers: ops })).json();
    assert.deepEqual(podIds(all), ["/db/store", "/web/cache"]);
    const mine = await (await request("/v2/groups", { headers: web })).json();
    assert.deepEqual(podIds(mine), ["/web/cache"]);
    assert.equal((await request("/v2/groups/db", { headers: web })).status, 403);

    const queued = async (headers: Record<string, string>) =>
      (await (await request("/v2/queue", { headers })).json()).queue
        .map((q: { pod: { id: string } }) => q.pod.id);
    assert.deepEqual(await queued(ops), ["/db/store", "/web/cache"]);
    assert.deepEqual(await queued(web), ["/web/cache"]);
  }, { security });
});

Deno.test("DELETE /v2/groups/{id} removes the pods below it with its apps and groups", async () => {
  await withApi(async ({ request }) => {
    await request("/v2/apps", post({ id: "/shop/web", cmd: "sleep 1" }));
    await request("/v2/pods", post(sleeperPod(1)));
    await request("/v2/pods", post(sleeperPod(1, "/shop/deep/store")));
    await request("/v2/pods", post(sleeperPod(1, "/other")));

    const deleted = await request("/v2/groups/shop", { method: "DELETE" });
    assert.equal(deleted.status, 200);
    assert.ok((await deleted.json()).deploymentId);
    assert.equal((await request("/v2/groups/shop")).status, 404);
    assert.equal((await request("/v2/apps/shop/web")).status, 404);
    assert.equal((await request("/v2/pods/shop/cache")).status, 404);
    assert.equal((await request("/v2/pods/shop/deep/store")).status, 404);
    assert.equal((await request("/v2/pods/other")).status, 200, "a pod outside stays");

    // A group only a pod lies in is deleted too (it was a 404).
    await request("/v2/pods", post(sleeperPod(1, "/data/kv")));
    assert.equal((await request("/v2/groups/data", { method: "DELETE" })).status, 200);
    assert.equal((await request("/v2/pods/data/kv")).status, 404);
    assert.equal((await request("/v2/groups/data", { method: "DELETE" })).status, 404);
  });
});
