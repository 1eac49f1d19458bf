import assert from "node:assert/strict";
import { agentBases } from "./logs.ts";

Deno.test("agentBases() reaches an agent at the address in its pid first, then by hostname", () => {
  assert.deepEqual(agentBases({ hostname: "n1", port: 5051, pid: "slave(1)@10.0.0.7:5051" }), [
    "http://10.0.0.7:5051",
    "http://n1:5051",
  ]);
  assert.deepEqual(agentBases({ hostname: "n1", port: 5051, pid: "slave(1)@n1:5051" }), [
    "http://n1:5051",
  ]);
  assert.deepEqual(agentBases({ hostname: "n1", port: 5051 }), ["http://n1:5051"]);
});
