import assert from "node:assert/strict";
import { parseAgentFlags, parseDuration } from "./flags.ts";

Deno.test("parseAgentFlags() reads every flag", () => {
  const o = parseAgentFlags([
    "--master",
    "127.0.0.1:5050",
    "--port=5052",
    "--hostname",
    "n2",
    "--work-dir",
    "/tmp/a",
    "--resources",
    "cpus:2;mem:1024",
    "--attributes",
    "rack:r1",
    "--containerizer",
    "process",
    "--kill-grace",
    "3s",
    "--status-update-retry-ms",
    "500",
    "--advertise-ip",
    "10.0.0.2",
    "--publish-ip",
    "0.0.0.0",
    "--cgroups-enable-cfs",
    "--gc-delay",
    "2d",
  ]);
  assert.equal(o.master, "http://127.0.0.1:5050");
  assert.equal(o.port, 5052);
  assert.equal(o.hostname, "n2");
  assert.equal(o.workDir, "/tmp/a");
  assert.equal(o.resources, "cpus:2;mem:1024");
  assert.equal(o.attributes, "rack:r1");
  assert.equal(o.containerizer, "process");
  assert.equal(o.killGraceMs, 3000);
  assert.equal(o.gcDelayMs, 172_800_000);
  assert.equal(o.statusUpdateRetryMs, 500);
  assert.equal(o.advertiseIp, "10.0.0.2");
  assert.equal(o.publishIp, "0.0.0.0");
  assert.equal(o.cgroupsEnableCfs, true);
  assert.equal(o.switchUser, true, "tasks run as their user unless --no-switch-user");
  assert.equal(parseAgentFlags(["--master", "m:5050", "--no-switch-user"]).switchUser, false);
});

Deno.test("parseAgentFlags() defaults the port and rejects bad flags", () => {
  assert.equal(parseAgentFlags(["--master", "http://m:5050"]).port, 5051);
  assert.throws(() => parseAgentFlags([]), /--master is required/);
  assert.throws(
    () => parseAgentFlags(["--master", "m", "--containerizer", "lxc"]),
    /--containerizer "lxc"/,
  );
  assert.throws(() => parseAgentFlags(["--master", "m", "--port", "70000"]), /--port/);
  assert.throws(() => parseAgentFlags(["--master", "m", "--bogus"]));
});

Deno.test("parseAgentFlags() takes a list of masters and names a bad entry", () => {
  assert.equal(
    parseAgentFlags(["--master", "m1:5050, http://m2:5050/"]).master,
    "http://m1:5050,http://m2:5050",
  );
  assert.throws(
    () => parseAgentFlags(["--master", "m1:5050,ftp://m2"]),
    /invalid --master: Invalid master "ftp:\/\/m2" in "m1:5050,ftp:\/\/m2"/,
  );
});

Deno.test("parseAgentFlags() reads the fetcher's cache size, size limit and timeout", () => {
  const o = parseAgentFlags([
    "--master",
    "m:5050",
    "--fetcher-cache-size",
    "512MB",
    "--fetcher-max-size",
    "1g",
    "--fetcher-timeout",
    "2m",
  ]);
  assert.equal(o.fetcherCacheBytes, 512 * 2 ** 20);
  assert.equal(o.fetcherMaxBytes, 2 ** 30);
  assert.equal(o.fetcherTimeoutMs, 120_000);
  assert.throws(
    () => parseAgentFlags(["--master", "m:5050", "--fetcher-cache-size", "big"]),
    /invalid --fetcher-cache-size "big"/,
  );
});

Deno.test("parseDuration() reads ms, s, m, h, d, w and bare seconds", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("1w"), 604_800_000);
  assert.equal(parseDuration("1.5"), 1500);
  assert.throws(() => parseDuration("soon"), /invalid duration "soon"/);
});
