/** The Docker containerizer against the real Engine (needs a Docker socket; ignored without). */
import assert from "node:assert/strict";
import type { ContainerSpec } from "../agent/containerizer/containerizer.ts";
import { containerizerConformance } from "../agent/containerizer/conformance.ts";
import { containerName, DockerContainerizer, probeDocker } from "../agent/containerizer/docker.ts";
import {
  ensureTestImage,
  eventually,
  IMAGE,
  noDocker,
  removeOwned,
  SOCKET,
  testOwner,
} from "./docker_helpers.ts";

if (!noDocker) await ensureTestImage();

const conformanceOwner = testOwner("conformance");
containerizerConformance(
  "docker",
  () => new DockerContainerizer({ socketPath: SOCKET, owner: conformanceOwner }),
  {
    ignore: noDocker,
    container: { type: "DOCKER", docker: { image: IMAGE, network: "BRIDGE" } },
    recovery: true,
    dispose: async (c) => {
      if (c instanceof DockerContainerizer) c.close();
      await removeOwned(conformanceOwner);
    },
  },
);

/** A fresh containerizer and a spec factory for one test; `done()` removes all it launched. */
function harness(name: string, socketPath = SOCKET) {
  const owner = testOwner(name);
  const instances: DockerContainerizer[] = [];
  const make = () => {
    const c = new DockerContainerizer({ socketPath, owner });
    instances.push(c);
    return c;
  };
  const c = make();
  const run = crypto.randomUUID().slice(0, 8);
  const id = (label: string) => `${name}-${run}-${label}`;
  const spec = (cid: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
    agentId: "agent-1",
    frameworkId: "framework-1",
    taskId: `task-${cid}`,
    command: { value: "sleep 3600" },
    container: { type: "DOCKER", docker: { image: IMAGE, network: "BRIDGE" } },
    limits: { cpus: 0.25, memMb: 32, diskMb: 0 },
    ports: [],
    env: {},
    hostIp: "127.0.0.1",
    sandbox: "/tmp",
    ...overrides,
  });
  const done = async () => {
    for (const i of instances) i.close();
    await removeOwned(owner);
  };
  return { c, make, id, spec, owner, done };
}

