/**
 * Issue 5, item 4: a task whose image lives only in the master's built-in registry runs, once
 * `docker push` has put it there — the agent's engine pulls it.
 */
import assert from "node:assert/strict";
import { probeDocker } from "../agent/containerizer/docker.ts";
import { taskInfo } from "../mod.ts";
import { Cluster, freePort, waitFor } from "./support/cluster.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const dockerUp = await probeDocker("/var/run/docker.sock");

async function docker(...args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`docker ${args.join(" ")} failed: ${text}`);
  return text;
}

Deno.test({
  name: "a task runs from an image pushed to the master's registry (needs Docker)",
  ignore: !dockerUp,
  fn: async () => {
    const registryPort = freePort();
    const image = `127.0.0.1:${registryPort}/web:1`;
    const cluster = await Cluster.start(["--registry-port", String(registryPort)]);
    const fw = new RecordingFramework(cluster.masterUrl);
    try {
      await waitFor(
        "the registry",
        async () => (await fetch(`http://127.0.0.1:${registryPort}/v2/`)).ok,
      );
      await docker("tag", "tender-busybox:latest", image);
      await docker("push", image);
      await docker("rmi", image); // only the registry has it now
      await cluster.addAgent([
        "--containerizer",
        "docker",
        "--resources",
        "cpus:2;mem:1024;ports:[31000-31099]",
      ]);
      await fw.driver.start();
      const offer = await fw.takeOffer();
      await fw.driver.launch([offer.id.value], [taskInfo({
        name: "web",
        taskId: "web-1",
        agentId: offer.agent_id.value,
        cpus: 0.1,
        mem: 32,
        command: "echo pulled",
        docker: { image },
      })]);
      await fw.waitForState("web-1", "TASK_FINISHED", 60_000);
      assert.ok(
        (await docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).includes(image),
      );
    } finally {
      await fw.driver.stop({ teardown: true }).catch(() => {});
      await cluster.stop();
      await docker("rmi", "-f", image).catch(() => "");
    }
  },
});
