/**
 * Secrets on the process containerizer, against a FakeMaster: a VALUE secret becomes a variable
 * and a 0400 file in the sandbox; a REFERENCE (no resolver) is TASK_ERROR naming it; an absolute
 * file path, which a process cannot have, fails the launch; the agent's `/state` and its KV store
 * never hold the value.
 */
import assert from "node:assert/strict";
import { type AgentEvent, base64Of, type Secret, type TaskInfo } from "../protocol/mod.ts";
import { startAgent } from "../agent/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { launchEvent, testTask } from "./support/agent_tasks.ts";

const VALUE = "pr0cess-s3cret-9a7e";
const secret: Secret = {
  type: "VALUE",
  value: { data: base64Of(new TextEncoder().encode(VALUE)) },
};

const task = (id: string, extra: Partial<TaskInfo>): TaskInfo => testTask(id, extra);
const launch = (t: TaskInfo): AgentEvent => launchEvent(t);

Deno.test("the process containerizer gives VALUE secrets as a variable and a 0400 file, refuses a REFERENCE, stores neither", async () => {
  const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
  const workDir = await Deno.makeTempDir({ prefix: "tender-agent-secrets-" });
  const agent = await startAgent({
    master: master.url,
    port: 0,
    workDir,
    resources: "cpus:2;mem:1024",
    containerizer: "process",
    statusUpdateRetryMs: 300,
    log: () => {},
  });
  try {
    await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
    master.send(launch(task("given", {
      command: {
        value: 'echo "env=$DB file=$(cat pw) mode=$(stat -c %a pw)"; exec sleep 3600',
        environment: { variables: [{ name: "DB", type: "SECRET", secret }] },
      },
      container: {
        type: "MESOS",
        volumes: [{ container_path: "pw", mode: "RO", source: { type: "SECRET", secret } }],
      },
    })));
    await master.waitForState("given", "TASK_RUNNING", 30_000);
    let out = "";
    await waitFor(async () => {
      out = await (await fetch(`${agent.url}/tasks/given/logs?stream=stdout`)).text();
      return out.includes("mode=");
    }, { what: "the task's output", timeoutMs: 30_000 });
    assert.equal(out, `env=${VALUE} file=${VALUE} mode=400\n`);

    master.send(launch(task("referenced", {
      command: {
        value: "true",
        environment: {
          variables: [{
            name: "DB",
            type: "SECRET",
            secret: { type: "REFERENCE", reference: { name: "/prod/db" } },
          }],
        },
      },
    })));
    const refused = await master.waitForState("referenced", "TASK_ERROR", 30_000);
    assert.equal(refused.reason, "REASON_TASK_INVALID");
    assert.match(refused.message ?? "", /secret "\/prod\/db" is a REFERENCE/);

    master.send(launch(task("absolute", {
      command: { value: "true" },
      container: {
        type: "MESOS",
        volumes: [{ container_path: "/etc/pw", mode: "RO", source: { type: "SECRET", secret } }],
      },
    })));
    const failed = await master.waitForState("absolute", "TASK_FAILED", 30_000);
    assert.match(failed.message ?? "", /Cannot mount "\/etc\/pw"/);

    const state = await (await fetch(`${agent.url}/state`)).text();
    assert.ok(state.includes('"given"'), state);
    for (const trace of [VALUE, secret.value!.data]) {
      assert.ok(!state.includes(trace), state);
      for await (const e of Deno.readDir(workDir)) {
        if (!e.isFile) continue;
        const bytes = new TextDecoder("latin1").decode(await Deno.readFile(`${workDir}/${e.name}`));
        assert.ok(!bytes.includes(trace), `${e.name} holds the secret`);
      }
    }
  } finally {
    for (const c of await agent.containerizer.recover(new Set())) {
      await agent.containerizer.destroy(c.id, 0).catch(() => {});
    }
    await agent.stop();
    await master.close();
    await Deno.remove(workDir, { recursive: true });
  }
});
