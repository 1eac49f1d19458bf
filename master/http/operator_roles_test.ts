import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../../security/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { MasterRuntime } from "../runtime.ts";
import { MasterStore } from "../store/master_store.ts";
import { masterApp } from "./app.ts";
import { masterAuthentication } from "./auth.ts";
import { standbyApp } from "./standby_app.ts";

const CONN = { remoteAddr: { hostname: "127.0.0.1", port: 40000, transport: "tcp" } };
const OPS = basicHeader("ops", "s");
const VIEWER = basicHeader("viewer", "s");

async function withApp(body: (app: ReturnType<typeof masterApp>) => Promise<void>) {
  const security = new ServerSecurity({
    credentials: parseCredentials(JSON.stringify({
      credentials: [{ principal: "ops", secret: "s" }, { principal: "viewer", secret: "s" }],
    })),
    acls: parseAcls(JSON.stringify({
      permissive: false,
      update_quotas: [{ principals: { values: ["ops"] }, roles: { values: ["web", "db"] } }],
      view_quotas: [
        { principals: { values: ["ops"] }, roles: { type: "ANY" } },
        { principals: { values: ["viewer"] }, roles: { values: ["web"] } },
      ],
      update_weights: [{ principals: { values: ["ops"] }, roles: { type: "ANY" } }],
      view_roles: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
      update_maintenance_schedules: [{
        principals: { values: ["ops"] },
        machines: { type: "ANY" },
      }],
      get_maintenance_schedules: [{ principals: { type: "ANY" }, machines: { type: "ANY" } }],
    })),
  });
  const switches = { httpReadwrite: true };
  const kv = await DenoKvStore.open(":memory:");
  const runtime = await MasterRuntime.start(
    { store: new MasterStore(kv), clock: new FakeClock(), ids: new SequentialIds() },
    DEFAULT_MASTER_OPTIONS,
  );
  try {
    await body(masterApp(runtime, {
      middleware: [masterAuthentication(security, switches)],
      auth: { security, switches },
    }));
  } finally {
    await runtime.stop();
    kv.close();
  }
}

function call(
  app: ReturnType<typeof masterApp>,
  body: unknown,
  auth?: string,
  path = "/api/v1",
  method = "POST",
) {
  return Promise.resolve(app.request(path, {
    method,
    headers: { "Content-Type": "application/json", ...(auth ? { Authorization: auth } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }, CONN));
}

const quota = (role: string, cpus: number) => ({
  type: "UPDATE_QUOTA",
  update_quota: { force: true, quota_configs: [{ role, guarantees: { cpus }, limits: {} }] },
});

Deno.test("UPDATE_QUOTA needs credentials and update_quotas on the role; GET_QUOTA shows what view_quotas allows", async () => {
  await withApp(async (app) => {
    assert.equal((await call(app, quota("web", 1))).status, 401);
    const refused = await call(app, quota("other", 1), OPS);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /update_quotas/);
    assert.equal((await call(app, quota("web", 1), OPS)).status, 200);
    assert.equal((await call(app, quota("db", 2), OPS)).status, 200);
    const seen = await (await call(app, { type: "GET_QUOTA" }, VIEWER)).json();
    assert.deepEqual(seen.get_quota.status.configs.map((c: { role: string }) => c.role), ["web"]);
    const all = await (await call(app, { type: "GET_QUOTA" }, OPS)).json();
    assert.equal(all.get_quota.status.configs.length, 2);
  });
});

Deno.test("the legacy /quota, /weights and /maintenance endpoints read and write the same books", async () => {
  await withApp(async (app) => {
    const request = {
      role: "web",
      guarantee: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }],
      force: true,
    };
    assert.equal((await call(app, request, OPS, "/quota")).status, 200);
    const again = await call(app, request, OPS, "/quota");
    assert.equal(again.status, 400, "a role with quota already");
    assert.match(await again.text(), /already has quota/);
    const status = await (await call(app, undefined, OPS, "/master/quota", "GET")).json();
    assert.deepEqual(status.configs, [{
      role: "web",
      guarantees: { cpus: { value: 1 } },
      limits: { cpus: { value: 1 } },
    }]);
    assert.equal((await call(app, undefined, OPS, "/quota/web", "DELETE")).status, 200);
    assert.equal((await call(app, undefined, OPS, "/quota/web", "DELETE")).status, 400);

    assert.equal(
      (await call(app, [{ role: "web", weight: 2 }], OPS, "/weights", "PUT")).status,
      200,
    );
    assert.deepEqual(await (await call(app, undefined, VIEWER, "/weights", "GET")).json(), [
      { role: "web", weight: 2 },
    ]);
    const badWeight = await call(app, [{ role: "web", weight: -1 }], OPS, "/weights", "PUT");
    assert.equal(badWeight.status, 400);

    const schedule = {
      windows: [{
        machine_ids: [{ hostname: "h1", ip: "10.0.0.1" }],
        unavailability: { start: { nanoseconds: 1e15 } },
      }],
    };
    const denied = await call(app, schedule, VIEWER, "/maintenance/schedule");
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /update_maintenance_schedules/);
    assert.equal((await call(app, schedule, OPS, "/maintenance/schedule")).status, 200);
    assert.deepEqual(
      await (await call(app, undefined, VIEWER, "/maintenance/schedule", "GET")).json(),
      schedule,
    );
    const badIp = await call(
      app,
      {
        windows: [{ machine_ids: [{ ip: "nope" }], unavailability: { start: { nanoseconds: 1 } } }],
      },
      OPS,
      "/maintenance/schedule",
    );
    assert.equal(badIp.status, 400);
    assert.match(await badIp.text(), /machine_ids\[0\]\.ip/);
    // Refused by the ACLs (non-permissive, no rule): START_MAINTENANCE.
    const down = await call(app, [{ hostname: "h1", ip: "10.0.0.1" }], OPS, "/machine/down");
    assert.equal(down.status, 403);
    assert.match(await down.text(), /start_maintenances/);
  });
});

Deno.test("a standby master sends the legacy quota, weights and maintenance endpoints to the leader", async () => {
  const app = standbyApp({
    self: "http://127.0.0.1:5050",
    leader: () => "http://127.0.0.1:5051",
    trouble: () => undefined,
    startTime: 0,
  });
  for (
    const [method, path] of [
      ["GET", "/quota"],
      ["DELETE", "/master/quota/web"],
      ["PUT", "/weights"],
      ["POST", "/maintenance/schedule"],
      ["POST", "/machine/down"],
    ] as const
  ) {
    const res = await app.request(path, { method });
    assert.equal(res.status, 307, `${method} ${path}`);
    assert.equal(res.headers.get("Location"), `http://127.0.0.1:5051${path}`);
  }
});
