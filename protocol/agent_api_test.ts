import assert from "node:assert/strict";
import { AgentCallSchema, containerizersAttribute, runsImages } from "./agent_api.ts";

Deno.test("containerizersAttribute() names an agent's containerizers as one sorted TEXT attribute", () => {
  assert.deepEqual(containerizersAttribute(["process", "docker", "process"]), {
    name: "containerizers",
    type: "TEXT",
    text: { value: "docker,process" },
  });
});

Deno.test("runsImages() is true for docker, containerd and simulated agents, and for agents that do not say", () => {
  for (const kinds of [["docker", "process"], ["containerd"], ["simulated"]]) {
    assert.equal(runsImages([containerizersAttribute(kinds)]), true, kinds.join());
  }
  assert.equal(runsImages([containerizersAttribute(["process"])]), false);
  assert.equal(runsImages([{ name: "rack", type: "TEXT", text: { value: "r1" } }]), true);
});

Deno.test("AgentCallSchema reads a SUBSCRIBE's advertised address, which older agents omit", () => {
  const subscribe = (extra: object) =>
    AgentCallSchema.parse({
      type: "SUBSCRIBE",
      subscribe: { agent_info: { hostname: "n1", port: 5051, resources: [] }, ...extra },
    });
  const call = subscribe({ advertise_ip: "10.0.0.7" });
  assert.equal(call.type === "SUBSCRIBE" && call.subscribe.advertise_ip, "10.0.0.7");
  const old = subscribe({});
  assert.equal(old.type === "SUBSCRIBE" && old.subscribe.advertise_ip, undefined);
});
