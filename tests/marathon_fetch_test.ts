/**
 * A Marathon app file's `fetch` honoured end to end: a real master and agent as processes, the
 * app's URI served by a Deno.serve on 127.0.0.1, and a cmd that reads the fetched file. An
 * unknown docker parameter is a 422 naming it, as Marathon answers what it cannot take.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call, type Json } from "./support/marathon_api.ts";
import { RawScheduler } from "./support/raw_scheduler.ts";
import { taskInfo } from "../mod.ts";

Deno.test("Marathon app with fetch reads the fetched file; an unknown docker parameter is a 422", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-marathon-fetch-files-" });
  await Deno.writeTextFile(`${dir}/greeting.txt`, "hello from fetch\n");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => new Response(await Deno.readFile(`${dir}${new URL(req.url).pathname}`)),
  );
  const cluster = await Cluster.start();
  const workDir = await Deno.makeTempDir({ prefix: "tender-marathon-fetch-" });
  const marathon = await startMarathon({
    master: cluster.masterUrl,
    port: 0,
    workDir,
    tickMs: 200,
  });
  try {
    await cluster.addAgent(["--containerizer", "process", "--resources", "cpus:2;mem:1024"]);
    await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
    const uri = `http://127.0.0.1:${server.addr.port}/greeting.txt`;

    const refused = await call(`${marathon.url}/v2/apps`, "POST", {
      id: "/bad-params",
      cmd: "sleep 100",
      container: {
        type: "DOCKER",
        docker: {
          image: "tender-busybox:latest",
          parameters: [{ key: "blkio-weight", value: "10" }],
        },
      },
    });
    assert.equal(refused.status, 422);
    const detail = refused.json.details.find((d: Json) =>
      d.path === "/container/docker/parameters(0)/key"
    );
    assert.match(
      detail?.errors?.[0] ?? "",
      /"blkio-weight" is not a docker parameter Tender supports/,
    );

    const created = await call(`${marathon.url}/v2/apps`, "POST", {
      id: "/fetcher",
      cmd: "cat greeting.txt && sleep 1000",
      cpus: 0.1,
      mem: 16,
      fetch: [{ uri }],
    });
    assert.equal(created.status, 201);
    const task = await waitFor("the app's task to run", async () => {
      const { json } = await call(`${marathon.url}/v2/apps/fetcher`);
      return json.app.tasksRunning === 1 ? json.app.tasks[0] : false;
    }, 60_000);
    const state = await cluster.state();
    const agentAddress = state.slaves[0].pid.split("@")[1];
    const output = await waitFor("the task to print the fetched file", async () => {
      const r = await fetch(`http://${agentAddress}/tasks/${task.id}/logs?stream=stdout`);
      const text = await r.text();
      return text.includes("hello from fetch") ? text : false;
    }, 30_000);
    assert.equal(output, "hello from fetch\n");
    const deleted = await call(`${marathon.url}/v2/apps/fetcher`, "DELETE");
    assert.equal(deleted.status, 200);
    await waitFor("the app's task to be killed", async () => {
      const fw = (await cluster.state()).frameworks.find((f: Json) =>
        f.id === marathon.driver.frameworkId
      );
      return (fw?.tasks ?? []).length === 0;
    }, 30_000);
  } finally {
    await marathon.stop();
    await cluster.stop();
    await server.shutdown();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a raw Mesos task through a real master: its URIs are fetched, its docker parameters on a process agent are TASK_ERROR", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-raw-fetch-files-" });
  await Deno.writeTextFile(`${dir}/data.txt`, "raw data\n");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => new Response(await Deno.readFile(`${dir}${new URL(req.url).pathname}`)),
  );
  const cluster = await Cluster.start();
  const fw = new RawScheduler(cluster.masterUrl);
  try {
    await cluster.addAgent(["--containerizer", "process", "--resources", "cpus:2;mem:1024"]);
    await fw.subscribe();
    const offer = await waitFor("an offer", () => fw.offers()[0]);
    const agentId = offer.agent_id.value;
    const fetching = taskInfo({
      name: "fetching",
      taskId: "fetching",
      agentId,
      cpus: 0.1,
      mem: 32,
      command: "grep -q 'raw data' data.txt",
    });
    fetching.command = {
      ...fetching.command,
      uris: [{ value: `http://127.0.0.1:${server.addr.port}/data.txt` }],
    };
    const refused = taskInfo({
      name: "refused",
      taskId: "refused",
      agentId,
      cpus: 0.1,
      mem: 32,
      command: "true",
    });
    refused.container = {
      type: "MESOS",
      docker: { image: "busybox", parameters: [{ key: "label", value: "a=b" }] },
    };
    const accepted = await fw.call({
      type: "ACCEPT",
      framework_id: { value: fw.frameworkId },
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: "LAUNCH", launch: { task_infos: [fetching, refused] } }],
      },
    });
    assert.equal(accepted.status, 202, accepted.text);
    // Each update is acknowledged, as a scheduler must, or the agent sends no next one.
    const acked = new Set<string>();
    const statusOf = (taskId: string, state: string) =>
      waitFor(`${taskId} to reach ${state}`, async () => {
        for (const e of fw.events) {
          const status = e.type === "UPDATE" ? e.update.status : undefined;
          if (!status?.uuid || !status.agent_id || acked.has(status.uuid)) continue;
          acked.add(status.uuid);
          await fw.call({
            type: "ACKNOWLEDGE",
            framework_id: { value: fw.frameworkId },
            acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
          });
        }
        return fw.events.flatMap((e) =>
          e.type === "UPDATE" && e.update.status.task_id.value === taskId &&
            e.update.status.state === state
            ? [e.update.status]
            : []
        )[0];
      }, 60_000);
    await statusOf("fetching", "TASK_FINISHED");
    const error = await statusOf("refused", "TASK_ERROR");
    assert.equal(error.reason, "REASON_TASK_INVALID");
    assert.match(error.message ?? "", /container\.docker\.parameters \(label\)/);
  } finally {
    await fw.close();
    await cluster.stop();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
