/** The registry with the real docker CLI and skopeo: push, remove, pull, same digest; login. */
import assert from "node:assert/strict";
import { dockerAvailable, mustRun, run, startTestRegistry } from "./registry_helpers.ts";

const hasDocker = await dockerAvailable();
const BUSYBOX = "tender-busybox:latest";
const hasBusybox = hasDocker && (await run(["docker", "image", "inspect", BUSYBOX])).code === 0;
const hasSkopeo = (await run(["skopeo", "--version"]).catch(() => ({ code: 1 }))).code === 0;

async function repoDigest(image: string): Promise<string> {
  const out = await mustRun([
    "docker",
    "image",
    "inspect",
    "--format",
    "{{json .RepoDigests}}",
    image,
  ]);
  const digests: string[] = JSON.parse(out);
  const repo = image.slice(0, image.lastIndexOf(":"));
  const found = digests.find((d) => d.startsWith(`${repo}@`));
  assert.ok(found, `no repo digest for ${image} in ${out}`);
  return found.slice(repo.length + 1);
}

/** Docker prints `<tag>: digest: sha256:... size: N` at the end of a push. */
function pushedDigest(output: string): string {
  const m = output.match(/digest: (sha256:[a-f0-9]{64})/);
  assert.ok(m?.[1], output);
  return m[1];
}

async function removeImages(...refs: string[]): Promise<void> {
  for (const ref of refs) await run(["docker", "rmi", "-f", ref]);
}

/** Builds an image of three layers (busybox plus two random ones) without any network. */
async function buildMultiLayer(tag: string): Promise<string[]> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const containers = [`tender-reg-ml1-${suffix}`, `tender-reg-ml2-${suffix}`];
  try {
    await mustRun([
      "docker",
      "run",
      "--name",
      containers[0] ?? "",
      BUSYBOX,
      "sh",
      "-c",
      "head -c 300000 /dev/urandom > /layer1",
    ]);
    await mustRun(["docker", "commit", containers[0] ?? "", `${tag}-step1`]);
    await mustRun([
      "docker",
      "run",
      "--name",
      containers[1] ?? "",
      `${tag}-step1`,
      "sh",
      "-c",
      "head -c 200000 /dev/urandom > /layer2; echo hello-from-layer2 > /hello",
    ]);
    await mustRun(["docker", "commit", containers[1] ?? "", tag]);
  } finally {
    for (const c of containers) await run(["docker", "rm", "-f", c]);
  }
  await removeImages(`${tag}-step1`);
  return [tag];
}

Deno.test({
  name: "registry with docker: push, remove, pull gives the same digest (busybox and multi-layer)",
  ignore: !hasBusybox,
  async fn(t) {
    const reg = await startTestRegistry();
    const images: string[] = [];
    try {
      await t.step("busybox test image round-trips with the same digest", async () => {
        const ref = `${reg.host}/tender/busybox:1`;
        images.push(ref);
        await mustRun(["docker", "tag", BUSYBOX, ref]);
        const pushed = pushedDigest(await mustRun(["docker", "push", ref]));
        await mustRun(["docker", "rmi", ref]);
        await mustRun(["docker", "pull", ref]);
        assert.equal(await repoDigest(ref), pushed);
        const res = await fetch(`${reg.url}/v2/tender/busybox/manifests/1`, {
          headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
        });
        await res.body?.cancel();
        assert.equal(res.headers.get("docker-content-digest"), pushed);
      });

      await t.step(
        "a multi-layer image is pulled layer by layer and runs from the registry",
        async () => {
          const local = `tender-reg-multi-${crypto.randomUUID().slice(0, 8)}:1`;
          const ref = `${reg.host}/apps/multi:1`;
          images.push(local, ref);
          await buildMultiLayer(local);
          await mustRun(["docker", "tag", local, ref]);
          const pushed = pushedDigest(await mustRun(["docker", "push", ref]));
          const manifest = await (await fetch(`${reg.url}/v2/apps/multi/manifests/1`)).json();
          assert.equal(manifest.layers.length, 3);
          // Remove every local copy of the two new layers, so the pull has to download them.
          await removeImages(local, ref);
          const pull = await mustRun(["docker", "pull", ref]);
          assert.match(pull, /Pull complete/);
          assert.equal(await repoDigest(ref), pushed);
          // What an agent does with `"image": "127.0.0.1:PORT/apps/multi:1"`: pull and run it.
          await removeImages(ref);
          const out = await mustRun(["docker", "run", "--rm", ref, "cat", "/hello"]);
          assert.equal(out.trim(), "hello-from-layer2");
        },
      );

      await t.step("a second repository of the same image mounts its layers", async () => {
        const ref = `${reg.host}/apps/copy:1`;
        images.push(ref);
        await mustRun(["docker", "tag", `${reg.host}/apps/multi:1`, ref]);
        const out = await mustRun(["docker", "push", ref]);
        assert.match(out, /Mounted from apps\/multi|Layer already exists/);
      });
    } finally {
      await removeImages(...images);
      await reg.close();
    }
  },
});

