import assert from "node:assert/strict";
import { TenderError } from "../../../base/mod.ts";
import { checkApp, decodeBody, parseApp, readStoredApp } from "./parse.ts";
import { parseGroup } from "./group.ts";
import { taskName } from "./path_id.ts";

function violations(raw: unknown): Record<string, string[]> {
  const r = checkApp(raw);
  assert.equal(r.ok, false, "expected a rejection");
  if (r.ok) return {};
  return Object.fromEntries(r.details.map((d) => [d.path, d.errors]));
}

Deno.test("parseApp() fills Marathon's defaults", () => {
  const app = parseApp({ id: "web", cmd: "sleep 100" });
  assert.equal(app.id, "/web");
  assert.equal(app.cpus, 1);
  assert.equal(app.mem, 128);
  assert.equal(app.disk, 0);
  assert.equal(app.gpus, 0);
  assert.equal(app.instances, 1);
  assert.equal(app.backoffSeconds, 1);
  assert.equal(app.backoffFactor, 1.15);
  assert.equal(app.maxLaunchDelaySeconds, 300);
  assert.equal(app.killSelection, "YOUNGEST_FIRST");
  assert.equal(app.requirePorts, false);
  assert.deepEqual(app.upgradeStrategy, { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
  assert.deepEqual(app.unreachableStrategy, { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 });
  assert.deepEqual(app.networks, [{ mode: "host", labels: {} }]);
  assert.deepEqual(app.portDefinitions, [{
    port: 0,
    name: "default",
    protocol: "tcp",
    labels: {},
  }]);
});

Deno.test("parseApp() keeps an explicit empty portDefinitions and ignores unknown fields", () => {
  const app = parseApp({ id: "/a", cmd: "sleep 1", portDefinitions: [], bogus: { x: 1 } });
  assert.deepEqual(app.portDefinitions, []);
  assert.equal("bogus" in app, false);
});

Deno.test("parseApp() translates legacy ports, uris and docker network", () => {
  const app = parseApp({
    id: "/x/y",
    cmd: "run it",
    ports: [0, 8080],
    uris: ["http://h/a.tgz", "http://h/b.sh"],
  });
  assert.deepEqual(app.portDefinitions.map((p) => p.port), [0, 8080]);
  assert.deepEqual(app.fetch.map((f) => f.extract), [true, false]);
  const bridge = parseApp({
    id: "b",
    container: {
      type: "DOCKER",
      docker: { image: "nginx", network: "BRIDGE", portMappings: [{ containerPort: 80 }] },
    },
  });
  assert.deepEqual(bridge.networks, [{ mode: "container/bridge", labels: {} }]);
  assert.equal(bridge.container?.portMappings[0]?.hostPort, 0);
  assert.equal(bridge.container?.portMappings[0]?.containerPort, 80);
  assert.deepEqual(bridge.portDefinitions, []);
  assert.equal(bridge.healthChecks.length, 0);
});

Deno.test("parseApp() defaults a health check's portIndex to 0 when the app has ports", () => {
  const app = parseApp({ id: "h", cmd: "serve", healthChecks: [{ protocol: "TCP" }] });
  assert.equal(app.healthChecks[0]?.portIndex, 0);
  assert.equal(app.healthChecks[0]?.gracePeriodSeconds, 300);
});

Deno.test("parseApp() resolves relative ids and dependencies", () => {
  const app = parseApp({ id: "../b/c", cmd: "ab", dependencies: ["../db", "/x"] }, {
    base: "/p/q",
  });
  assert.equal(app.id, "/p/b/c");
  assert.deepEqual(app.dependencies, ["/p/db", "/x"]);
  assert.equal(taskName(app.id), "c.b.p");
});

Deno.test("checkApp() rejects ids Marathon rejects", () => {
  assert.ok(
    violations({ id: "/", cmd: "ab" })["/id"]?.includes(
      "Path must contain at least one path element",
    ),
  );
  assert.ok(violations({ id: "/Web", cmd: "ab" })["/id"]?.[0]?.startsWith("must fully match"));
  assert.ok(violations({ id: "/a_b", cmd: "ab" })["/id"]);
  assert.ok(violations({ id: "/a/versions", cmd: "ab" })["/id"]?.[0]?.includes("reserved"));
  assert.equal(checkApp({ id: "/a-1/b.c-2", cmd: "ab" }).ok, true);
});

Deno.test("checkApp() takes a user name as the app's user, nothing else", () => {
  assert.equal(checkApp({ id: "/a", cmd: "ab", user: "nobody" }).ok, true);
  for (const user of ["../root", "-u0", "a b", "root\u0000", ""]) {
    assert.deepEqual(violations({ id: "/a", cmd: "ab", user })["/user"], [
      "must be a user name: letters, digits, '_', '.', '-'",
    ], user);
  }
});

Deno.test("checkApp() reports wrong types as Marathon's Invalid JSON", () => {
  const r = checkApp({ id: "a", cmd: "ab", instances: "2", killSelection: "RANDOM" });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.message, "Invalid JSON");
  assert.deepEqual(r.details, [
    { path: "/instances", errors: ["error.expected.jsnumber"] },
    { path: "/killSelection", errors: ["error.unknown.enum.literal"] },
  ]);
  const missing = checkApp({ cmd: "ab" });
  assert.ok(!missing.ok && missing.details[0]?.errors[0] === "error.path.missing");
  const float = checkApp({ id: "a", cmd: "ab", instances: 0.1 });
  assert.ok(!float.ok && float.details[0]?.path === "/instances");
});

Deno.test("checkApp() enforces value rules with Marathon's paths", () => {
  assert.deepEqual(violations({ id: "a", cmd: "ab", instances: -1 })["/instances"], [
    "got -1, expected 0 or more",
  ]);
  assert.deepEqual(
    violations({
      id: "a",
      cmd: "ab",
      upgradeStrategy: { minimumHealthCapacity: 1.5, maximumOverCapacity: 0 },
    })[
      "/upgradeStrategy/minimumHealthCapacity"
    ],
    ["is greater than 1"],
  );
  assert.ok(violations({ id: "a" })["/"]?.[0]?.startsWith("AppDefinition must either contain"));
  assert.ok(violations({ id: "a", cmd: "x y", args: ["z"] })["/"]);
  assert.ok(
    violations({ id: "a", cmd: "ab", healthChecks: [{ protocol: "HTTP", portIndex: 3 }] })[
      "/healthChecks(0)"
    ]?.[0]?.startsWith("Health check port indices"),
  );
  assert.ok(
    violations({
      id: "a",
      cmd: "ab",
      portDefinitions: [{ port: 80, name: "web" }, { port: 80, name: "web" }],
    })["/portDefinitions"]?.length === 2,
  );
  assert.ok(
    violations({
      id: "a",
      cmd: "ab",
      unreachableStrategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 5 },
    })["/unreachableStrategy"],
  );
  assert.ok(
    violations({
      id: "a",
      cmd: "ab",
      healthChecks: [{ protocol: "MESOS_TCP" }, {
        protocol: "COMMAND",
        command: { value: "true" },
      }],
    })["/"]?.includes("AppDefinition can contain at most one Mesos health check"),
  );
  assert.ok(violations({ id: "a", container: { type: "DOCKER" } })["/container/docker"]);
  assert.ok(
    violations({ id: "a", cmd: "ab", networks: [{ mode: "container" }] })["/networks(0)/name"],
  );
  assert.ok(
    violations({
      id: "a",
      cmd: "ab",
      readinessChecks: [{ portName: "nope" }],
    })["/readinessChecks(0)"],
  );
  assert.ok(
    violations({
      id: "a",
      cmd: "ab",
      labels: { MARATHON_SINGLE_INSTANCE_APP: "true" },
      instances: 2,
    })["/"],
  );
  assert.ok(
    violations({ id: "a", cmd: "ab", uris: ["http://a"], fetch: [{ uri: "http://b" }] })["/"],
  );
});

