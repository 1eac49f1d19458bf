/**
 * The containerd containerizer against a real containerd of its own (started per test by
 * tests/support/containerd.ts, removed with all it made). Ignored, visibly, where no containerd,
 * runc or CNI plugins are installed, or not as root.
 */
import assert from "node:assert/strict";
import { containerizerConformance } from "../agent/containerizer/conformance.ts";
import type { Containerizer, ContainerSpec } from "../agent/containerizer/containerizer.ts";
import { ContainerdContainerizer, probeContainerd } from "../agent/containerizer/containerd.ts";
import { buildBusyboxImage } from "../agent/containerizer/busybox_image.ts";
import {
  CRI_TEST_IMAGE,
  noContainerd,
  noContainerdReason,
  startContainerd,
  type TestContainerd,
} from "./support/containerd.ts";
import { eventually } from "./docker_helpers.ts";
import { pushBlob, startTestRegistry } from "./registry_helpers.ts";

if (noContainerd) console.warn(`containerd tests ignored: ${noContainerdReason}`);

// The suite, unchanged: its own containerd lives from the first instance to the last dispose.
{
  let ctd: TestContainerd | undefined;
  let made = 0;
  let disposed = 0;
  const owner = `conformance-${crypto.randomUUID().slice(0, 8)}`;
  containerizerConformance(
    "containerd",
    async () => {
      ctd ??= await startContainerd();
      made++;
      return new ContainerdContainerizer({ socketPath: ctd.socket, owner, node: ctd.node });
    },
    {
      ignore: noContainerd,
      container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE, network: "BRIDGE" } },
      recovery: true,
      dispose: async (c: Containerizer) => {
        if (c instanceof ContainerdContainerizer) c.close();
        if (++disposed === made) await ctd?.stop();
      },
    },
  );
}

/** A private containerd and a containerizer on it for one test; `done()` removes everything. */
async function harness(name: string) {
  const ctd = await startContainerd();
  const owner = `test-${name}-${crypto.randomUUID().slice(0, 8)}`;
  const sandboxRoot = await Deno.makeTempDir({ prefix: "tender-ctd-sandbox-" });
  const instances: ContainerdContainerizer[] = [];
  const make = () => {
    const c = new ContainerdContainerizer({ socketPath: ctd.socket, owner, node: ctd.node });
    instances.push(c);
    return c;
  };
  const c = make();
  const spec = (id: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
    agentId: "agent-1",
    frameworkId: "framework-1",
    taskId: `task-${id}`,
    command: { value: "sleep 3600" },
    container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE, network: "BRIDGE" } },
    limits: { cpus: 0.25, memMb: 32, diskMb: 0 },
    ports: [],
    env: {},
    hostIp: "127.0.0.1",
    sandbox: `${sandboxRoot}/${id}`,
    ...overrides,
  });
  const done = async () => {
    for (const i of instances) i.close();
    await ctd.stop();
    await Deno.remove(sandboxRoot, { recursive: true }).catch(() => undefined);
  };
  return { c, ctd, make, spec, owner, sandboxRoot, done };
}

Deno.test({
  name:
    "ContainerdContainerizer labels pod and container, sets cgroup limits and env (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const h = await harness("labels");
    try {
      await h.c.launch("a", h.spec("a", { env: { GREETING: "hi" } }));
      const [container] = await h.c.cri.listContainers({ "tender.container_id": "a" });
      assert.ok(container);
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(container.labels).filter(([k]) => k.startsWith("tender.")),
        ),
        {
          "tender.owner": h.owner,
          "tender.agent_id": "agent-1",
          "tender.framework_id": "framework-1",
          "tender.task_id": "task-a",
          "tender.container_id": "a",
        },
      );
      const [pod] = await h.c.cri.listPodSandboxes({ "tender.container_id": "a" });
      assert.equal(pod?.labels["tender.task_id"], "task-a");
      const cgroup = (await run(h, "a", "cat /proc/self/cgroup")).split("\n")
        .find((l) => /:memory:/.test(l))?.split(":")[2];
      assert.ok(cgroup, "no memory cgroup");
      const limit = await Deno.readTextFile(`/sys/fs/cgroup/memory${cgroup}/memory.limit_in_bytes`)
        .catch(() => undefined);
      if (limit !== undefined) assert.equal(Number(limit), 32 * 1024 * 1024);
      assert.equal(await run(h, "a", 'echo "$GREETING $MESOS_SANDBOX"'), "hi /mnt/mesos/sandbox");
      assert.match(await h.c.networkAddress("a") ?? "", /^10\.213\.\d+\.\d+$/);
    } finally {
      await h.done();
    }
  },
});

