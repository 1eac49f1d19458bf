import assert from "node:assert/strict";
import { post, withApi } from "./testing.ts";

const put = (json: unknown) => ({ method: "PUT", json });
const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

Deno.test("/v2/groups keeps groups as stored: empty groups, dependencies, versions, rollback", async (t) => {
  await withApi(async ({ request, store, clock }) => {
    const created = await request(
      "/v2/groups",
      post({
        id: "/shop",
        dependencies: ["/db"],
        groups: [{ id: "empty" }],
        apps: [{ id: "web", cmd: "v1" }],
      }),
    );
    assert.equal(created.status, 201);
    const v1: string = (await created.json()).version;
    clock.advance(1_000);

    await t.step("an empty group and the group's dependencies are kept", async () => {
      const shop = await (await request("/v2/groups/shop")).json();
      assert.deepEqual(shop.dependencies, ["/db"]);
      assert.deepEqual(ids(shop.groups), ["/shop/empty"]);
      assert.equal(shop.version, v1);
      assert.equal(shop.enforceRole, false);
      assert.equal((await request("/v2/groups/shop/empty")).status, 200);
      assert.equal((await request("/v2/groups", post({ id: "/shop/empty" }))).status, 409);
    });

    const replaced = await request(
      "/v2/groups/shop?force=true",
      put({ apps: [{ id: "web", cmd: "v2" }, { id: "api", cmd: "serve" }] }),
    );
    assert.equal(replaced.status, 200);
    const v2: string = (await replaced.json()).version;

    await t.step("PUT replaces the group's apps, groups and dependencies", async () => {
      const shop = await (await request("/v2/groups/shop")).json();
      assert.deepEqual(ids(shop.apps), ["/shop/api", "/shop/web"]);
      assert.deepEqual(shop.groups, []);
      assert.deepEqual(shop.dependencies, []);
      assert.equal(shop.version, v2);
      assert.equal((await request("/v2/groups/shop/empty")).status, 404);
    });

    await t.step("versions: the group's, the root's, and the group at one of them", async () => {
      assert.deepEqual(await (await request("/v2/groups/shop/versions")).json(), [v2, v1]);
      assert.deepEqual(await (await request("/v2/groups/versions")).json(), [v2, v1]);
      const old = await (await request(`/v2/groups/shop/versions/${v1}`)).json();
      assert.deepEqual(ids(old.apps), ["/shop/web"]);
      assert.equal(old.apps[0].cmd, "v1");
      assert.deepEqual(ids(old.groups), ["/shop/empty"]);
      assert.deepEqual(old.dependencies, ["/db"]);
      assert.equal(
        (await request("/v2/groups/shop/versions/2000-01-01T00:00:00.000Z")).status,
        404,
      );
      assert.equal((await request("/v2/groups/nope/versions")).status, 404);
    });

    await t.step("apps: every app below the group, [] for an unknown group", async () => {
      assert.deepEqual(ids(await (await request("/v2/groups/shop/apps")).json()), [
        "/shop/api",
        "/shop/web",
      ]);
      assert.deepEqual(await (await request("/v2/groups/nope/apps")).json(), []);
    });

    await t.step("embed chooses what a group shows (apps, groups, pods, apps' tasks)", async () => {
      const all = await (await request("/v2/groups/shop")).json();
      assert.ok(all.apps && all.groups && all.pods, "all three by default");
      assert.equal(all.apps[0].tasks, undefined);
      const appsOnly = await (await request("/v2/groups?embed=group.apps.tasks")).json();
      assert.equal(appsOnly.groups, undefined);
      assert.equal(appsOnly.pods, undefined);
      assert.deepEqual(appsOnly.apps, []);
      const nested = await (
        await request("/v2/groups?embed=group.groups&embed=group.apps&embed=group.apps.tasks")
      ).json();
      assert.deepEqual(nested.groups[0].apps.map((a: { tasks: unknown[] }) => a.tasks), [[], []]);
      const groupsOnly = await (await request("/v2/groups/shop?embed=group.groups")).json();
      assert.equal(groupsOnly.apps, undefined);
    });

    await t.step("PUT {version} rolls the group back (and wins over scaleBy)", async () => {
      const missing = await request(
        "/v2/groups/shop?force=true",
        put({ version: "2000-01-01T00:00:00.000Z" }),
      );
      assert.equal(missing.status, 404);
      assert.deepEqual(ids(await store.listApps()), ["/shop/api", "/shop/web"], "unchanged");
      const back = await request("/v2/groups/shop?force=true", put({ version: v1, scaleBy: 3 }));
      assert.equal(back.status, 200);
      const apps = await store.listApps();
      assert.deepEqual(ids(apps), ["/shop/web"]);
      assert.equal(apps[0]!.cmd, "v1");
      assert.equal(apps[0]!.instances, 1);
      const shop = await (await request("/v2/groups/shop")).json();
      assert.deepEqual(ids(shop.groups), ["/shop/empty"]);
      assert.deepEqual(shop.dependencies, ["/db"]);
      assert.equal((await request("/v2/groups/shop/versions")).status, 200);
      assert.equal((await (await request("/v2/groups/shop/versions")).json()).length, 3);
    });

    await t.step("PATCH sets enforceRole of a top-level group only", async () => {
      const patched = await request("/v2/groups/shop", {
        method: "PATCH",
        json: { enforceRole: true },
      });
      assert.equal(patched.status, 200);
      assert.equal((await (await request("/v2/groups/shop")).json()).enforceRole, true);
      const nested = await request("/v2/groups/shop/empty", {
        method: "PATCH",
        json: { enforceRole: true },
      });
      assert.equal(nested.status, 422);
      const bad = await request("/v2/groups/shop", { method: "PATCH", json: { enforceRole: 1 } });
      assert.equal(bad.status, 422);
      assert.match(JSON.stringify(await bad.json()), /enforceRole/);
      assert.equal((await (await request("/v2/groups/shop")).json()).enforceRole, true);
      const unknown = await request("/v2/groups/nope", {
        method: "PATCH",
        json: { enforceRole: true },
      });
      assert.equal(unknown.status, 404);
    });

    await t.step("DELETE removes the group and all below it", async () => {
      assert.equal((await request("/v2/groups/shop", { method: "DELETE" })).status, 200);
      assert.equal((await request("/v2/groups/shop")).status, 404);
      assert.equal((await request("/v2/groups/shop/empty")).status, 404);
      assert.deepEqual(await store.listApps(), []);
      assert.deepEqual(await store.listGroups(), []);
    });
  });
});

Deno.test("a group's dependencies order its apps' deployment after the apps they name", async () => {
  await withApi(async ({ request }) => {
    const res = await request(
      "/v2/groups",
      post({
        id: "/p",
        groups: [
          { id: "web", dependencies: ["/p/db"], apps: [{ id: "w", cmd: "serve" }] },
          { id: "db", apps: [{ id: "pg", cmd: "postgres" }] },
        ],
      }),
    );
    assert.equal(res.status, 201);
    const [deployment] = await (await request("/v2/deployments")).json();
    assert.deepEqual(deployment.steps.slice(1), [
      { actions: [{ action: "ScaleApplication", app: "/p/db/pg" }] },
      { actions: [{ action: "ScaleApplication", app: "/p/web/w" }] },
    ]);
  });
});
