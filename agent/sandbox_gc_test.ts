import assert from "node:assert/strict";
import { sweepSandboxes } from "./sandbox_gc.ts";

Deno.test("sweepSandboxes() removes old untracked sandboxes and keeps live and recent ones", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-gc-" });
  try {
    const now = Date.now();
    const make = async (path: string, ageMs: number) => {
      await Deno.mkdir(path, { recursive: true });
      await Deno.writeTextFile(`${path}/stdout`, "out\n");
      const at = new Date(now - ageMs);
      await Deno.utime(path, at, at);
    };
    const root = `${workDir}/sandboxes`;
    await make(`${root}/fw-a/old`, 10_000);
    await make(`${root}/fw-a/recent`, 1_000);
    await make(`${root}/fw-a/live-but-old`, 10_000);
    await make(`${root}/fw-b/old-too`, 10_000);
    const removed = await sweepSandboxes(
      workDir,
      new Set([`${root}/fw-a/live-but-old`]),
      5_000,
      now,
    );
    assert.deepEqual(removed.sort(), [`${root}/fw-a/old`, `${root}/fw-b/old-too`]);
    const left = [];
    for await (const e of Deno.readDir(`${root}/fw-a`)) left.push(e.name);
    assert.deepEqual(left.sort(), ["live-but-old", "recent"]);
    await assert.rejects(Deno.stat(`${root}/fw-b`), "an emptied framework dir goes too");
    assert.deepEqual(await sweepSandboxes(`${workDir}/none`, new Set(), 0, now), []);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});
