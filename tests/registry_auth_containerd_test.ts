/**
 * The containerd containerizer logs in to a private registry with a MESOS container's
 * `Image.Docker.config` (CRI `PullImageRequest.auth`): a wrong password fails the launch naming
 * the registry's refusal, the right one pulls and runs the image. Neither password is in the
 * launch's error.
 */
import assert from "node:assert/strict";
import { buildBusyboxImage } from "../agent/containerizer/busybox_image.ts";
import { ContainerdContainerizer } from "../agent/containerizer/containerd.ts";
import type { ContainerSpec } from "../agent/containerizer/containerizer.ts";
import { base64Of } from "../protocol/mod.ts";
import { noContainerd, noContainerdReason, startContainerd } from "./support/containerd.ts";
import { digestOf, startTestRegistry } from "./registry_helpers.ts";

if (noContainerd) console.warn(`containerd registry auth test ignored: ${noContainerdReason}`);

const PASSWORD = "ctd-pa55-51d0";
const WRONG = "ctd-wrong-77e2";

Deno.test({
  name: "ContainerdContainerizer pulls a private image with Image.Docker.config; a wrong " +
    "password fails naming the registry's refusal (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tender-ctd-auth-" });
    const ctd = await startContainerd({ importTestImage: false });
    const containerizer = new ContainerdContainerizer({
      socketPath: ctd.socket,
      owner: `test-auth-${crypto.randomUUID().slice(0, 8)}`,
      node: ctd.node,
    });
    const registry = await startTestRegistry({ auth: { users: { puller: PASSWORD } } });
    const login = { Authorization: `Basic ${btoa(`puller:${PASSWORD}`)}` };
    const image = `${registry.host}/private/shell:1`;
    const spec = (id: string, password: string): ContainerSpec => {
      const config = JSON.stringify({
        auths: { [registry.host]: { auth: btoa(`puller:${password}`) } },
      });
      return {
        agentId: "agent-1",
        frameworkId: "framework-1",
        taskId: `task-${id}`,
        command: { value: "exit 9" },
        container: {
          type: "MESOS",
          mesos: {
            image: {
              type: "DOCKER",
              docker: {
                name: image,
                config: {
                  type: "VALUE",
                  value: { data: base64Of(new TextEncoder().encode(config)) },
                },
              },
            },
          },
        },
        limits: { cpus: 0.25, memMb: 32, diskMb: 0 },
        ports: [],
        env: {},
        hostIp: "127.0.0.1",
        sandbox: `${dir}/sandboxes/${id}`,
      };
    };
    try {
      const blobs = await buildBusyboxImage("shell");
      for (const blob of [blobs.layer, blobs.config]) {
        const r = await fetch(
          `${registry.url}/v2/private/shell/blobs/uploads/?digest=${digestOf(blob)}`,
          { method: "POST", body: blob, headers: login },
        );
        await r.body?.cancel();
        assert.equal(r.status, 201);
      }
      const put = await fetch(`${registry.url}/v2/private/shell/manifests/1`, {
        method: "PUT",
        body: blobs.manifest,
        headers: { ...login, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      });
      await put.body?.cancel();
      assert.equal(put.status, 201);
      // containerd speaks plain HTTP to this registry (as Docker does to 127.0.0.0/8).
      await Deno.mkdir(`${ctd.dir}/certs.d/${registry.host}`, { recursive: true });
      await Deno.writeTextFile(
        `${ctd.dir}/certs.d/${registry.host}/hosts.toml`,
        [
          `server = "http://${registry.host}"`,
          "",
          `[host."http://${registry.host}"]`,
          `  capabilities = ["pull", "resolve"]`,
          "",
        ].join("\n"),
      );

      const refused = await containerizer.launch("wrong", spec("wrong", WRONG)).then(
        () => undefined,
        (e: Error) => e.message,
      );
      assert.ok(refused, "a wrong password must fail the launch");
      assert.match(refused, new RegExp(`Cannot pull image "${image}"`));
      assert.match(refused, /401|unauthorized/i);
      assert.ok(!refused.includes(WRONG) && !refused.includes(btoa(`puller:${WRONG}`)), refused);
      assert.equal((await containerizer.wait("wrong"))?.reason, "launch_failed");
      await containerizer.destroy("wrong", 0);

      await containerizer.launch("right", spec("right", PASSWORD));
      assert.equal((await containerizer.wait("right"))?.exitCode, 9);
      await containerizer.destroy("right", 0);
    } finally {
      containerizer.close();
      await registry.close();
      await ctd.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
