import assert from "node:assert/strict";
import { Resources } from "../protocol/mod.ts";
import {
  agentResources,
  defaultResources,
  mergeResources,
  parseAttributes,
  parseDf,
  parseMeminfo,
} from "./resources_detect.ts";

const GIB = 1024 ** 3;

Deno.test("defaultResources() follows Mesos: mem - 1 GiB, disk - 5 GiB, ports 31000-32000", () => {
  const r = defaultResources({ cpus: 4, memBytes: 8 * GIB, diskBytes: 100 * GIB });
  assert.equal(r.toString(), "cpus:4;disk:97280;mem:7168;ports:[31000-32000]");
});

Deno.test("defaultResources() halves small memory and disk and falls back when unknown", () => {
  assert.equal(
    defaultResources({ cpus: 1, memBytes: GIB, diskBytes: 4 * GIB }).toString(),
    "cpus:1;disk:2048;mem:512;ports:[31000-32000]",
  );
  assert.equal(
    defaultResources({ cpus: 0 }).toString(),
    "cpus:1;disk:10240;mem:1024;ports:[31000-32000]",
  );
});

Deno.test("mergeResources() lets the flag replace detected resources per name", () => {
  const detected = defaultResources({ cpus: 8, memBytes: 8 * GIB, diskBytes: 100 * GIB });
  const merged = mergeResources(detected, Resources.parse("cpus:2;ports:[31000-31100];gpus:1"));
  assert.equal(merged.scalar("cpus"), 2);
  assert.equal(merged.scalar("mem"), 7168);
  assert.equal(merged.scalar("gpus"), 1);
  assert.deepEqual(merged.ranges("ports"), [{ begin: 31000, end: 31100 }]);
});

Deno.test("parseMeminfo() and parseDf() read the host's numbers", () => {
  assert.equal(parseMeminfo("MemTotal:       16384000 kB\nMemFree: 1 kB\n"), 16384000 * 1024);
  assert.equal(parseMeminfo("nothing"), undefined);
  const df =
    "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 1000 10 990 1% /\n";
  assert.equal(parseDf(df), 1000 * 1024);
  assert.equal(parseDf(""), undefined);
});

Deno.test("agentResources() detects this host and applies the flag", async () => {
  const r = await agentResources(Deno.cwd(), "mem:512");
  assert.equal(r.scalar("cpus"), navigator.hardwareConcurrency);
  assert.equal(r.scalar("mem"), 512);
  assert.ok(r.scalar("disk") > 0);
  assert.deepEqual(r.ranges("ports"), [{ begin: 31000, end: 32000 }]);
});

Deno.test("parseAttributes() reads TEXT, SCALAR and RANGES", () => {
  assert.deepEqual(parseAttributes("rack:r1;zone:a;level:10;keys:[1000-1500]"), [
    { name: "rack", type: "TEXT", text: { value: "r1" } },
    { name: "zone", type: "TEXT", text: { value: "a" } },
    { name: "level", type: "SCALAR", scalar: { value: 10 } },
    { name: "keys", type: "RANGES", ranges: { range: [{ begin: 1000, end: 1500 }] } },
  ]);
  assert.deepEqual(parseAttributes(""), []);
  assert.throws(() => parseAttributes("rack"), /invalid attribute "rack"/);
});
