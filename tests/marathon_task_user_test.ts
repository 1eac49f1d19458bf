/**
 * Marathon's app `user`, end to end on a real master and process agent: an app with
 * `user: nobody` runs as uid 65534 (read from inside the task), one without a user runs as
 * Marathon's framework user, and an unknown user fails the task naming the user. Needs root.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { call } from "./support/marathon_api.ts";

/** The stdout of the app's (only) task, from its sandbox under the agent's work dir. */
async function taskOutput(root: string, appId: string): Promise<string | undefined> {
  const prefix = `${appId.replace(/^\//, "").replaceAll("/", "_")}.`;
  const sandboxes = `${root}/agent-0/sandboxes`;
  for await (const fw of Deno.readDir(sandboxes)) {
    for await (const task of Deno.readDir(`${sandboxes}/${fw.name}`)) {
      if (!task.name.startsWith(prefix)) continue;
      const out = await Deno.readTextFile(`${sandboxes}/${fw.name}/${task.name}/stdout`)
        .catch(() => "");
      if (out.trim() !== "") return out.trim();
    }
  }
  return undefined;
}

Deno.test({
  name: "a Marathon app's user is the Unix user its task runs as (needs root)",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const cluster = await Cluster.start();
    // The agent's work dir is below the cluster's temp dir (0700): tasks of other users must
    // pass through it to their sandboxes, as through Mesos' /var/lib/mesos.
    await Deno.chmod(cluster.root, 0o711);
    const workDir = await Deno.makeTempDir({ prefix: "marathon-user-" });
    const marathon = await startMarathon({
      master: cluster.masterUrl,
      port: 0,
      workDir,
      tickMs: 200,
      user: "root",
    });
    try {
      await cluster.addAgent([
        "--containerizer",
        "process",
        "--resources",
        "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
      ]);
      const fwId = await waitFor(
        "marathon to subscribe",
        () => marathon.driver.frameworkId,
        60_000,
      );
      for (const [id, user] of [["/as-nobody", "nobody"], ["/as-default", undefined]] as const) {
        const created = await call(`${marathon.url}/v2/apps`, "POST", {
          id,
          cmd: "id -u; exec sleep 600",
          cpus: 0.1,
          mem: 16,
          instances: 1,
          ...(user ? { user } : {}),
        });
        assert.equal(created.status, 201, JSON.stringify(created.json));
      }
      const root = cluster.root;
      assert.equal(
        await waitFor("/as-nobody to print its uid", () => taskOutput(root, "/as-nobody"), 60_000),
        "65534",
      );
      assert.equal(
        await waitFor(
          "/as-default to print its uid",
          () => taskOutput(root, "/as-default"),
          60_000,
        ),
        "0",
        "without a user, the framework's (Marathon's --mesos-user, here root)",
      );

      const ghost = await call(`${marathon.url}/v2/apps`, "POST", {
        id: "/as-ghost",
        cmd: "sleep 600",
        cpus: 0.1,
        mem: 16,
        instances: 1,
        user: "no-such-user-7",
      });
      assert.equal(ghost.status, 201);
      // Marathon shows why, as its users read it: the app's lastTaskFailure.
      const failure = await waitFor("the ghost's lastTaskFailure", async () => {
        const r = await call(`${marathon.url}/v2/apps/as-ghost?embed=app.lastTaskFailure`);
        return r.json.app?.lastTaskFailure ?? false;
      }, 60_000);
      assert.equal(failure.state, "TASK_FAILED");
      assert.match(
        failure.message,
        /as user "no-such-user-7": there is no such user on this agent/,
      );
      assert.ok(fwId);
    } finally {
      await marathon.stop();
      await cluster.stop();
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
