import assert from "node:assert/strict";
import { parameterReach, parseDockerParameters, parseSize } from "./docker_parameters.ts";

Deno.test("parseDockerParameters() reads the docker run options real app files use", () => {
  const parsed = parseDockerParameters([
    { key: "label", value: "team=web" },
    { key: "env", value: "MODE=prod" },
    { key: "hostname", value: "web-1" },
    { key: "shm-size", value: "64m" },
    { key: "ulimit", value: "nofile=1024:2048" },
    { key: "cap-drop", value: "NET_RAW" },
    { key: "add-host", value: "db:10.0.0.5" },
    { key: "log-opt", value: "max-size=10m" },
    { key: "tmpfs", value: "/run:size=1m" },
    { key: "read-only", value: "true" },
    { key: "--init", value: "" },
    { key: "v", value: "/srv/data:/data:ro" },
  ]);
  assert.ok(parsed.ok);
  const o = parsed.options;
  assert.deepEqual(o.labels, { team: "web" });
  assert.deepEqual(o.env, ["MODE=prod"]);
  assert.equal(o.hostname, "web-1");
  assert.equal(o.shmSize, 64 * 2 ** 20);
  assert.deepEqual(o.ulimits, [{ Name: "nofile", Soft: 1024, Hard: 2048 }]);
  assert.deepEqual(o.capDrop, ["NET_RAW"]);
  assert.deepEqual(o.extraHosts, ["db:10.0.0.5"]);
  assert.deepEqual(o.logOptions, { "max-size": "10m" });
  assert.deepEqual(o.tmpfs, { "/run": "size=1m" });
  assert.equal(o.readOnly, true);
  assert.equal(o.init, true);
  assert.deepEqual(o.binds, ["/srv/data:/data:ro"]);
});

Deno.test("parseDockerParameters() refuses an unknown key, a bad value and Tender's own labels, by index", () => {
  const unknown = parseDockerParameters([{ key: "env", value: "A=1" }, {
    key: "oom-kill-disable",
    value: "true",
  }]);
  assert.ok(!unknown.ok);
  assert.equal(unknown.refusal.index, 1);
  assert.equal(unknown.refusal.field, "key");
  assert.match(
    unknown.refusal.reason,
    /not a docker parameter Tender supports \(supported: label, env/,
  );
  const elsewhere = parseDockerParameters([{ key: "memory", value: "1g" }]);
  assert.ok(!elsewhere.ok);
  assert.match(elsewhere.refusal.reason, /the task's `mem`/);
  const bad = parseDockerParameters([{ key: "shm-size", value: "lots" }]);
  assert.ok(!bad.ok);
  assert.equal(bad.refusal.field, "value");
  const ours = parseDockerParameters([{ key: "label", value: "tender.owner=me" }]);
  assert.ok(!ours.ok);
  const named = parseDockerParameters([{ key: "volume", value: "data:/data" }]);
  assert.ok(!named.ok);
  assert.match(named.refusal.reason, /named Docker volumes are not supported/);
});

Deno.test("parameterReach() marks what reaches past the container", () => {
  assert.deepEqual(
    parameterReach([{ key: "label", value: "a=b" }, { key: "ipc", value: "private" }]),
    {
      privileged: false,
      hostPaths: [],
    },
  );
  assert.equal(parameterReach([{ key: "cap-add", value: "NET_ADMIN" }]).privileged, true);
  assert.equal(parameterReach([{ key: "pid", value: "host" }]).privileged, true);
  assert.equal(parameterReach([{ key: "privileged", value: "false" }]).privileged, false);
  assert.equal(
    parameterReach([{ key: "security-opt", value: "no-new-privileges" }]).privileged,
    false,
  );
  assert.equal(
    parameterReach([{ key: "security-opt", value: "seccomp=unconfined" }]).privileged,
    true,
  );
  assert.deepEqual(parameterReach([{ key: "volume", value: "/etc:/x" }]).hostPaths, ["/etc"]);
});

Deno.test("parseSize() reads Docker's sizes", () => {
  assert.equal(parseSize("1g"), 2 ** 30);
  assert.equal(parseSize("512M"), 512 * 2 ** 20);
  assert.equal(parseSize("1024"), 1024);
  assert.equal(parseSize("1.5kb"), 1536);
  assert.equal(parseSize("x"), undefined);
});
