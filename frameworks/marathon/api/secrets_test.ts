import assert from "node:assert/strict";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../../../security/mod.ts";
import { importSecretsKey } from "../secrets/secret_store.ts";
import { withApi } from "./testing.ts";

const VALUE = "pa55-w0rd-4e1c9";
const key = () => importSecretsKey("ab".repeat(32));

/** An app that uses the secret `/prod/db` as an env variable and as a file. */
const appUsing = (id: string, source = "/prod/db") => ({
  id,
  cmd: "sleep 100",
  cpus: 0.1,
  mem: 16,
  secrets: { db: { source } },
  env: { DB_PASSWORD: { secret: "db" } },
  container: { type: "MESOS", volumes: [{ containerPath: "pw", secret: "db" }] },
});

Deno.test("/v2/secrets stores, lists (paths only) and deletes secrets; no answer holds a value", async () => {
  await withApi(async ({ request }) => {
    const put = await request("/v2/secrets/prod/db", { method: "PUT", json: { value: VALUE } });
    assert.equal(put.status, 201);
    assert.deepEqual(await put.json(), { path: "/prod/db" });
    const again = await request("/v2/secrets/prod/db", { method: "PUT", json: { value: VALUE } });
    assert.equal(again.status, 200);
    await again.body?.cancel();
    const list = await request("/v2/secrets");
    const listText = await list.text();
    assert.deepEqual(JSON.parse(listText), {
      secrets: [{ path: "/prod/db", updatedAt: "2026-01-01T00:00:00.000Z" }],
    });
    const one = await request("/v2/secrets/prod/db");
    assert.deepEqual((await one.json()).usedBy, []);
    const bad = await request("/v2/secrets/prod/db", { method: "PUT", body: `{"value": ${VALUE}` });
    assert.equal(bad.status, 400);
    const badText = await bad.text();
    assert.ok(!badText.includes(VALUE), badText);
    const notText = await request("/v2/secrets/x", { method: "PUT", json: { value: 7 } });
    assert.equal(notText.status, 422);
    await notText.body?.cancel();
    const dots = await request("/v2/secrets/a%20b", { method: "PUT", json: { value: "v" } });
    assert.equal(dots.status, 400);
    await dots.body?.cancel();
    assert.ok(!listText.includes(VALUE));

    const gone = await request("/v2/secrets/prod/db", { method: "DELETE" });
    assert.equal(gone.status, 200);
    await gone.body?.cancel();
    const missing = await request("/v2/secrets/prod/db", { method: "DELETE" });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  }, { secretsKey: await key() });
});

Deno.test("an app using a secret that does not exist is a 422 at /secrets/db/source; one that exists is shown by reference only", async () => {
  await withApi(async ({ request }) => {
    const unknown = await request("/v2/apps", { method: "POST", json: appUsing("/prod/api") });
    assert.equal(unknown.status, 422);
    const body = await unknown.json();
    assert.equal(body.message, "Object is not valid");
    assert.deepEqual(body.details, [
      { path: "/secrets/db/source", errors: ["secret '/prod/db' does not exist"] },
    ]);

    const put = await request("/v2/secrets/prod/db", { method: "PUT", json: { value: VALUE } });
    await put.body?.cancel();
    const created = await request("/v2/apps", { method: "POST", json: appUsing("/prod/api") });
    assert.equal(created.status, 201, await created.clone().text());
    await created.body?.cancel();
    const apps = await (await request("/v2/apps?embed=apps.tasks")).text();
    assert.ok(apps.includes('"source":"/prod/db"'), apps);
    assert.ok(!apps.includes(VALUE) && !apps.includes(btoa(VALUE)), apps);

    // DC/OS's secret spaces: /prod/db is for apps below /prod only.
    const outside = await request("/v2/apps", { method: "POST", json: appUsing("/web/api") });
    assert.equal(outside.status, 422);
    assert.deepEqual((await outside.json()).details, [
      {
        path: "/secrets/db/source",
        errors: ["secret '/prod/db' may only be used by apps and pods below /prod"],
      },
    ]);

    const undeclared = await request("/v2/apps", {
      method: "POST",
      json: { ...appUsing("/prod/other"), secrets: {}, env: {} },
    });
    assert.equal(undeclared.status, 422);
    assert.deepEqual((await undeclared.json()).details, [
      {
        path: "/container/volumes(0)/secret",
        errors: ["references an undefined secret named 'db'"],
      },
    ]);

    const used = await request("/v2/secrets/prod/db", { method: "DELETE" });
    assert.equal(used.status, 409);
    assert.match((await used.json()).message, /is used by '\/prod\/api'/);
  }, { secretsKey: await key() });
});