/** Runs a shell command in a container through exec, returning its stdout (via a sandbox file). */
async function run(h: Awaited<ReturnType<typeof harness>>, id: string, script: string) {
  const code = await h.c.exec(id, { value: `(${script}) > /mnt/mesos/sandbox/out 2>&1` }, 10_000);
  assert.equal(code, 0, `${script} failed`);
  return (await Deno.readTextFile(`${h.sandboxRoot}/${id}/out`)).trim();
}

Deno.test({
  name:
    "ContainerdContainerizer publishes port mappings on the task's host ports through CNI portmap (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const h = await harness("ports");
    try {
      const hostPort = freePort();
      await h.c.launch(
        "web",
        h.spec("web", {
          command: { value: "exec httpd -f -p 8000 -h /www" },
          container: {
            type: "DOCKER",
            docker: {
              image: CRI_TEST_IMAGE,
              network: "BRIDGE",
              port_mappings: [{ host_port: 0, container_port: 8000, protocol: "tcp" }],
            },
          },
          ports: [hostPort],
        }),
      );
      const ip = await h.c.networkAddress("web");
      assert.ok(ip);
      const direct = await eventually("httpd answers on the pod IP", async () => {
        const res = await fetch(`http://${ip}:8000/`).catch(() => undefined);
        return res?.ok ? await res.text() : (await res?.body?.cancel(), undefined);
      });
      assert.equal(direct, "ok\n");
      const published = await eventually("httpd answers on the host port", async () => {
        const res = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
        return res?.ok ? await res.text() : (await res?.body?.cancel(), undefined);
      });
      assert.equal(published, "ok\n");
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name:
    "ContainerdContainerizer runs HOST-network tasks in the node's network namespace (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const h = await harness("hostnet");
    try {
      const port = freePort();
      await h.c.launch(
        "web",
        h.spec("web", {
          command: { value: 'exec httpd -f -p "127.0.0.1:$PORT0" -h /www' },
          container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE, network: "HOST" } },
          ports: [port],
          env: { PORT0: String(port) },
        }),
      );
      assert.equal(await h.c.networkAddress("web"), undefined);
      const body = await eventually("httpd answers on the host port", async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        return res?.ok ? await res.text() : (await res?.body?.cancel(), undefined);
      });
      assert.equal(body, "ok\n");
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name:
    "ContainerdContainerizer reports OOM kills and SIGKILLs, and keeps output in the sandbox (needs containerd)",
  ignore: noContainerd,
  fn: async (t) => {
    const h = await harness("ends");
    try {
      await t.step("a task past its memory limit is OOM-killed", async () => {
        const command = { value: "x=0123456789abcdef; while true; do x=$x$x; done" };
        await h.c.launch(
          "oom",
          h.spec("oom", { command, limits: { cpus: 0.5, memMb: 16, diskMb: 0 } }),
        );
        const term = await h.c.wait("oom");
        assert.equal(term?.reason, "oom", term?.message);
        assert.equal(term?.exitCode, null);
        assert.match(term?.message ?? "", /16 MiB/);
      });
      await t.step("destroy with grace 0 kills at once and removes the pod", async () => {
        await h.c.launch(
          "kill",
          h.spec("kill", { command: { value: "echo out; echo err >&2; exec sleep 3600" } }),
        );
        await eventually(
          "output",
          async () =>
            (await new Response(h.c.logs("kill", { stream: "stderr" })).text()) === "err\n" ||
            undefined,
        );
        const term = await h.c.destroy("kill", 0);
        assert.deepEqual(term, { exitCode: null, reason: "killed", message: "killed by SIGKILL" });
        assert.deepEqual(await h.c.cri.listPodSandboxes({ "tender.container_id": "kill" }), []);
        assert.equal(await Deno.readTextFile(`${h.sandboxRoot}/kill/stdout`), "out\n");
        assert.equal(await Deno.readTextFile(`${h.sandboxRoot}/kill/stderr`), "err\n");
      });
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name:
    "ContainerdContainerizer pulls from a plain-HTTP registry on 127.0.0.1, and fails a missing image with the registry's reason (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const h = await harness("pull");
    const registry = await startTestRegistry();
    try {
      const blobs = await buildBusyboxImage("shell");
      const url = `http://${registry.host}`;
      await pushBlob(url, "tender/shell", blobs.layer);
      await pushBlob(url, "tender/shell", blobs.config);
      const res = await fetch(`${url}/v2/tender/shell/manifests/1`, {
        method: "PUT",
        body: blobs.manifest,
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      });
      await res.body?.cancel();
      assert.equal(res.status, 201);
      const image = `${registry.host}/tender/shell:1`;
      await h.c.launch(
        "pulled",
        h.spec("pulled", {
          command: { value: "exit 9" },
          container: { type: "DOCKER", docker: { image, network: "BRIDGE" } },
        }),
      );
      assert.equal((await h.c.wait("pulled"))?.exitCode, 9);

      const missing = `${registry.host}/tender/missing:nope`;
      const spec = h.spec("missing", { container: { type: "DOCKER", docker: { image: missing } } });
      await assert.rejects(() => h.c.launch("missing", spec), (e: Error) => {
        assert.match(e.message, new RegExp(`Cannot pull image "${missing}": .*not found`));
        return true;
      });
      const term = await h.c.wait("missing");
      assert.equal(term?.reason, "launch_failed");
      assert.deepEqual(await h.c.destroy("missing", 0), term);
    } finally {
      await registry.close();
      await h.done();
    }
  },
});

