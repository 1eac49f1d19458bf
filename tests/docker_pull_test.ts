/** Pulling a task's image from a registry the Engine reaches (needs Docker and docker-registry). */
import assert from "node:assert/strict";
import { DockerContainerizer } from "../agent/containerizer/docker.ts";
import {
  ensureTestImage,
  eventually,
  IMAGE,
  noDocker,
  removeOwned,
  SOCKET,
  testOwner,
} from "./docker_helpers.ts";

const hasTools = await Promise.all(
  ["docker-registry", "skopeo"].map((tool) =>
    new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" }).output()
      .then((o) => o.success)
  ),
).then((all) => all.every(Boolean));

if (!noDocker) await ensureTestImage();

Deno.test({
  name: "DockerContainerizer.launch() pulls an absent image from a local registry, then runs it",
  ignore: noDocker || !hasTools,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tender-docker-pull-" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/config.yml`,
      [
        "version: 0.1",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${dir}/data`,
        "http:",
        `  addr: 127.0.0.1:${port}`,
      ].join("\n") + "\n",
    );
    const registry = new Deno.Command("docker-registry", {
      args: ["serve", `${dir}/config.yml`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const owner = testOwner("pull");
    const c = new DockerContainerizer({ socketPath: SOCKET, owner });
    const image = `127.0.0.1:${port}/tender-pull/busybox:t${crypto.randomUUID().slice(0, 8)}`;
    try {
      await eventually("registry answers", async () => {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
        await res?.body?.cancel();
        return res?.ok ? true : undefined;
      });
      const copy = await new Deno.Command("skopeo", {
        args: [
          "copy",
          "--dest-tls-verify=false",
          `docker-daemon:${IMAGE}`,
          `docker://${image}`,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
      assert.equal(await c.engine.hasImage(image), false);

      const id = `pull-${crypto.randomUUID().slice(0, 8)}`;
      await c.launch(id, {
        agentId: "agent-1",
        frameworkId: "framework-1",
        taskId: `task-${id}`,
        command: { value: "echo pulled" },
        container: { type: "DOCKER", docker: { image } },
        limits: { cpus: 0.1, memMb: 16, diskMb: 0 },
        ports: [],
        env: {},
        hostIp: "127.0.0.1",
        sandbox: "/tmp",
      });
      assert.equal((await c.wait(id))?.exitCode, 0);
      assert.equal(await new Response(c.logs(id, { stream: "stdout" })).text(), "pulled\n");
      assert.equal(await c.engine.hasImage(image), true);

      const missing = `127.0.0.1:${port}/tender-pull/busybox:absent`;
      const id2 = `pull-${crypto.randomUUID().slice(0, 8)}`;
      await assert.rejects(
        () =>
          c.launch(id2, {
            agentId: "agent-1",
            frameworkId: "framework-1",
            taskId: `task-${id2}`,
            container: { type: "DOCKER", docker: { image: missing } },
            limits: { cpus: 0.1, memMb: 16, diskMb: 0 },
            ports: [],
            env: {},
            hostIp: "127.0.0.1",
            sandbox: "/tmp",
          }),
        (e: Error) => e.message.startsWith(`Image "${missing}" not found`),
      );
      assert.equal((await c.wait(id2))?.reason, "launch_failed");
    } finally {
      await removeOwned(owner);
      await c.engine.removeImage(image).catch(() => undefined);
      c.close();
      registry.kill("SIGTERM");
      await registry.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}
