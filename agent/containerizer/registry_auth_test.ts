import assert from "node:assert/strict";
import type { ContainerInfo } from "../../protocol/mod.ts";
import { base64Of } from "../../protocol/mod.ts";
import { pullAuth, registryAuthHeader, registryOf } from "./registry_auth.ts";

const withConfig = (config: string, name = "127.0.0.1:5000/app:1"): ContainerInfo => ({
  type: "MESOS",
  mesos: {
    image: {
      type: "DOCKER",
      docker: {
        name,
        config: { type: "VALUE", value: { data: base64Of(new TextEncoder().encode(config)) } },
      },
    },
  },
});

Deno.test("registryOf() reads the registry of an image reference as Docker does", () => {
  assert.equal(registryOf("busybox"), "docker.io");
  assert.equal(registryOf("library/busybox:1"), "docker.io");
  assert.equal(registryOf("index.docker.io/library/busybox"), "docker.io");
  assert.equal(registryOf("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
  assert.equal(registryOf("localhost/app"), "localhost");
  assert.equal(registryOf("registry.example.com/team/app@sha256:ab"), "registry.example.com");
});

Deno.test("pullAuth() finds the image's registry in a Docker config, by auth or by name", () => {
  const auth = btoa("alice:pa55:word");
  const byAuth = pullAuth(
    withConfig(JSON.stringify({ auths: { "https://127.0.0.1:5000/v1/": { auth } } })),
    "127.0.0.1:5000/app:1",
  );
  assert.deepEqual(byAuth, {
    ok: true,
    auth: { username: "alice", password: "pa55:word", serveraddress: "127.0.0.1:5000" },
  });
  const byName = pullAuth(
    withConfig(JSON.stringify({ auths: { "127.0.0.1:5000": { username: "b", password: "p" } } })),
    "127.0.0.1:5000/app:1",
  );
  assert.deepEqual(byName, {
    ok: true,
    auth: { username: "b", password: "p", serveraddress: "127.0.0.1:5000" },
  });
  // Another registry's entry: an anonymous pull, as Mesos' puller makes.
  const other = pullAuth(
    withConfig(JSON.stringify({ auths: { "other:5000": { auth } } })),
    "127.0.0.1:5000/app:1",
  );
  assert.deepEqual(other, { ok: true });
  assert.deepEqual(pullAuth({ type: "DOCKER", docker: { image: "x" } }, "x"), { ok: true });
});

Deno.test("pullAuth() refuses a config it cannot read without quoting it", () => {
  const secretText = "not json, s3cret";
  const bad = pullAuth(withConfig(secretText), "127.0.0.1:5000/app:1");
  assert.ok(!bad.ok);
  assert.match(bad.reason, /Docker config of image "127\.0\.0\.1:5000\/app:1": it is not JSON/);
  assert.ok(!bad.reason.includes("s3cret"));
  const noColon = pullAuth(
    withConfig(JSON.stringify({ auths: { "127.0.0.1:5000": { auth: btoa("s3cret") } } })),
    "127.0.0.1:5000/app:1",
  );
  assert.ok(!noColon.ok);
  assert.ok(!noColon.reason.includes("s3cret"), noColon.reason);
  const reference = pullAuth({
    type: "MESOS",
    mesos: {
      image: {
        type: "DOCKER",
        docker: { name: "a/b", config: { type: "REFERENCE", reference: { name: "/cfg" } } },
      },
    },
  }, "a/b");
  assert.ok(!reference.ok);
  assert.match(reference.reason, /REFERENCE/);
});

Deno.test("registryAuthHeader() is base64url JSON of username, password and serveraddress", () => {
  const header = registryAuthHeader({ username: "u", password: "p?>", serveraddress: "r:5000" });
  assert.ok(!/[+/]/.test(header), header);
  const json = atob(header.replaceAll("-", "+").replaceAll("_", "/"));
  assert.deepEqual(JSON.parse(json), { username: "u", password: "p?>", serveraddress: "r:5000" });
});
