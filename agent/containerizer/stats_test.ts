import assert from "node:assert/strict";
import { parseProcStat } from "./proc.ts";
import { ProcessContainerizer } from "./process.ts";

Deno.test("parseProcStat() reads CPU ticks and RSS, whatever the command name holds", () => {
  const line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 " +
    "250 50 10 5 20 0 1 0 123456 1000000 300 18446744073709551615";
  assert.deepEqual(parseProcStat(line), {
    pid: 4242,
    state: "S",
    pgrp: 4242,
    startTime: 123456,
    utime: 250,
    stime: 50,
    cutime: 10,
    cstime: 5,
    rss: 300,
  });
});

Deno.test("ProcessContainerizer.stats() counts the CPU a task's process group burns", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "stats-test-" });
  const c = new ProcessContainerizer({ workDir, pollMs: 100 });
  const id = "busy";
  try {
    const sandbox = `${workDir}/sandboxes/${id}`;
    await Deno.mkdir(sandbox, { recursive: true });
    await c.launch(id, {
      agentId: "a",
      frameworkId: "f",
      taskId: "t",
      // A child of the shell spins: the group's time counts it.
      command: { shell: true, value: "sh -c 'while :; do :; done' & sleep 60" },
      limits: { cpus: 1, memMb: 64, diskMb: 0 },
      ports: [],
      env: {},
      hostIp: "127.0.0.1",
      sandbox,
    });
    await new Promise((r) => setTimeout(r, 1_200));
    const stats = await c.stats(id);
    assert.ok(stats, "a running container has statistics");
    const cpu = stats.cpuUserSeconds + stats.cpuSystemSeconds;
    assert.ok(cpu > 0.3 && cpu < 5, `spent ${cpu} s of CPU in ~1.2 s`);
    assert.ok((stats.memRssBytes ?? 0) > 0);
    assert.equal(await c.stats("unknown"), undefined);
  } finally {
    await c.destroy(id, 0);
    c.close();
    await Deno.remove(workDir, { recursive: true });
  }
});
