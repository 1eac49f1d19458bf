import assert from "node:assert/strict";
import { systemClock } from "../../base/mod.ts";
import { CompositeContainerizer } from "./composite.ts";
import { containerizerConformance } from "./conformance.ts";
import type { ContainerSpec } from "./containerizer.ts";
import { ProcessContainerizer } from "./process.ts";
import { SimulatedContainerizer } from "./simulated.ts";

// Command tasks take the process path, so the whole suite holds for the composite too.
containerizerConformance(
  "composite (simulated docker + process)",
  (workDir) =>
    new CompositeContainerizer({
      docker: new SimulatedContainerizer(systemClock),
      process: new ProcessContainerizer({ workDir }),
    }),
);

Deno.test("CompositeContainerizer.launch() sends DOCKER tasks to docker and commands to process", async () => {
  const workDir = await Deno.makeTempDir();
  const docker = new SimulatedContainerizer(systemClock);
  const process = new ProcessContainerizer({ workDir });
  const c = new CompositeContainerizer({ docker, process });
  const base: ContainerSpec = {
    agentId: "a",
    frameworkId: "f",
    taskId: "t",
    limits: { cpus: 0.1, memMb: 32, diskMb: 0 },
    ports: [],
    env: {},
    hostIp: "127.0.0.1",
    sandbox: workDir,
  };
  try {
    await c.launch("in-docker", {
      ...base,
      command: { value: "sleep 60" },
      container: { type: "DOCKER", docker: { image: "tender-busybox:latest" } },
    });
    await c.launch("as-process", { ...base, command: { value: "sleep 60" } });
    assert.equal(c.kind, "simulated+process");
    assert.equal((await docker.recover(new Set())).map((r) => r.id).includes("in-docker"), true);
    assert.equal((await process.recover(new Set())).map((r) => r.id).includes("as-process"), true);
    assert.equal((await c.destroy("as-process", 100))?.reason, "killed");
    assert.equal((await c.destroy("in-docker", 100))?.reason, "killed");
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});
