/**
 * A process task that runs as another user gets that user's supplementary groups, as Mesos'
 * `--switch_user` does with `initgroups`: a real agent against a FakeMaster, a user and a group
 * made for the test (useradd/groupadd, removed after). Needs root.
 */
import assert from "node:assert/strict";
import type { AgentEvent } from "../protocol/mod.ts";
import { launchEvent, testTask } from "./support/agent_tasks.ts";
import { startAgent } from "../agent/mod.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";

const notRoot = Deno.uid() !== 0;

async function run(program: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

function launch(id: string, command: string, user: string): AgentEvent {
  return launchEvent(
    testTask(id, { command: { value: command, user } }),
    { user: "root", name: "groups", id: { value: "fw-groups" } },
  );
}

Deno.test({
  name: "a process task as another user reads a file only its supplementary group may (needs root)",
  ignore: notRoot,
  fn: async () => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const group = `tg${suffix}`, user = `tu${suffix}`;
    const workDir = await Deno.makeTempDir({ prefix: "tender-task-groups-" });
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      await run("groupadd", [group]);
      // Primary group nogroup; the test group only as a supplementary one.
      await run("useradd", [
        "--no-create-home",
        "--no-user-group",
        "-g",
        "nogroup",
        "-G",
        group,
        user,
      ]);
      const gid = Number(await run("getent", ["group", group]).then((l) => l.split(":")[2]));
      // The agent's work dir (0711) lets others pass; the file is the group's alone.
      await Deno.chmod(workDir, 0o711);
      const secret = `${workDir}/group-only.txt`;
      await Deno.writeTextFile(secret, "for the group\n");
      await Deno.chown(secret, 0, gid);
      await Deno.chmod(secret, 0o640);

      agent = await startAgent({
        master: master.url,
        port: 0,
        workDir: `${workDir}/agent`,
        resources: "cpus:2;mem:1024",
        containerizer: "process",
        statusUpdateRetryMs: 300,
        log: () => {},
      });
      await Deno.chmod(`${workDir}/agent`, 0o711);
      const running = agent;
      await waitFor(() => running.agent.connected, { what: "the agent to subscribe" });

      master.send(launch("grouped", `id -G; cat ${secret}`, user));
      const done = await master.waitForState("grouped", "TASK_FINISHED", 30_000).catch(() =>
        undefined
      );
      const res = await fetch(`${agent.url}/tasks/grouped/logs?stream=stdout`);
      const output = (await res.text()).trim().split("\n");
      assert.ok(
        done,
        `the task finished (statuses: ${JSON.stringify(master.statesOf("grouped"))})`,
      );
      assert.ok(output[0]?.split(" ").includes(String(gid)), `id -G shows ${gid}: ${output[0]}`);
      assert.equal(output[1], "for the group");
    } finally {
      await agent?.stop();
      await master.close();
      await run("userdel", [user]).catch(() => {});
      await run("groupdel", [group]).catch(() => {});
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
