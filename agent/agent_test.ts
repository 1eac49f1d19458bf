import assert from "node:assert/strict";
import { Resources, SequentialIds, systemClock } from "../protocol/mod.ts";
import { FakeMaster, waitFor } from "../tests/support/fake_master.ts";
import { Agent } from "./agent.ts";
import { SimulatedContainerizer } from "./containerizer/simulated.ts";

Deno.test("Agent.start() retries recovery while the engine is away, then subscribes", async () => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/agent.kv`);
  const containerizer = new SimulatedContainerizer(systemClock);
  let failures = 2;
  const real = containerizer.recover.bind(containerizer);
  containerizer.recover = (known) => {
    if (failures-- > 0) return Promise.reject(new Error("Docker Engine unreachable"));
    return real(known);
  };
  const logs: string[] = [];
  const agent = new Agent(
    { kv, clock: systemClock, ids: new SequentialIds(), containerizer, log: (m) => logs.push(m) },
    {
      master: master.url,
      hostname: "a",
      port: 5051,
      advertiseIp: "127.0.0.1",
      workDir: dir,
      resources: Resources.parse("cpus:1;mem:128"),
      attributes: [],
    },
  );
  try {
    await agent.start();
    assert.equal(failures, -1, "recovery was tried three times");
    assert.equal(logs.filter((l) => l.startsWith("Recovery failed")).length, 2);
    await waitFor(() => agent.connected, { what: "the agent to subscribe" });
  } finally {
    await agent.stop();
    kv.close();
    await master.close();
    await Deno.remove(dir, { recursive: true });
  }
});
