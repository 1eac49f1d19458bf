/**
 * Every Tender server keeps its state where only its owner reads it: work dirs 0700 (the agent's
 * 0711: tasks of other users pass through to their sandboxes), KV files with their `-wal` and
 * `-shm` files 0600 (they hold task environments and credentials).
 */
import assert from "node:assert/strict";
import { startMaster } from "../master/mod.ts";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { startJobs } from "../frameworks/jobs/mod.ts";
import { openRegistry } from "../registry/mod.ts";

const modeOf = (path: string) => (Deno.statSync(path).mode ?? 0) & 0o777;

function assertPrivate(dir: string, sub: string, kv: string): void {
  assert.equal(modeOf(`${dir}/${sub}`), 0o700, sub);
  const path = `${dir}/${sub}/${kv}`;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    assert.equal(modeOf(file), 0o600, file);
  }
}

Deno.test("the master, Marathon, jobs and the registry keep their work dirs and KV files private", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-modes-" });
  try {
    // Checked while each runs: SQLite removes the -wal and -shm files when the store closes.
    const master = await startMaster({ port: 0, workDir: `${dir}/master` });
    assertPrivate(dir, "master", "master.kv");
    await master.stop();
    const marathon = await startMarathon({
      master: "http://127.0.0.1:1",
      port: 0,
      workDir: `${dir}/marathon`,
    });
    assertPrivate(dir, "marathon", "marathon.kv");
    await marathon.stop();
    const jobs = await startJobs({ master: "http://127.0.0.1:1", port: 0, workDir: `${dir}/jobs` });
    assertPrivate(dir, "jobs", "jobs.kv");
    await jobs.stop();
    const registry = await openRegistry({ workDir: `${dir}/registry` });
    assertPrivate(dir, "registry", "registry.kv");
    registry.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
