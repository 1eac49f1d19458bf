/**
 * Marathon secrets end to end on a real master and process agent: a secret put through
 * `/v2/secrets` reaches an app's task and a pod's as an environment variable and as a read-only
 * file, while no trace of its value (nor of its base64) is in Marathon's `/v2/apps`, `/v2/tasks`,
 * `/v2/pods` or event stream, the master's `/master/state` and operator GET_STATE/GET_TASKS, the agent's `/state`,
 * the master's and the agent's output, or any file of their work dirs and Marathon's store.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { importSecretsKey } from "../frameworks/marathon/secrets/secret_store.ts";
import { createLogger } from "../base/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call } from "./support/marathon_api.ts";

const VALUE = "s3cr3t-7d41c0e9-value";
const TRACES = [VALUE, btoa(VALUE)];

/** The stdout of the app's (only) task, from its sandbox under the agent's work dir. */
async function taskOutput(root: string, appId: string): Promise<string | undefined> {
  const prefix = `${appId.replace(/^\//, "").replaceAll("/", "_")}.`;
  const sandboxes = `${root}/agent-0/sandboxes`;
  for await (const fw of Deno.readDir(sandboxes)) {
    for await (const task of Deno.readDir(`${sandboxes}/${fw.name}`)) {
      if (!task.name.startsWith(prefix)) continue;
      const out = await Deno.readTextFile(`${sandboxes}/${fw.name}/${task.name}/stdout`)
        .catch(() => "");
      if (out.includes("mode=")) return out;
    }
  }
  return undefined;
}

/** Every file below `dir` but the tasks' sandboxes (where the task itself was given it). */
async function filesHolding(dir: string, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory && e.name !== "sandboxes") await walk(path);
      if (!e.isFile) continue;
      const text = new TextDecoder("latin1").decode(
        await Deno.readFile(path).catch(() => new Uint8Array()),
      );
      if (needles.some((n) => text.includes(n))) found.push(path);
    }
  };
  await walk(dir);
  return found;
}

function assertNoTrace(what: string, text: string): void {
  for (const t of TRACES) assert.ok(!text.includes(t), `${what} holds the secret: ${text}`);
}