Deno.test("checkApp() validates constraint operators and values", () => {
  const bad: [unknown[], string][] = [
    [["hostname", "UNIQUE", "x"], "UNIQUE does not accept a value"],
    [["rack", "GROUP_BY", "abc"], "GROUP BY must define an integer value or else no value at all"],
    [["rack", "LIKE"], "LIKE and UNLIKE require a non-empty, regular expression value"],
    [["rack", "UNLIKE", "("], "'(' is not a valid regular expression"],
    [["rack", "MAX_PER", "x"], "MAX_PER requires an integer value"],
    [["rack", "IS", "a b"], "IS only supports Mesos text and float values"],
    [["rack", "SOMETIMES"], "operator must be one of the following"],
    [["rack"], "Each constraint must have either 2 or 3 fields"],
  ];
  for (const [c, message] of bad) {
    const errs = violations({ id: "a", cmd: "ab", constraints: [c] })["/constraints(0)"];
    assert.ok(errs?.[0]?.startsWith(message), `${JSON.stringify(c)}: ${errs}`);
  }
  const ok = checkApp({
    id: "a",
    cmd: "ab",
    constraints: [["hostname", "unique"], ["rack", "CLUSTER", "r1"], ["rack", "GROUP_BY"], [
      "rack",
      "MAX_PER",
      "2",
    ], ["zone", "IS", "eu-1.a"]],
  });
  assert.ok(ok.ok);
});

