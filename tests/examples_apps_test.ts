/**
 * The sample apps in examples/apps/ (the README walkthrough's) deploy on a real cluster with
 * Docker: the web app becomes 3 healthy busybox httpd containers reachable on their host
 * ports, the worker runs, and the group's api starts after its db.
 */
import assert from "node:assert/strict";
import { probeDocker } from "../agent/containerizer/docker.ts";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";

const dockerUp = await probeDocker("/var/run/docker.sock");

// deno-lint-ignore no-explicit-any -- Marathon's JSON is read loosely by the test
type Json = any;

async function post(url: string, file: string): Promise<number> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: await Deno.readTextFile(new URL(`../examples/apps/${file}`, import.meta.url)),
  });
  await r.body?.cancel();
  return r.status;
}

Deno.test({
  name:
    "examples/apps deploy: web healthy x3, worker running, group in dependency order (needs Docker)",
  ignore: !dockerUp,
  fn: async () => {
    const cluster = await Cluster.start();
    const workDir = await Deno.makeTempDir({ prefix: "tender-examples-" });
    const marathon = await startMarathon({
      master: cluster.masterUrl,
      port: 0,
      workDir,
      tickMs: 200,
    });
    const app = async (id: string): Promise<Json> =>
      (await (await fetch(`${marathon.url}/v2/apps${id}?embed=app.tasks`)).json()).app;
    try {
      await cluster.addAgent(["--resources", "cpus:4;mem:2048;disk:1024;ports:[31000-31099]"]);
      assert.equal(await post(`${marathon.url}/v2/apps`, "web.json"), 201);
      assert.equal(await post(`${marathon.url}/v2/apps`, "worker.json"), 201);
      assert.equal(await post(`${marathon.url}/v2/groups`, "group.json"), 201);

      const web = await waitFor("web to be 3 healthy", async () => {
        const a = await app("/prod/web");
        return a.tasksHealthy === 3 ? a : false;
      }, 90_000);
      const bodies = await Promise.all(web.tasks.map(async (t: Json) => {
        const r = await fetch(`http://127.0.0.1:${t.ports[0]}/`);
        return await r.text();
      }));
      for (const body of bodies) assert.match(body, /^hello from /);
      assert.equal(new Set(bodies).size, 3, "three distinct containers answer");

      await waitFor(
        "the worker to run 2",
        async () => (await app("/prod/worker")).tasksRunning === 2,
        60_000,
      );
      const api = await waitFor("the group's api to run 2", async () => {
        const a = await app("/shop/api");
        return a.tasksRunning === 2 ? a : false;
      }, 60_000);
      const db = await app("/shop/db");
      const started = (a: Json) => Math.min(...a.tasks.map((t: Json) => Date.parse(t.startedAt)));
      assert.ok(started(db) <= started(api), "db started before api");
    } finally {
      for (const id of ["/prod/web", "/prod/worker", "/shop/db", "/shop/api"]) {
        await fetch(`${marathon.url}/v2/apps${id}?force=true`, { method: "DELETE" }).then((r) =>
          r.body?.cancel()
        );
      }
      await waitFor("every task to go", async () => {
        const s = await cluster.state();
        return s.frameworks.every((f: Json) => f.tasks.length === 0);
      }, 60_000).catch(() => {});
      await marathon.stop();
      await cluster.stop();
      await Deno.remove(workDir, { recursive: true });
    }
  },
});