Deno.test({
  name:
    "ContainerdContainerizer.recover() adopts running pods, reports ended ones, and sees no other owner's (needs containerd)",
  ignore: noContainerd,
  fn: async () => {
    const h = await harness("recover");
    try {
      await h.c.launch("alive", h.spec("alive"));
      await h.c.launch("ended", h.spec("ended", { command: { value: "echo bye; exit 4" } }));
      await h.c.wait("ended");
      h.c.close(); // the agent dies; its pods live on
      const fresh = h.make();
      const found = await fresh.recover(new Set(["alive", "ended"]));
      const byId = new Map(found.map((r) => [r.id, r]));
      assert.equal(found.length, 2);
      assert.deepEqual(byId.get("alive"), {
        id: "alive",
        frameworkId: "framework-1",
        taskId: "task-alive",
        termination: undefined,
      });
      assert.deepEqual(byId.get("ended")?.termination, {
        exitCode: 4,
        reason: "exited",
        message: "exited with status 4",
      });
      assert.equal(await new Response(fresh.logs("ended", { stream: "stdout" })).text(), "bye\n");
      const stranger = new ContainerdContainerizer({
        socketPath: h.ctd.socket,
        owner: "someone-else",
      });
      try {
        assert.deepEqual(await stranger.recover(new Set()), []);
      } finally {
        stranger.close();
      }
      assert.equal(await fresh.exec("alive", { value: "exit 3" }, 5_000), 3);
      assert.equal((await fresh.destroy("alive", 0))?.reason, "killed");
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name: "ContainerdContainerizer without containerd at the socket says so, naming the socket",
  fn: async () => {
    const socket = "/nonexistent/containerd.sock";
    const probe = await probeContainerd(socket);
    assert.equal(probe.ok, false);
    assert.match(
      probe.ok ? "" : probe.reason,
      /No containerd answers CRI at \/nonexistent\/containerd\.sock/,
    );
    const c = new ContainerdContainerizer({ socketPath: socket, owner: "nobody" });
    try {
      await assert.rejects(() => c.prepare(), /containerd\.sock/);
    } finally {
      c.close();
    }
  },
});

/** A free TCP port on 127.0.0.1 (bound and released). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
