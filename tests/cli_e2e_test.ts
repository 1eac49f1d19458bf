/**
 * The `tender` CLI end to end: a real master (with the dashboard's log proxy), agent and
 * registry in this process, the CLI run as a subprocess the way a person runs it.
 */
import assert from "node:assert/strict";
import { mountDashboard } from "../master/dashboard/mod.ts";
import { OpsCluster } from "./metrics_cluster.ts";
import { freePort, waitFor } from "./support/cluster.ts";
import { pushImage, startTestRegistry } from "./registry_helpers.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function tender(env: Record<string, string>, ...args: string[]): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", MAIN, ...args],
    env,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Runs `tender ...args --json`, expects exit 0 and returns the parsed JSON. */
async function tenderJson(env: Record<string, string>, ...args: string[]): Promise<unknown> {
  const r = await tender(env, ...args, "--json");
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

Deno.test("tender CLI drives a real cluster: status, agents, frameworks, tasks, logs, images, gc", async (t) => {
  const stop = new AbortController();
  const cluster = await OpsCluster.start((app, runtime) => {
    mountDashboard(app, runtime, { signal: stop.signal });
  });
  const registry = await startTestRegistry();
  const env = { TENDER_MASTER: cluster.master.url, TENDER_REGISTRY: registry.url, NO_COLOR: "1" };
  try {
    await cluster.subscribe("cli-fw");
    const agent = await cluster.startAgent();
    await cluster.launch(
      "cli-1",
      "echo hello from cli-1; echo err line >&2; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
    );
    const agentId = agent.agent.state().id!;

    await t.step("status", async () => {
      const r = await tender(env, "status");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Agents:\s+1 active, 0 inactive, 0 unreachable$/m);
      assert.match(r.stdout, /^Tasks:\s+1 TASK_RUNNING$/m);
      assert.match(r.stdout, /^CPUs:\s+0\.5\/2$/m);
      assert.doesNotMatch(r.stdout, /^Apps:/m, "no Marathon registered, no Apps line");
      const json = await tenderJson(env, "status") as {
        agents: { active: number };
        tasks: Record<string, number>;
        capacity: { mem: { total: number } };
      };
      assert.equal(json.agents.active, 1);
      assert.equal(json.tasks.TASK_RUNNING, 1);
      assert.equal(json.capacity.mem.total, 512);
    });

    await t.step("agents list and show", async () => {
      const r = await tender(env, "agents", "list");
      assert.equal(r.code, 0, r.stderr);
      const [header, row] = r.stdout.trimEnd().split("\n");
      assert.match(header!, /^ID\s+HOSTNAME\s+STATE\s+TASKS\s+CPUS\s+MEM\s+DISK\s+PORTS$/);
      assert.match(
        row!,
        new RegExp(
          `^${agentId}\\s+127\\.0\\.0\\.1:${agent.port}\\s+active\\s+1\\s+0\\.5/2\\s+64MiB/512MiB\\s+0MiB/1GiB\\s+0/10$`,
        ),
      );
      const list = await tenderJson(env, "agents") as { id: string }[];
      assert.deepEqual(list.map((a) => a.id), [agentId]);
      const show = await tender(env, "agents", "show", agentId.slice(0, 12));
      assert.equal(show.code, 0, show.stderr);
      assert.match(
        show.stdout,
        new RegExp(`^Address:\\s+http://127\\.0\\.0\\.1:${agent.port}$`, "m"),
      );
      assert.match(show.stdout, /^cli-1\s+cli-fw\s+127\.0\.0\.1\s+TASK_RUNNING/m);
      const missing = await tender(env, "agents", "show", "nope");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no agent "nope": `tender agents list` shows the 1 registered/);
      const usage = await tender(env, "agents", "show");
      assert.equal(usage.code, 2);
    });

    await t.step("frameworks list", async () => {
      const r = await tender(env, "frameworks", "list");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\scli-fw\s+\*\s+yes\s+1\s+0\.5\s+64MiB\s+\d+(\.\d)?%$/m);
      const json = await tenderJson(env, "frameworks") as { name: string; tasks: number }[];
      assert.deepEqual(json.map((f) => [f.name, f.tasks]), [["cli-fw", 1]]);
    });

    await t.step("tasks list with filters", async () => {
      const r = await tender(env, "tasks", "list");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ID\s+FRAMEWORK\s+AGENT\s+STATE\s+HEALTH\s+CPUS\s+MEM\s+AGE$/m);
      assert.match(
        r.stdout,
        /^cli-1\s+cli-fw\s+127\.0\.0\.1\s+TASK_RUNNING\s+-\s+0\.5\s+64MiB\s+\d+s$/m,
      );
      const mine = await tenderJson(
        env,
        "tasks",
        "--framework",
        "cli-fw",
        "--state",
        "running",
      ) as {
        id: string;
      }[];
      assert.deepEqual(mine.map((x) => x.id), ["cli-1"]);
      const none = await tender(env, "tasks", "list", "--state", "failed");
      assert.equal(none.stdout, "No tasks.\n");
      const bad = await tender(env, "tasks", "list", "--framework", "nope");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /no framework "nope"/);
    });

    await t.step("logs of one task, stdout and stderr", async () => {
      const out = await tender(env, "logs", "cli-1", "--tail", "1000");
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^hello from cli-1\ntick 1\n/);
      const err = await tender(env, "logs", "cli-1", "--stderr");
      assert.equal(err.stdout, "err line\n");
      const missing = await tender(env, "logs", "nope");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no task "nope": `tender tasks list --all`/);
    });

    await t.step("logs --follow streams until Ctrl-C", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "logs", "cli-1", "--follow", "--tail", "1"],
        env,
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      let seen = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const ticks = () => [...seen.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
      await waitFor("three new ticks", async () => {
        const { value } = await reader.read();
        seen += value ?? "";
        const n = ticks();
        return n.length >= 4 && n.at(-1)! === n[0]! + n.length - 1;
      }, 15_000);
      child.kill("SIGINT");
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const status = await child.status;
      const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
      assert.equal(status.code, 0, stderr);
    });

    await t.step("logs --follow ends when the task ends", async () => {
      await cluster.launch("cli-2", "echo first; sleep 1; echo last");
      const r = await tender(env, "logs", "cli-2", "--follow");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "first\nlast\n");
    });

    await t.step("images list and registry gc against the registry", async () => {
      const empty = await tender(env, "images", "list");
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(
        empty.stdout,
        /^No images in the registry at http:\/\/127\.0\.0\.1:\d+\. Push one with `docker push 127\.0\.0\.1:\d+\/NAME:TAG`\.$/m,
      );
      await pushImage(registry.url, "team/web", "1.0");
      await pushImage(registry.url, "team/web", "2.0");
      await pushImage(registry.url, "busybox", "latest");
      const r = await tender(env, "images");
      assert.equal(r.stdout, "REPOSITORY  TAGS\nbusybox     latest\nteam/web    1.0, 2.0\n");
      const json = await tenderJson(env, "images", "list", "team/web");
      assert.deepEqual(json, [{ repository: "team/web", tags: ["1.0", "2.0"] }]);
      const gc = await tenderJson(env, "registry", "gc", "--dry-run") as {
        dryRun: boolean;
        blobsMarked: number;
      };
      assert.equal(gc.dryRun, true);
      assert.equal(gc.blobsMarked, 9); // 3 configs, 3 layers, 3 manifests
      const human = await tender(env, "registry", "gc");
      assert.match(
        human.stdout,
        /^Deleted 0 blob\(s\) \(0 B\) and 0 stale upload\(s\); 9 blob\(s\) in use\.$/m,
      );
    });

    await t.step(
      "agents drain moves the tasks off and shows the agent drained; reactivate",
      async () => {
        const r = await tender(env, "agents", "drain", agentId, "--timeout", "1s");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /is draining/);
        await waitFor("the agent to be drained", async () => {
          const list = await tenderJson(env, "agents", "list") as { id: string; state: string }[];
          return list.find((a) => a.id === agentId)?.state === "drained";
        }, 30_000);
        const tasks = await tenderJson(env, "tasks", "list", "--all") as {
          id: string;
          state: string;
        }[];
        assert.equal(tasks.find((x) => x.id === "cli-1")?.state, "TASK_KILLED");
        const back = await tender(env, "agents", "reactivate", agentId);
        assert.equal(back.code, 0, back.stderr);
        const after = await tenderJson(env, "agents", "list") as { id: string; state: string }[];
        assert.equal(after.find((a) => a.id === agentId)?.state, "active");
      },
    );

    await t.step("exit codes and errors that say what to do", async () => {
      const none = await tender(env);
      assert.equal(none.code, 2);
      assert.match(none.stdout, /^Usage: tender COMMAND/m);
      const unknown = await tender(env, "frobnicate");
      assert.equal(unknown.code, 2);
      assert.match(
        unknown.stderr,
        /unknown command "frobnicate": `tender --help` lists the commands/,
      );
      const badTail = await tender(env, "logs", "cli-1", "--tail", "many");
      assert.equal(badTail.code, 2);
      const port = freePort();
      const down = await tender({ NO_COLOR: "1" }, "status", "--master", `127.0.0.1:${port}`);
      assert.equal(down.code, 1);
      assert.match(
        down.stderr,
        /^tender: cannot reach the master at http:\/\/127\.0\.0\.1:\d+ \(connection refused\): is `deno task dev` running\? Point the CLI elsewhere with --master URL or TENDER_MASTER\.$/m,
      );
    });

    await t.step("logs of a finished task, also once its framework is torn down", async () => {
      // cli-2 finished steps ago: the agent has forgotten it, its sandbox has not.
      const finished = await tender(env, "logs", "cli-2");
      assert.equal(finished.code, 0, finished.stderr);
      assert.equal(finished.stdout, "first\nlast\n");
      const fw = cluster.framework!;
      await fw.call({ type: "TEARDOWN", framework_id: { value: fw.frameworkId } });
      await waitFor("the framework to be gone", async () => {
        const frameworks = await tenderJson(env, "frameworks", "list") as { name: string }[];
        return !frameworks.some((f) => f.name === "cli-fw");
      }, 15_000);
      const after = await tender(env, "logs", "cli-2");
      assert.equal(after.code, 0, after.stderr);
      assert.equal(after.stdout, "first\nlast\n");
      const tasks = await tenderJson(env, "tasks", "list", "--all") as { id: string }[];
      assert.ok(tasks.some((x) => x.id === "cli-2"), "a removed framework's tasks are listed");
      const ofFramework = await tenderJson(
        env,
        "tasks",
        "list",
        "--all",
        "--framework",
        "cli-fw",
      ) as { id: string }[];
      assert.ok(ofFramework.some((x) => x.id === "cli-2"), "--framework finds a removed framework");
      const named = await tender(env, "logs", "cli-2", "--framework", "cli-fw");
      assert.equal(named.stdout, "first\nlast\n", named.stderr);
    });
  } finally {
    stop.abort();
    await cluster.stop();
    await registry.close();
  }
});