Deno.test("parseApp() throws a TenderError 422 with Marathon's body", () => {
  assert.throws(() => parseApp({ id: "a", cmd: "ab", instances: -2 }), (e: unknown) => {
    assert.ok(e instanceof TenderError);
    assert.equal(e.status, 422);
    assert.equal(e.message, "Object is not valid");
    assert.deepEqual(e.details, [{ path: "/instances", errors: ["got -2, expected 0 or more"] }]);
    return true;
  });
});

Deno.test("decodeBody() reads JSON and YAML, and answers 400 for junk", () => {
  const yaml = decodeBody("id: web\ncmd: sleep 10\ninstances: 3\n", "application/yaml");
  assert.equal(parseApp(yaml).instances, 3);
  assert.deepEqual(decodeBody('{"id":"a"}'), { id: "a" });
  assert.throws(
    () => decodeBody("{nope"),
    (e: unknown) => e instanceof TenderError && e.status === 400,
  );
  assert.throws(() => decodeBody(""), (e: unknown) => e instanceof TenderError && e.status === 400);
});

Deno.test("readStoredApp() re-reads a canonical app unchanged", () => {
  for (
    const raw of [
      { id: "a", cmd: "ab", ports: [0], healthChecks: [{}] },
      { id: "b", container: { docker: { image: "x", network: "BRIDGE" } }, uris: ["http://a.zip"] },
      {
        id: "c",
        cmd: "ab",
        container: { docker: { image: "x" } },
        networks: [{ mode: "container", name: "dcos" }],
      },
    ]
  ) {
    const app = parseApp(raw);
    assert.deepEqual(readStoredApp(JSON.parse(JSON.stringify(app))), app);
  }
});

Deno.test("parseGroup() resolves nested ids and rejects apps outside the group", () => {
  const g = parseGroup({
    id: "/g",
    apps: [{ id: "a", cmd: "ab" }],
    groups: [{ id: "sub", apps: [{ id: "b", cmd: "ab" }] }],
  });
  assert.equal(g.apps[0]?.id, "/g/a");
  assert.equal(g.groups[0]?.apps[0]?.id, "/g/sub/b");
  assert.throws(
    () => parseGroup({ id: "/g", apps: [{ id: "/other/a", cmd: "ab" }] }),
    (e: unknown) => {
      assert.ok(e instanceof TenderError);
      assert.deepEqual(e.details, [{
        path: "/apps(0)/id",
        errors: ["Identifier is not child of '/g'"],
      }]);
      return true;
    },
  );
});
