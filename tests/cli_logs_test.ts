import assert from "node:assert/strict";
import { runCli } from "../cli/run.ts";
import type { Io } from "../cli/io.ts";
import { mountDashboard } from "../master/dashboard/mod.ts";
import { OpsCluster } from "./metrics_cluster.ts";

Deno.test("tender logs goes through the master's log proxy when the agent cannot be reached", async () => {
  const stop = new AbortController();
  const cluster = await OpsCluster.start((app, runtime) => {
    mountDashboard(app, runtime, { signal: stop.signal });
  });
  try {
    await cluster.subscribe("proxy-fw");
    const agent = await cluster.startAgent();
    await cluster.launch("proxied-1", "echo through the master; sleep 60");
    const agentUrl = `http://127.0.0.1:${agent.port}`;
    const tried: string[] = [];
    const out: string[] = [], err: string[] = [];
    const io: Io = {
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
      env: () => undefined,
      // This machine cannot reach the agent (as from a laptop outside the cluster network).
      fetch: (input, init) => {
        const url = String(input);
        tried.push(url);
        if (url.startsWith(agentUrl)) return Promise.reject(new TypeError("fetch failed"));
        return fetch(input, init);
      },
      signal: new AbortController().signal,
      isTerminal: () => false,
    };
    const code = await runCli(["logs", "proxied-1", "--master", cluster.master.url], io);
    assert.equal(code, 0, err.join(""));
    assert.equal(out.join(""), "through the master\n");
    assert.ok(tried.some((u) => u.startsWith(`${agentUrl}/tasks/proxied-1/logs`)));
    assert.ok(tried.some((u) => u.includes("/dashboard/logs/")));
  } finally {
    stop.abort();
    await cluster.stop();
  }
});
