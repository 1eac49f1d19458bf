import assert from "node:assert/strict";
import { Cluster } from "./support/cluster.ts";

Deno.test("a standalone master stopped with SIGTERM and SIGINT at once exits 0 without an uncaught error", async () => {
  // Two signals while it stops: Ctrl-C then a supervisor's SIGTERM, or a SIGTERM to the process
  // group of `deno task master` (the master gets it directly and forwarded). SIGINT and SIGTERM
  // are both sent at once so that they never merge into one delivery.
  const cluster = await Cluster.start(["--log-level", "info"]);
  try {
    await cluster.addAgent(["--containerizer", "process"]);
    cluster.master.signal("SIGTERM");
    cluster.master.signal("SIGINT");
    await cluster.master.kill("SIGTERM");
    const log = cluster.master.log.join("");
    assert.equal(cluster.master.exited?.code, 0, log);
    assert.doesNotMatch(log, /Uncaught|BadResource/, log);
  } finally {
    await cluster.stop();
  }
});