Deno.test("without --secrets-key-file, /v2/secrets is a 503 and an app declaring secrets a 422 saying so", async () => {
  await withApi(async ({ request }) => {
    const put = await request("/v2/secrets/prod/db", { method: "PUT", json: { value: VALUE } });
    assert.equal(put.status, 503);
    assert.match((await put.json()).message, /--secrets-key-file/);
    const app = await request("/v2/apps", { method: "POST", json: appUsing("/prod/api") });
    assert.equal(app.status, 422);
    assert.deepEqual((await app.json()).details, [{
      path: "/secrets/db/source",
      errors: ["this Marathon keeps no secrets: start it with --secrets-key-file FILE"],
    }]);
  });
});

Deno.test("the secret routes ask view_secrets, create_secrets, update_secrets and delete_secrets per path", async () => {
  const credentials = parseCredentials(JSON.stringify({
    credentials: [{ principal: "ops", secret: "ops-pw" }, { principal: "web", secret: "web-pw" }],
  }));
  const rule = (principals: string[], paths: string[]) => ({
    principals: { values: principals },
    paths: { values: paths },
  });
  const acls = parseAcls(JSON.stringify({
    permissive: false,
    view_secrets: [rule(["ops"], ["/"]), rule(["web"], ["/web"])],
    create_secrets: [rule(["ops"], ["/"]), rule(["web"], ["/web"])],
    update_secrets: [rule(["ops"], ["/"])],
    delete_secrets: [rule(["ops"], ["/"])],
  }));
  const as = (p: string) => ({ Authorization: basicHeader(p, `${p}-pw`) });
  await withApi(async ({ request }) => {
    const mine = await request("/v2/secrets/web/token", {
      method: "PUT",
      json: { value: "v" },
      headers: as("web"),
    });
    assert.equal(mine.status, 201);
    await mine.body?.cancel();
    const theirs = await request("/v2/secrets/prod/db", {
      method: "PUT",
      json: { value: "v" },
      headers: as("web"),
    });
    assert.equal(theirs.status, 403);
    await theirs.body?.cancel();
    const ops = await request("/v2/secrets/prod/db", {
      method: "PUT",
      json: { value: "v" },
      headers: as("ops"),
    });
    assert.equal(ops.status, 201);
    await ops.body?.cancel();
    const probe = await request("/v2/secrets/prod/db", {
      method: "PUT",
      json: { value: "v" },
      headers: as("web"),
    });
    assert.equal(probe.status, 403);
    assert.match((await probe.json()).message, /create_secrets/, "not told the path is taken");
    const replace = await request("/v2/secrets/web/token", {
      method: "PUT",
      json: { value: "w" },
      headers: as("web"),
    });
    assert.equal(replace.status, 403, "web may create below /web, not update");
    await replace.body?.cancel();
    const listed = await (await request("/v2/secrets", { headers: as("web") })).json();
    assert.deepEqual(listed.secrets.map((s: { path: string }) => s.path), ["/web/token"]);
    const del = await request("/v2/secrets/web/token", { method: "DELETE", headers: as("web") });
    assert.equal(del.status, 403);
    await del.body?.cancel();
  }, { security: new ServerSecurity({ credentials, acls }), secretsKey: await key() });
});
