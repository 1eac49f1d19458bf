import assert from "node:assert/strict";
import { containerizerConformance } from "./conformance.ts";
import { commandArgv, ProcessContainerizer } from "./process.ts";

containerizerConformance(
  "process",
  (workDir) => new ProcessContainerizer({ workDir, pollMs: 100 }),
  {
    recovery: true,
    dispose: (c) => {
      if (c instanceof ProcessContainerizer) c.close();
    },
  },
);

Deno.test("commandArgv() runs value under /bin/sh -c unless shell is false", () => {
  assert.deepEqual(commandArgv({ value: "echo hi" }), ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(
    commandArgv({ shell: false, value: "/bin/echo", arguments: ["echo", "a", "b"] }),
    ["/bin/echo", "a", "b"],
  );
  assert.throws(() => commandArgv({}), /no command/);
});

Deno.test("ProcessContainerizer.recover() ends a task whose launch the agent did not live to record", async () => {
  const workDir = await Deno.makeTempDir();
  // The agent was killed between starting the task's wrapper and writing its meta.json: a run
  // dir without one, and a process group that nothing else will ever stop.
  const runDir = `${workDir}/containers/c-cut-short`;
  await Deno.mkdir(runDir, { recursive: true });
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", "sleep 30", "tender-task", runDir, `${workDir}/sandbox`],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const containerizer = new ProcessContainerizer({ workDir, pollMs: 100 });
  try {
    assert.deepEqual(await containerizer.recover(new Set()), []);
    const status = await Promise.race([
      child.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000)),
    ]);
    assert.equal(status?.signal, "SIGKILL", "the unrecorded task was ended");
    await assert.rejects(Deno.stat(runDir), Deno.errors.NotFound);
  } finally {
    containerizer.close();
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* ended */ }
    await child.status;
    await Deno.remove(workDir, { recursive: true });
  }
});