Deno.test("a Marathon app's and a pod's env and file secrets reach their tasks and nothing else", async () => {
  // Every process logs at debug: nothing it says may hold the value.
  const cluster = await Cluster.start(["--log-level", "debug"]);
  const workDir = await Deno.makeTempDir({ prefix: "marathon-secrets-" });
  const marathonLog: string[] = [];
  const marathon = await startMarathon({
    master: cluster.masterUrl,
    port: 0,
    workDir,
    tickMs: 200,
    secretsKey: await importSecretsKey("5e".repeat(32)),
    log: createLogger({
      component: "marathon",
      level: "debug",
      write: (line) => void marathonLog.push(line),
    }),
  });
  const events = new AbortController();
  let eventText = "";
  const stream = fetch(`${marathon.url}/v2/events`, {
    headers: { Accept: "text/event-stream" },
    signal: events.signal,
  }).then(async (r) => {
    for await (const chunk of r.body!.pipeThrough(new TextDecoderStream())) eventText += chunk;
  }).catch(() => {});
  try {
    const agent = await cluster.addAgent([
      "--containerizer",
      "process",
      "--log-level",
      "debug",
      "--resources",
      "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
    ]);
    await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);

    const put = await call(`${marathon.url}/v2/secrets/prod/db`, "PUT", { value: VALUE });
    assert.equal(put.status, 201, JSON.stringify(put.json));

    const unknown = await call(`${marathon.url}/v2/apps`, "POST", {
      id: "/prod/nope",
      cmd: "sleep 600",
      secrets: { db: { source: "/prod/nothing" } },
      env: { DB: { secret: "db" } },
    });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.json.details[0].path, "/secrets/db/source");

    const created = await call(`${marathon.url}/v2/apps`, "POST", {
      id: "/prod/api",
      cmd: 'echo "env=$DB_PASSWORD"; ' +
        'echo "file=$(cat "$MESOS_SANDBOX/pw") mode=$(stat -c %a "$MESOS_SANDBOX/pw")"; ' +
        "exec sleep 600",
      cpus: 0.1,
      mem: 16,
      secrets: { db: { source: "/prod/db" } },
      env: { DB_PASSWORD: { secret: "db" } },
      container: { type: "MESOS", volumes: [{ containerPath: "pw", secret: "db" }] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const out = await waitFor(
      "the task to print its secrets",
      () => taskOutput(cluster.root, "/prod/api"),
      60_000,
    );
    assert.equal(out, `env=${VALUE}\nfile=${VALUE} mode=400\n`);
    await waitFor("Marathon to see the task running", async () => {
      const r = await call(`${marathon.url}/v2/apps/prod/api`);
      return r.json.app?.tasksRunning === 1;
    }, 30_000);

    // A pod gets them the same way (a LAUNCH_GROUP task).
    const pod = await call(`${marathon.url}/v2/pods`, "POST", {
      id: "/prod/pod",
      secrets: { db: { source: "/prod/db" } },
      environment: { DB_PASSWORD: { secret: "db" } },
      containers: [{
        name: "app",
        exec: {
          command: {
            shell: 'echo "env=$DB_PASSWORD"; ' +
              'echo "file=$(cat "$MESOS_SANDBOX/pw") mode=$(stat -c %a "$MESOS_SANDBOX/pw")"; ' +
              "exec sleep 600",
          },
        },
        resources: { cpus: 0.1, mem: 16 },
        volumeMounts: [{ name: "pw", mountPath: "pw" }],
      }],
      volumes: [{ name: "pw", secret: "db" }],
    });
    assert.equal(pod.status, 201, JSON.stringify(pod.json));
    assert.equal(
      await waitFor(
        "the pod to print its secrets",
        () => taskOutput(cluster.root, "/prod/pod"),
        60_000,
      ),
      `env=${VALUE}\nfile=${VALUE} mode=400\n`,
    );

    const agentPort = agent.args[agent.args.indexOf("--port") + 1];
    const views: [string, Promise<Response>][] = [
      ["/v2/apps", fetch(`${marathon.url}/v2/apps?embed=apps.tasks&embed=apps.deployments`)],
      ["/v2/tasks", fetch(`${marathon.url}/v2/tasks`)],
      ["/v2/apps/prod/api/versions", fetch(`${marathon.url}/v2/apps/prod/api/versions`)],
      ["/v2/secrets", fetch(`${marathon.url}/v2/secrets`)],
      ["/v2/pods", fetch(`${marathon.url}/v2/pods`)],
      ["/v2/pods/::status", fetch(`${marathon.url}/v2/pods/::status`)],
      ["/master/state", fetch(`${cluster.masterUrl}/master/state`)],
      ...["GET_STATE", "GET_TASKS"].map((type): [string, Promise<Response>] => [
        type,
        fetch(`${cluster.masterUrl}/api/v1`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ type }),
        }),
      ]),
      ["agent /state", fetch(`http://127.0.0.1:${agentPort}/state`)],
    ];
    for (const [what, response] of views) {
      const r = await response;
      const text = await r.text();
      assert.equal(r.status, 200, `${what}: ${text}`);
      assertNoTrace(what, text);
    }
    const state = await cluster.state();
    assert.ok(JSON.stringify(state).includes("prod_api.instance-"), "the task is in /master/state");

    events.abort();
    await stream;
    assert.ok(eventText.includes("status_update_event"), eventText);
    assertNoTrace("/v2/events", eventText);
    assertNoTrace("the master's output", cluster.master.log.join(""));
    assertNoTrace("the agent's output", agent.log.join(""));
    assertNoTrace("Marathon's log", marathonLog.join("\n"));
    // The process containerizer's own record of a running task keeps its environment (0600, the
    // agent's only: it execs COMMAND checks with it after a restart), as Docker keeps a
    // container's Env in its config; nothing else may hold the value.
    const holding = (await filesHolding(cluster.root, TRACES))
      .filter((p) => !/\/agent-0\/containers\/[^/]+\/meta\.json$/.test(p));
    assert.deepEqual(holding, [], "master and agent files");
    assert.deepEqual(await filesHolding(workDir, TRACES), [], "Marathon's store");
  } finally {
    events.abort();
    await marathon.stop();
    await cluster.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
