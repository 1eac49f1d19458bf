import assert from "node:assert/strict";
import { TenderError } from "../../../base/mod.ts";
import { parseApp } from "../app/parse.ts";
import { ServicePortAllocator } from "./service_ports.ts";

Deno.test("ServicePortAllocator.assign() gives zeros the lowest free ports in 10000-20000", () => {
  const alloc = new ServicePortAllocator();
  const app = parseApp({ id: "a", cmd: "serve", portDefinitions: [{ port: 0 }, { port: 0 }] });
  const out = alloc.assign(app, { used: new Set([10000, 10002]) });
  assert.deepEqual(ServicePortAllocator.portsOf(out), [10001, 10003]);
});

Deno.test("ServicePortAllocator.assign() keeps user ports and reuses previous ones", () => {
  const alloc = new ServicePortAllocator();
  const bridge = parseApp({
    id: "b",
    container: {
      docker: {
        image: "x",
        network: "BRIDGE",
        portMappings: [{ containerPort: 80 }, { containerPort: 81, servicePort: 10500 }],
      },
    },
  });
  const first = alloc.assign(bridge, { used: new Set() });
  assert.deepEqual(ServicePortAllocator.portsOf(first), [10000, 10500]);
  const other = parseApp({ id: "c", cmd: "serve" });
  const c = alloc.assign(other, { used: new Set([10000, 10500]) });
  assert.deepEqual(ServicePortAllocator.portsOf(c), [10001]);
  const again = alloc.assign(bridge, { used: new Set([10001]), previous: first });
  assert.deepEqual(ServicePortAllocator.portsOf(again), [10000, 10500], "stable across upgrades");
});

Deno.test("ServicePortAllocator.assign() fails when the range is exhausted", () => {
  const alloc = new ServicePortAllocator({ min: 100, max: 101 });
  const app = parseApp({ id: "a", cmd: "serve", portDefinitions: [{ port: 0 }, { port: 0 }] });
  assert.throws(
    () => alloc.assign(app, { used: new Set([100]) }),
    (e: unknown) => e instanceof TenderError && e.message.includes("All ports in the range"),
  );
});