Deno.test({
  name: "DockerContainerizer.launch() labels the container and sets NanoCpus and Memory",
  ignore: noDocker,
  fn: async () => {
    const h = harness("labels");
    try {
      const id = h.id("a");
      await h.c.launch(id, h.spec(id, { env: { GREETING: "hi" } }));
      const info = await h.c.engine.inspect(containerName(id));
      assert.ok(info);
      assert.equal(info.Name, `/${containerName(id)}`);
      const labels = Object.entries(info.Config.Labels ?? {}).filter(([k]) =>
        k !== "tender.busybox.sha256"
      );
      assert.deepEqual(Object.fromEntries(labels), {
        "tender.owner": h.owner,
        "tender.agent_id": "agent-1",
        "tender.framework_id": "framework-1",
        "tender.task_id": `task-${id}`,
        "tender.container_id": id,
      });
      assert.equal(info.HostConfig.NanoCpus, 250_000_000);
      assert.equal(info.HostConfig.Memory, 32 * 1024 * 1024);
      assert.equal(info.HostConfig.MemorySwap, 32 * 1024 * 1024);
      assert.ok(info.Config.Env?.includes("GREETING=hi"));
      assert.equal(info.State.Running, true);
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name: "DockerContainerizer publishes a BRIDGE port mapping on the host port, bound to hostIp",
  ignore: noDocker,
  fn: async () => {
    const h = harness("ports");
    try {
      const id = h.id("web");
      const hostPort = freePort();
      await h.c.launch(
        id,
        h.spec(id, {
          command: { value: "exec httpd -f -p 8000 -h /www" },
          container: {
            type: "DOCKER",
            docker: {
              image: IMAGE,
              network: "BRIDGE",
              port_mappings: [{ host_port: 0, container_port: 8000, protocol: "tcp" }],
            },
          },
          ports: [hostPort],
        }),
      );
      const info = await h.c.engine.inspect(containerName(id));
      assert.deepEqual(info?.HostConfig.PortBindings, {
        "8000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }],
      });
      const body = await eventually("httpd answers", async () => {
        const res = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
        return res?.ok ? await res.text() : (await res?.body?.cancel(), undefined);
      });
      assert.equal(body, "ok\n");
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name: "DockerContainerizer reports natural exits, kills and OOM kills as Terminations",
  ignore: noDocker,
  fn: async (t) => {
    const h = harness("ends");
    try {
      await t.step("exit 0", async () => {
        const id = h.id("zero");
        await h.c.launch(id, h.spec(id, { command: { value: "exit 0" } }));
        assert.deepEqual(await h.c.wait(id), {
          exitCode: 0,
          reason: "exited",
          message: "exited with status 0",
        });
      });
      await t.step("exit 3", async () => {
        const id = h.id("three");
        await h.c.launch(id, h.spec(id, { command: { value: "exit 3" } }));
        assert.deepEqual(await h.c.wait(id), {
          exitCode: 3,
          reason: "exited",
          message: "exited with status 3",
        });
      });
      await t.step(
        "shell=false keeps the image entrypoint and runs value plus arguments",
        async () => {
          const id = h.id("argv");
          const command = { shell: false, value: "sh", arguments: ["-c", "exit 6"] };
          await h.c.launch(id, h.spec(id, { command }));
          assert.equal((await h.c.wait(id))?.exitCode, 6);
        },
      );
      await t.step("destroy with grace 0 kills at once", async () => {
        const id = h.id("kill");
        await h.c.launch(id, h.spec(id));
        const term = await h.c.destroy(id, 0);
        assert.deepEqual(term, { exitCode: null, reason: "killed", message: "killed by SIGKILL" });
        assert.equal(await h.c.engine.inspect(containerName(id)), undefined, "not removed");
      });
      await t.step("a task past its memory limit is OOM-killed", async () => {
        const id = h.id("oom");
        const command = { value: "x=0123456789abcdef; while true; do x=$x$x; done" };
        await h.c.launch(id, h.spec(id, { command, limits: { cpus: 0.5, memMb: 16, diskMb: 0 } }));
        const term = await h.c.wait(id);
        assert.equal(term?.reason, "oom", term?.message);
        assert.equal(term?.exitCode, null);
        assert.match(term?.message ?? "", /16 MiB/);
      });
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name:
    "DockerContainerizer runs HOST-network tasks on the host's ports, and caps CPUs at the host's",
  ignore: noDocker,
  fn: async () => {
    const h = harness("hostnet");
    try {
      const id = h.id("web");
      const port = freePort();
      await h.c.launch(
        id,
        h.spec(id, {
          command: { value: 'exec httpd -f -p "127.0.0.1:$PORT0" -h /www' },
          container: { type: "DOCKER", docker: { image: IMAGE, network: "HOST" } },
          limits: { cpus: 64, memMb: 32, diskMb: 0 },
          ports: [port],
          env: { PORT0: String(port) },
        }),
      );
      const info = await h.c.engine.inspect(containerName(id));
      assert.equal(info?.HostConfig.NetworkMode, "host");
      assert.equal(info?.HostConfig.NanoCpus, (await h.c.engine.info()).NCPU * 1e9);
      assert.equal(await h.c.networkAddress(id), undefined);
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
  name: "DockerContainerizer.logs() with follow and tail starts at the stream's last lines",
  ignore: noDocker,
  fn: async () => {
    const h = harness("tailfollow");
    try {
      const id = h.id("x");
      const script = "echo a; echo b; echo c; echo e1 >&2; echo e2 >&2; " +
        "while [ ! -f /tmp/go ]; do sleep 0.1; done; echo d; sleep 3600";
      await h.c.launch(id, h.spec(id, { command: { value: script } }));
      await eventually("output written", async () => {
        const text = await new Response(h.c.logs(id, { stream: "stderr" })).text();
        return text === "e1\ne2\n" ? true : undefined;
      });
      const abort = new AbortController();
      const stream = h.c.logs(id, {
        stream: "stdout",
        tail: 2,
        follow: true,
        signal: abort.signal,
      });
      const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
      const deadline = setTimeout(() => abort.abort(), 20_000); // ends the stream: reads fail
      let text = "";
      while (text !== "b\nc\n") {
        const { value, done } = await reader.read();
        assert.ok(!done, `stream ended early after ${JSON.stringify(text)}`);
        text += value;
      }
      assert.equal(await h.c.exec(id, { value: "touch /tmp/go" }, 10_000), 0);
      while (!text.endsWith("d\n")) {
        const { value, done } = await reader.read();
        assert.ok(!done, `stream ended early after ${JSON.stringify(text)}`);
        text += value;
      }
      assert.equal(text, "b\nc\nd\n");
      clearTimeout(deadline);
      abort.abort();
      await reader.cancel();
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name: "DockerContainerizer mounts the sandbox at $MESOS_SANDBOX, and volumes where asked",
  ignore: noDocker,
  fn: async () => {
    const h = harness("sandbox");
    const sandbox = await Deno.makeTempDir({ prefix: "tender-sandbox-" });
    const shared = await Deno.makeTempDir({ prefix: "tender-volume-" });
    try {
      await Deno.writeTextFile(`${shared}/in.txt`, "from host\n");
      const id = h.id("x");
      await h.c.launch(
        id,
        h.spec(id, {
          command: { value: 'echo "$MESOS_SANDBOX" > "$MESOS_SANDBOX/out.txt"; cat /data/in.txt' },
          container: {
            type: "DOCKER",
            docker: { image: IMAGE },
            volumes: [{ host_path: shared, container_path: "/data", mode: "RO" }],
          },
          env: { MESOS_SANDBOX: sandbox },
          sandbox,
        }),
      );
      assert.equal((await h.c.wait(id))?.exitCode, 0);
      assert.equal(await Deno.readTextFile(`${sandbox}/out.txt`), "/mnt/mesos/sandbox\n");
      assert.equal(await new Response(h.c.logs(id, { stream: "stdout" })).text(), "from host\n");
    } finally {
      await h.done();
      await Deno.remove(sandbox, { recursive: true });
      await Deno.remove(shared, { recursive: true });
    }
  },
});

Deno.test({
  name: "DockerContainerizer.launch() fails with launch_failed naming a missing image",
  ignore: noDocker,
  fn: async () => {
    const h = harness("noimage");
    try {
      const id = h.id("x");
      const image = "127.0.0.1:1/tender-missing:nope";
      const spec = h.spec(id, { container: { type: "DOCKER", docker: { image } } });
      await assert.rejects(() => h.c.launch(id, spec), (e: Error) => e.message.includes(image));
      const term = await h.c.wait(id);
      assert.equal(term?.reason, "launch_failed");
      assert.equal(term?.exitCode, null);
      assert.ok(term?.message.includes(`"${image}"`), term?.message);
      assert.deepEqual(await h.c.destroy(id, 0), term);
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name: "DockerContainerizer.launch() fails cleanly when the host port is taken",
  ignore: noDocker,
  fn: async () => {
    const h = harness("busyport");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const id = h.id("x");
      const port = (listener.addr as Deno.NetAddr).port;
      const spec = h.spec(id, {
        container: {
          type: "DOCKER",
          docker: {
            image: IMAGE,
            network: "BRIDGE",
            port_mappings: [{ host_port: port, container_port: 80 }],
          },
        },
      });
      await assert.rejects(() => h.c.launch(id, spec), /Cannot start container/);
      assert.equal((await h.c.wait(id))?.reason, "launch_failed");
      assert.equal(await h.c.engine.inspect(containerName(id)), undefined, "left a container");
    } finally {
      listener.close();
      await h.done();
    }
  },
});

Deno.test({
  name: "DockerContainerizer without an engine rejects launches with a clear message",
  fn: async () => {
    const c = new DockerContainerizer({ socketPath: "/nonexistent/docker.sock", owner: "nobody" });
    try {
      const spec: ContainerSpec = {
        agentId: "a",
        frameworkId: "f",
        taskId: "t",
        container: { type: "DOCKER", docker: { image: IMAGE } },
        limits: { cpus: 0.1, memMb: 16, diskMb: 0 },
        ports: [],
        env: {},
        hostIp: "127.0.0.1",
        sandbox: "/tmp",
      };
      await assert.rejects(() => c.launch("x", spec), /Docker Engine unreachable/);
      assert.equal((await c.wait("x"))?.reason, "launch_failed");
      await assert.rejects(() => c.recover(new Set()), /Docker Engine unreachable/);
      assert.equal(await probeDocker("/nonexistent/docker.sock"), false);
    } finally {
      c.close();
    }
  },
});

Deno.test({
  name:
    "DockerContainerizer.recover() adopts running containers and reports ended and unknown ones",
  ignore: noDocker,
  fn: async () => {
    const h = harness("recover");
    try {
      const alive = h.id("alive");
      const ended = h.id("ended");
      const stray = h.id("stray");
      await h.c.launch(alive, h.spec(alive));
      await h.c.launch(stray, h.spec(stray));
      await h.c.launch(ended, h.spec(ended, { command: { value: "sleep 1; exit 4" } }));
      const before = await h.c.engine.inspect(containerName(alive));
      h.c.close(); // the agent dies; its containers live on
      await eventually("ended container exits", async () => {
        const engine = new DockerContainerizer({ socketPath: SOCKET, owner: "peek" });
        try {
          const info = await engine.engine.inspect(containerName(ended));
          return info?.State.Running === false ? true : undefined;
        } finally {
          engine.close();
        }
      });

      const fresh = h.make();
      const found = await fresh.recover(new Set([alive, ended]));
      const byId = new Map(found.map((r) => [r.id, r]));
      assert.equal(found.length, 3);
      assert.deepEqual(byId.get(alive), {
        id: alive,
        frameworkId: "framework-1",
        taskId: `task-${alive}`,
        termination: undefined,
      });
      assert.deepEqual(byId.get(ended)?.termination, {
        exitCode: 4,
        reason: "exited",
        message: "exited with status 4",
      });
      assert.equal(byId.get(stray)?.termination, undefined);
      const after = await fresh.engine.inspect(containerName(alive));
      assert.equal(after?.Id, before?.Id);
      assert.equal(after?.State.StartedAt, before?.State.StartedAt);
      const stranger = new DockerContainerizer({ socketPath: SOCKET, owner: testOwner("other") });
      try {
        assert.deepEqual(await stranger.recover(new Set()), [], "saw another owner's containers");
      } finally {
        stranger.close();
      }

      // Adopted containers are watched again: an exit is seen, a destroy works.
      await fresh.engine.kill(containerName(alive));
      assert.equal((await fresh.wait(alive))?.reason, "exited");
      assert.equal((await fresh.destroy(stray, 0))?.reason, "killed");
    } finally {
      await h.done();
    }
  },
});

Deno.test({
  name: "DockerContainerizer keeps watching a container across an Engine outage",
  ignore: noDocker,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tender-docker-proxy-" });
    const proxyPath = `${dir}/docker.sock`;
    let proxy = startSocketProxy(proxyPath, SOCKET);
    const h = harness("outage", proxyPath);
    try {
      const id = h.id("x");
      await h.c.launch(id, h.spec(id));
      let ended = false;
      const waiting = h.c.wait(id).then((t) => (ended = true, t));
      await proxy.stop(); // the Engine "goes away" mid long-poll
      await assert.rejects(() => h.c.destroy(id, 0), /Cannot stop container .*unreachable/);
      const direct = new DockerContainerizer({ socketPath: SOCKET, owner: "direct" });
      try {
        await direct.engine.kill(containerName(id)); // it dies while we cannot see it
      } finally {
        direct.close();
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(ended, false, "reported an exit while the engine was unreachable");
      proxy = startSocketProxy(proxyPath, SOCKET); // the Engine is back
      const term = await waiting;
      assert.deepEqual(term, {
        exitCode: 137,
        reason: "exited",
        message: "exited with status 137",
      });
    } finally {
      await h.done();
      await proxy.stop();
      await Deno.remove(dir, { recursive: true });
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

/** A Unix socket that forwards to `target`; `stop()` drops it and every open connection. */
function startSocketProxy(path: string, target: string): { stop(): Promise<void> } {
  try {
    Deno.removeSync(path);
  } catch { /* not there */ }
  const listener = Deno.listen({ transport: "unix", path });
  const conns = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ transport: "unix", path: target });
      conns.add(conn);
      conns.add(upstream);
      pipes.push(
        conn.readable.pipeTo(upstream.writable).catch(() => undefined),
        upstream.readable.pipeTo(conn.writable).catch(() => undefined),
      );
    }
  })().catch(() => undefined);
  return {
    async stop() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
      await Promise.all(pipes);
    },
  };
}
