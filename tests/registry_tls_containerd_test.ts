/**
 * The containerd containerizer pulls from the built-in registry over TLS: containerd (through
 * CRI) trusts the registry's CA by its registry `config_path`, a `certs.d/HOST:PORT/hosts.toml`
 * naming the https server and its `ca`. Without it the pull fails on the certificate. The
 * registry listens on an address outside 127.0.0.0/8, where TLS is not skipped.
 */
import assert from "node:assert/strict";
import { buildBusyboxImage } from "../agent/containerizer/busybox_image.ts";
import { ContainerdContainerizer } from "../agent/containerizer/containerd.ts";
import type { ContainerSpec } from "../agent/containerizer/containerizer.ts";
import { serveRegistry } from "../registry/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { noContainerd, noContainerdReason, startContainerd } from "./support/containerd.ts";
import { digestOf } from "./registry_helpers.ts";

const HOST = Deno.networkInterfaces()
  .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  .sort((a, b) => Number(b.name === "docker0") - Number(a.name === "docker0"))[0]?.address;

if (noContainerd) console.warn(`containerd TLS test ignored: ${noContainerdReason}`);

Deno.test({
  name:
    "ContainerdContainerizer pulls from the registry over TLS once hosts.toml names its CA (needs containerd)",
  ignore: noContainerd || HOST === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tender-ctd-tls-" });
    const ctd = await startContainerd({ importTestImage: false });
    const owner = `test-tls-${crypto.randomUUID().slice(0, 8)}`;
    const containerizer = new ContainerdContainerizer({
      socketPath: ctd.socket,
      owner,
      node: ctd.node,
    });
    const certs = await makeCerts(`${dir}/certs`, [HOST!]);
    const registry = await serveRegistry({
      workDir: `${dir}/registry`,
      hostname: HOST,
      port: 0,
      tls: { cert: await Deno.readTextFile(certs.cert), key: await Deno.readTextFile(certs.key) },
    });
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    const spec = (id: string, image: string): ContainerSpec => ({
      agentId: "agent-1",
      frameworkId: "framework-1",
      taskId: `task-${id}`,
      command: { value: "exit 9" },
      container: { type: "DOCKER", docker: { image, network: "BRIDGE" } },
      limits: { cpus: 0.25, memMb: 32, diskMb: 0 },
      ports: [],
      env: {},
      hostIp: "127.0.0.1",
      sandbox: `${dir}/sandboxes/${id}`,
    });
    try {
      assert.match(registry.url, /^https:/);
      const blobs = await buildBusyboxImage("shell");
      for (const blob of [blobs.layer, blobs.config]) {
        const r = await fetch(
          `${registry.url}/v2/tls/shell/blobs/uploads/?digest=${digestOf(blob)}`,
          { method: "POST", body: blob, client },
        );
        await r.body?.cancel();
        assert.equal(r.status, 201);
      }
      const put = await fetch(`${registry.url}/v2/tls/shell/manifests/1`, {
        method: "PUT",
        body: blobs.manifest,
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        client,
      });
      await put.body?.cancel();
      assert.equal(put.status, 201);
      const host = `${HOST}:${registry.port}`;
      const image = `${host}/tls/shell:1`;

      // containerd does not know the CA yet: the pull fails on the certificate.
      await assert.rejects(
        () => containerizer.launch("untrusted", spec("untrusted", image)),
        (e: Error) => /certificate|x509/i.test(e.message),
      );
      await containerizer.destroy("untrusted", 0);

      await Deno.mkdir(`${ctd.dir}/certs.d/${host}`, { recursive: true });
      await Deno.writeTextFile(
        `${ctd.dir}/certs.d/${host}/hosts.toml`,
        [
          `server = "https://${host}"`,
          "",
          `[host."https://${host}"]`,
          `  capabilities = ["pull", "resolve"]`,
          `  ca = "${certs.caCert}"`,
          "",
        ].join("\n"),
      );
      await containerizer.launch("pulled", spec("pulled", image));
      assert.equal((await containerizer.wait("pulled"))?.exitCode, 9);
    } finally {
      client.close();
      containerizer.close();
      await registry.close();
      await ctd.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
