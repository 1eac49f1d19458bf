/**
 * Named CNI networks on the containerd containerizer, against a FakeMaster and a private
 * containerd: a task naming the network containerd's CRI puts pods on ("tender", the one the
 * agent provides) runs with its pod's address on it in TASK_RUNNING; a name no CNI config has
 * fails the task naming it; VALUE secrets reach a pod as a variable and as files (one mounted
 * read-only at an absolute path). Ignored, visibly, where containerd, runc or the CNI plugins are
 * missing.
 */
import assert from "node:assert/strict";
import { type AgentEvent, base64Of, type TaskInfo } from "../protocol/mod.ts";
import { startAgent } from "../agent/mod.ts";
import { CRI_TEST_IMAGE, noContainerd, startContainerd } from "./support/containerd.ts";
import { FakeMaster, waitFor } from "./support/fake_master.ts";
import { launchEvent, testTask } from "./support/agent_tasks.ts";

function onNetwork(id: string, network: string): TaskInfo {
  return testTask(id, {
    command: { value: "sleep 3600" },
    container: {
      type: "DOCKER",
      docker: { image: CRI_TEST_IMAGE, network: "USER" },
      network_infos: [{ name: network }],
    },
  });
}

const launch = (task: TaskInfo): AgentEvent => launchEvent(task);

Deno.test({
  name:
    "containerd tasks join a CNI network by name; an unknown one fails naming it (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const ctd = await startContainerd();
    const master = new FakeMaster({ heartbeatIntervalSeconds: 1 });
    const workDir = await Deno.makeTempDir({ prefix: "tender-agent-cni-" });
    const agent = await startAgent({
      master: master.url,
      port: 0,
      workDir,
      resources: "cpus:2;mem:1024",
      containerizer: "containerd",
      containerdSocket: ctd.socket,
      statusUpdateRetryMs: 300,
      log: () => {},
    });
    try {
      await waitFor(() => agent.agent.connected, { what: "the agent to subscribe" });
      master.send(launch(onNetwork("on-cni", "tender")));
      const running = await master.waitForState("on-cni", "TASK_RUNNING", 60_000);
      const info = running.container_status?.network_infos?.[0];
      assert.equal(info?.name, "tender");
      assert.match(info?.ip_addresses?.[0]?.ip_address ?? "", /^10\.89\.\d+\.\d+$/);

      master.send(launch(onNetwork("no-cni", "no-such-cni")));
      const failed = await master.waitForState("no-cni", "TASK_FAILED", 60_000);
      assert.equal(failed.reason, "REASON_CONTAINER_LAUNCH_FAILED");
      assert.match(
        failed.message ?? "",
        /CNI network "no-such-cni" does not exist in containerd's /,
      );
      assert.match(failed.message ?? "", /networks there: "tender"/);

      // VALUE secrets on containerd: a variable, a file in the sandbox, one mounted read-only.
      const value = "ctd-s3cret-0b6d";
      const secret = {
        type: "VALUE" as const,
        value: { data: base64Of(new TextEncoder().encode(value)) },
      };
      master.send(launch({
        ...onNetwork("secrets", "tender"),
        command: {
          value: 'echo "env=$DB rel=$(cat $MESOS_SANDBOX/pw) abs=$(cat /etc/tender-pw)"; ' +
            "(echo x > /etc/tender-pw) 2>/dev/null || echo read-only; exec sleep 3600",
          environment: { variables: [{ name: "DB", type: "SECRET", secret }] },
        },
        container: {
          type: "DOCKER",
          docker: { image: CRI_TEST_IMAGE, network: "HOST" },
          volumes: [
            { container_path: "pw", mode: "RO", source: { type: "SECRET", secret } },
            { container_path: "/etc/tender-pw", mode: "RO", source: { type: "SECRET", secret } },
          ],
        },
      }));
      await master.waitForState("secrets", "TASK_RUNNING", 60_000);
      let out = "";
      await waitFor(async () => {
        out = await (await fetch(`${agent.url}/tasks/secrets/logs?stream=stdout`)).text();
        return out.includes("read-only");
      }, { what: "the task's output", timeoutMs: 30_000 });
      assert.equal(out, `env=${value} rel=${value} abs=${value}\nread-only\n`);
    } finally {
      await agent.stop().catch(() => undefined);
      await master.close();
      await ctd.stop();
      await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
    }
  },
});
