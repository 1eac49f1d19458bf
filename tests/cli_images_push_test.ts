/**
 * `tender images push` into a real registry: a `docker save` archive built here with tar (no
 * Docker), an OCI layout made by skopeo, and, with Docker, an image `docker pull` then runs.
 */
import assert from "node:assert/strict";
import { readTar, sha256 } from "../cli/image_archive.ts";
import { dockerAvailable, mustRun, run, startTestRegistry } from "./registry_helpers.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const hasDocker = await dockerAvailable();
const hasSkopeo = (await run(["sh", "-c", "command -v skopeo"])).code === 0;

function tender(registry: string, ...args: string[]) {
  return run([Deno.execPath(), "run", "-A", MAIN, ...args], undefined, {
    TENDER_REGISTRY: registry,
    NO_COLOR: "1",
  });
}

/** A `docker save`-shaped archive of one layer holding /hello.txt, made with tar. */
async function buildArchive(dir: string): Promise<{ path: string; layer: Uint8Array }> {
  await Deno.mkdir(`${dir}/root`, { recursive: true });
  await Deno.writeTextFile(`${dir}/root/hello.txt`, "hello from a pushed layer\n");
  await Deno.mkdir(`${dir}/image/abc`, { recursive: true });
  await mustRun(["tar", "-C", `${dir}/root`, "-cf", `${dir}/image/abc/layer.tar`, "."]);
  const layer = await Deno.readFile(`${dir}/image/abc/layer.tar`);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [await sha256(layer)] },
  });
  const configName = `${(await sha256(new TextEncoder().encode(config))).slice(7)}.json`;
  await Deno.writeTextFile(`${dir}/image/${configName}`, config);
  await Deno.writeTextFile(
    `${dir}/image/manifest.json`,
    JSON.stringify([{ Config: configName, RepoTags: ["hello:1"], Layers: ["abc/layer.tar"] }]),
  );
  await mustRun(["tar", "-C", `${dir}/image`, "-cf", `${dir}/hello.tar`, "."]);
  return { path: `${dir}/hello.tar`, layer };
}

Deno.test("tender images push", async (t) => {
  const registry = await startTestRegistry();
  const dir = await Deno.makeTempDir({ prefix: "tender-push-" });
  try {
    const archive = await buildArchive(dir);

    await t.step("readTar() reads what tar wrote, ./ prefixes dropped", async () => {
      const files = readTar(await Deno.readFile(archive.path));
      assert.deepEqual(files.get("abc/layer.tar"), archive.layer);
      assert.ok(files.has("manifest.json"));
    });

    await t.step(
      "a docker save archive, without Docker; a second push finds the blobs",
      async () => {
        const first = await tender(registry.url, "images", "push", archive.path, "team/hello:1");
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /pushed/);
        assert.match(
          first.stdout,
          /^Pushed 127\.0\.0\.1:\d+\/team\/hello:1 from docker save \(hello:1\) \(sha256:[0-9a-f]{64}\)$/m,
        );
        const again = await tender(
          registry.url,
          "images",
          "push",
          archive.path,
          "team/hello:2",
          "--json",
        );
        assert.equal(again.code, 0, again.stderr);
        const report = JSON.parse(again.stdout);
        assert.deepEqual(report.blobs.map((b: { pushed: boolean }) => b.pushed), [false, false]);

        const manifest = await (await fetch(`${registry.url}/v2/team/hello/manifests/1`, {
          headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
        })).json();
        assert.equal(
          manifest.layers[0].mediaType,
          "application/vnd.docker.image.rootfs.diff.tar.gzip",
        );
        const gz = await fetch(`${registry.url}/v2/team/hello/blobs/${manifest.layers[0].digest}`);
        const unpacked = new Uint8Array(
          await new Response(gz.body!.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer(),
        );
        assert.deepEqual(unpacked, archive.layer);
        const listed = await tender(registry.url, "images", "list", "--json");
        assert.deepEqual(JSON.parse(listed.stdout), [{
          repository: "team/hello",
          tags: ["1", "2"],
        }]);
      },
    );

    await t.step({
      name: "an OCI layout written by skopeo, picked by its ref",
      ignore: !hasSkopeo,
      fn: async () => {
        await mustRun(["skopeo", "copy", `docker-archive:${archive.path}`, `oci:${dir}/layout:v1`]);
        const r = await tender(
          registry.url,
          "images",
          "push",
          `${dir}/layout:v1`,
          `${registry.host}/oci/hello:v1`,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /from OCI image layout/);
        const inspect = JSON.parse(
          await mustRun([
            "skopeo",
            "inspect",
            "--tls-verify=false",
            `docker://${registry.host}/oci/hello:v1`,
          ]),
        );
        assert.equal(inspect.Layers.length, 1);
      },
    });

    await t.step({
      name: "a `docker save` of tender-busybox pushes, pulls and runs (needs Docker)",
      ignore: !hasDocker ||
        (await run(["docker", "image", "inspect", "tender-busybox:latest"])).code !== 0,
      fn: async () => {
        await mustRun(["docker", "save", "-o", `${dir}/busybox.tar`, "tender-busybox:latest"]);
        const ref = `${registry.host}/pushed/busybox:1`;
        const r = await tender(registry.url, "images", "push", `${dir}/busybox.tar`, ref);
        assert.equal(r.code, 0, r.stderr);
        try {
          await mustRun(["docker", "pull", ref]);
          assert.equal(
            await mustRun(["docker", "run", "--rm", ref, "/bin/busybox", "echo", "ran"]),
            "ran\n",
          );
        } finally {
          await run(["docker", "rmi", "-f", ref]);
        }
      },
    });

    await t.step("errors: missing file, not an image, bad name", async () => {
      const missing = await tender(registry.url, "images", "push", `${dir}/nope.tar`, "x:1");
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        /no file or directory ".*nope\.tar": give a `docker save` archive or an OCI layout/,
      );
      await Deno.writeTextFile(`${dir}/junk.tar`, "");
      const junk = await tender(registry.url, "images", "push", `${dir}/junk.tar`, "x:1");
      assert.equal(junk.code, 1);
      assert.match(junk.stderr, /is neither a `docker save` archive/);
      const bad = await tender(registry.url, "images", "push", archive.path, "Bad Name");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid repository name/);
    });
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
