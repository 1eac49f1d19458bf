import assert from "node:assert/strict";
import { checkApp, parseApp } from "./parse.ts";
import { reservedDisk, residentViolations } from "./resident.ts";

const resident = (extra: Record<string, unknown> = {}, volume: Record<string, unknown> = {}) => ({
  id: "/pg",
  cmd: "serve",
  disk: 5,
  container: {
    type: "MESOS",
    volumes: [{ containerPath: "data", mode: "RW", persistent: { size: 100, ...volume } }],
  },
  ...extra,
});

function violations(raw: unknown) {
  const r = checkApp(raw);
  return r.ok ? [] : r.details;
}

Deno.test("a resident app gets Marathon's strategies, residency and the disk it reserves", () => {
  const app = parseApp(resident());
  assert.deepEqual(app.upgradeStrategy, { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 });
  assert.equal(app.unreachableStrategy, "disabled");
  assert.deepEqual(app.residency, {
    relaunchEscalationTimeoutSeconds: 3600,
    taskLostBehavior: "WAIT_FOREVER",
  });
  assert.equal(reservedDisk(app), 105);
});

Deno.test("validateApp() holds resident apps to Marathon's upgrade and unreachable rules", () => {
  assert.deepEqual(
    violations(
      resident({ upgradeStrategy: { minimumHealthCapacity: 0.8, maximumOverCapacity: 1 } }),
    ),
    [
      { path: "/upgradeStrategy/minimumHealthCapacity", errors: ["got 0.8, expected 0.5 or less"] },
      { path: "/upgradeStrategy/maximumOverCapacity", errors: ["got 1.0, expected 0.0"] },
    ],
  );
  assert.deepEqual(violations(resident({ unreachableStrategy: { inactiveAfterSeconds: 0 } })), [
    {
      path: "/unreachableStrategy",
      errors: ["unreachableStrategy must be disabled for resident apps"],
    },
  ]);
  assert.deepEqual(
    violations(resident({ upgradeStrategy: { minimumHealthCapacity: 0, maximumOverCapacity: 0 } })),
    [],
  );
});

Deno.test("validateApp() refuses persistent volumes Tender cannot give, naming the field", () => {
  const at = (volume: Record<string, unknown>, more: Record<string, unknown> = {}) =>
    violations({
      ...resident(),
      container: {
        type: "MESOS",
        volumes: [{
          containerPath: "data",
          mode: "RW",
          ...more,
          persistent: { size: 100, ...volume },
        }],
      },
    });
  const mount = at({ type: "mount" });
  assert.equal(mount[0]?.path, "/container/volumes(0)/persistent/type");
  assert.match(mount[0]!.errors[0]!, /only "root" persistent volumes are supported, not "mount"/);
  assert.equal(at({ type: "path" })[0]?.path, "/container/volumes(0)/persistent/type");
  assert.deepEqual(at({ maxSize: 200 })[0], {
    path: "/container/volumes(0)/persistent/maxSize",
    errors: ["Only mount volumes can have maxSize"],
  });
  assert.deepEqual(at({ constraints: [["path", "LIKE", "/mnt/.*"]] })[0], {
    path: "/container/volumes(0)/persistent/constraints",
    errors: ["Constraints on root volumes are not supported"],
  });
  assert.equal(
    at({ profileName: "fast" })[0]?.path,
    "/container/volumes(0)/persistent/profileName",
  );
  assert.deepEqual(at({ size: 0 })[0], {
    path: "/container/volumes(0)/persistent/size",
    errors: ["got 0, expected more than 0"],
  });
  assert.deepEqual(at({}, { mode: "RO" })[0], {
    path: "/container/volumes(0)/mode",
    errors: ["must be RW"],
  });
  assert.deepEqual(at({}, { containerPath: "var/data" })[0], {
    path: "/container/volumes(0)/containerPath",
    errors: ['value must not contain "/"'],
  });
});

Deno.test("residentViolations() needs a role other than * and Marathon's own", () => {
  const app = parseApp(resident());
  assert.deepEqual(residentViolations(app, { role: "*" }), [
    { path: "/role", errors: ["Resident apps cannot have the role *"] },
  ]);
  assert.deepEqual(residentViolations(app, { role: "ads" }), []);
  assert.equal(residentViolations({ ...app, role: "other" }, { role: "ads" })[0]?.path, "/role");
  const plain = parseApp({ id: "/web", cmd: "serve" });
  assert.deepEqual(residentViolations(plain, { role: "*" }), []);
});

Deno.test("residentViolations() keeps a resident app's volumes and resources as they were", () => {
  const app = parseApp(resident());
  const ctx = { role: "ads", previous: app };
  assert.deepEqual(residentViolations({ ...app, instances: 3, env: { A: "1" } }, ctx), []);
  assert.deepEqual(residentViolations({ ...app, mem: 256 }, ctx), [
    { path: "/", errors: ["Resident Tasks may not change resource requirements!"] },
  ]);
  const bigger = parseApp(resident({}, { size: 200 }));
  assert.deepEqual(residentViolations(bigger, ctx), [
    { path: "/", errors: ["Persistent volumes can not be changed!"] },
  ]);
  // Adding a volume to a running app is a change of its volumes too.
  const before = parseApp({ id: "/pg", cmd: "serve", disk: 5 });
  assert.deepEqual(residentViolations(app, { role: "ads", previous: before }), [
    { path: "/", errors: ["Persistent volumes can not be changed!"] },
  ]);
});