Deno.test({
  name: "registry with skopeo: copy in from a docker archive, inspect, copy out to an OCI layout",
  ignore: !hasBusybox || !hasSkopeo,
  async fn() {
    const reg = await startTestRegistry();
    const dir = await Deno.makeTempDir({ prefix: "tender-registry-skopeo-" });
    const local = `tender-reg-skopeo-${crypto.randomUUID().slice(0, 8)}:1`;
    try {
      await buildMultiLayer(local);
      await mustRun(["docker", "save", "-o", `${dir}/image.tar`, local]);
      await mustRun([
        "skopeo",
        "copy",
        "--dest-tls-verify=false",
        `docker-archive:${dir}/image.tar`,
        `docker://${reg.host}/skopeo/multi:1`,
      ]);
      const inspect = JSON.parse(
        await mustRun([
          "skopeo",
          "inspect",
          "--tls-verify=false",
          `docker://${reg.host}/skopeo/multi:1`,
        ]),
      );
      assert.equal(inspect.Layers.length, 3);
      assert.deepEqual(inspect.RepoTags, ["1"]);
      await mustRun([
        "skopeo",
        "copy",
        "--src-tls-verify=false",
        `docker://${reg.host}/skopeo/multi:1`,
        `oci:${dir}/layout:1`,
      ]);
      const index = JSON.parse(await Deno.readTextFile(`${dir}/layout/index.json`));
      const manifestDigest: string = index.manifests[0].digest;
      const manifest = JSON.parse(
        await Deno.readTextFile(`${dir}/layout/blobs/sha256/${manifestDigest.slice(7)}`),
      );
      assert.equal(manifest.layers.length, 3);
      // Same layers in, same layers out (skopeo may convert the manifest's media type, not the blobs).
      assert.deepEqual(manifest.layers.map((l: { digest: string }) => l.digest), inspect.Layers);
      // And registry to registry, which mounts nothing but copies every blob through us twice.
      await mustRun([
        "skopeo",
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        `docker://${reg.host}/skopeo/multi:1`,
        `docker://${reg.host}/skopeo/again:2`,
      ]);
      const again = JSON.parse(
        await mustRun([
          "skopeo",
          "inspect",
          "--tls-verify=false",
          `docker://${reg.host}/skopeo/again:2`,
        ]),
      );
      assert.equal(again.Digest, inspect.Digest);
    } finally {
      await removeImages(local);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await reg.close();
    }
  },
});

Deno.test({
  name: "registry with docker login: bearer tokens, anonymous pull, push needs credentials",
  ignore: !hasBusybox,
  async fn(t) {
    const config = await Deno.makeTempDir({ prefix: "tender-registry-dockercfg-" });
    const env = { DOCKER_CONFIG: config };
    const images: string[] = [];
    for (const scheme of ["bearer", "basic"] as const) {
      const reg = await startTestRegistry({
        auth: { users: { alice: "s3cret" }, anonymousPull: true, scheme },
      });
      const ref = `${reg.host}/private/busybox:${scheme}`;
      images.push(ref);
      try {
        await t.step(`${scheme}: a wrong password fails docker login`, async () => {
          const bad = await run(
            ["docker", "login", reg.host, "-u", "alice", "--password-stdin"],
            new TextEncoder().encode("wrong\n"),
            env,
          );
          assert.notEqual(bad.code, 0, bad.stdout);
        });
        await t.step(`${scheme}: anonymous push is refused`, async () => {
          await mustRun(["docker", "tag", BUSYBOX, ref]);
          const push = await run(["docker", "push", ref], undefined, env);
          assert.notEqual(push.code, 0);
          assert.match(
            push.stderr + push.stdout,
            /unauthorized|authentication required|denied|no basic auth credentials/i,
          );
        });
        await t.step(`${scheme}: docker login then push and pull work`, async () => {
          const login = await mustRun(
            ["docker", "login", reg.host, "-u", "alice", "--password-stdin"],
            new TextEncoder().encode("s3cret\n"),
            env,
          );
          assert.match(login, /Login Succeeded/);
          const pushed = pushedDigest(await mustRun(["docker", "push", ref], undefined, env));
          await mustRun(["docker", "rmi", ref]);
          await mustRun(["docker", "pull", ref], undefined, env);
          assert.equal(await repoDigest(ref), pushed);
          await mustRun(["docker", "logout", reg.host], undefined, env);
        });
        await t.step(
          `${scheme}: after logout, anonymous pull ${
            scheme === "bearer" ? "works" : "needs login"
          }`,
          async () => {
            await mustRun(["docker", "rmi", ref]);
            const pull = await run(["docker", "pull", ref], undefined, env);
            // Docker answers a Basic challenge on /v2/ only with credentials, so anonymous pull
            // through Docker needs the token scheme; curl and skopeo can pull anonymously with both.
            assert.equal(pull.code === 0, scheme === "bearer", pull.stderr);
          },
        );
      } finally {
        await reg.close();
      }
    }
    await removeImages(...images);
    await Deno.remove(config, { recursive: true }).catch(() => {});
  },
});
