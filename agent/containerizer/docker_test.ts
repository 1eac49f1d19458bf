import assert from "node:assert/strict";
import type { ContainerSpec } from "./containerizer.ts";
import { containerName, createBody, terminationOf } from "./docker_spec.ts";
import { type ContainerInspect, demultiplex, splitImage } from "./docker_engine.ts";

const base: ContainerSpec = {
  agentId: "a1",
  frameworkId: "f1",
  taskId: "web.1",
  command: { value: "echo hi" },
  container: { type: "DOCKER", docker: { image: "busybox" } },
  limits: { cpus: 0.5, memMb: 1, diskMb: 0 },
  ports: [31001, 31002],
  env: { A: "1" },
  hostIp: "127.0.0.1",
  sandbox: "/tmp/s",
};

Deno.test("containerName() keeps Docker's allowed characters only", () => {
  assert.equal(containerName("web.1_a-b"), "tender-web.1_a-b");
  assert.equal(containerName("a/b c:d"), "tender-a_b_c_d");
});

Deno.test("createBody() wraps shell commands in /bin/sh -c and sets limits", () => {
  const body = createBody(base, { id: "c1", owner: "owner-1" });
  assert.deepEqual(body.Entrypoint, ["/bin/sh", "-c"]);
  assert.deepEqual(body.Cmd, ["echo hi"]);
  assert.equal(body.HostConfig.NanoCpus, 500_000_000);
  assert.equal(body.HostConfig.CpuShares, 512);
  assert.equal(body.HostConfig.Memory, 4 * 1024 * 1024, "memory has a 4 MiB floor");
  assert.equal(body.HostConfig.MemorySwap, body.HostConfig.Memory);
  assert.equal(body.HostConfig.NetworkMode, "host", "HOST is Mesos' default");
  assert.deepEqual(body.Env, ["A=1", "MESOS_SANDBOX=/mnt/mesos/sandbox"]);
  assert.deepEqual(body.HostConfig.Binds, ["/tmp/s:/mnt/mesos/sandbox:rw"]);
  assert.equal(body.Labels["tender.owner"], "owner-1");
  assert.equal(body.Labels["tender.container_id"], "c1");
});

Deno.test("createBody() keeps the CPU quota within what Docker accepts", () => {
  const many = createBody({ ...base, limits: { ...base.limits, cpus: 8 } }, {
    id: "c1",
    owner: "o",
    maxCpus: 2,
  });
  assert.equal(many.HostConfig.NanoCpus, 2e9);
  assert.equal(many.HostConfig.CpuShares, 8192);
  const tiny = createBody({ ...base, limits: { ...base.limits, cpus: 0.001 } }, {
    id: "c1",
    owner: "o",
  });
  assert.equal(tiny.HostConfig.NanoCpus, 1e7);
});

Deno.test("createBody() without cpuQuota weighs CPU by shares only, as Mesos without CFS", () => {
  const body = createBody(base, { id: "c1", owner: "o", cpuQuota: false });
  assert.equal(body.HostConfig.NanoCpus, undefined);
  assert.equal(body.HostConfig.CpuShares, 512);
});

Deno.test("createBody() with shell=false keeps the image entrypoint", () => {
  const body = createBody({
    ...base,
    command: { shell: false, value: "httpd", arguments: ["-f", "-p", "80"] },
  }, { id: "c1", owner: "o" });
  assert.equal(body.Entrypoint, undefined);
  assert.deepEqual(body.Cmd, ["httpd", "-f", "-p", "80"]);
  const noCommand = createBody({ ...base, command: undefined }, { id: "c1", owner: "o" });
  assert.equal(noCommand.Cmd, undefined);
  assert.equal(noCommand.Entrypoint, undefined);
});

Deno.test("createBody() maps BRIDGE ports to the offer's host ports on hostIp", () => {
  const body = createBody({
    ...base,
    container: {
      type: "DOCKER",
      hostname: "web",
      docker: {
        image: "busybox",
        network: "BRIDGE",
        port_mappings: [
          { host_port: 0, container_port: 80 },
          { host_port: 31002, container_port: 53, protocol: "UDP" },
        ],
      },
    },
  }, { id: "c1", owner: "o" });
  assert.equal(body.HostConfig.NetworkMode, "bridge");
  assert.equal(body.Hostname, "web");
  assert.deepEqual(body.ExposedPorts, { "80/tcp": {}, "53/udp": {} });
  assert.deepEqual(body.HostConfig.PortBindings, {
    "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "31001" }],
    "53/udp": [{ HostIp: "127.0.0.1", HostPort: "31002" }],
  });
});

function inspected(state: Partial<ContainerInspect["State"]>): ContainerInspect {
  return {
    Id: "x",
    Name: "/tender-x",
    State: {
      Status: "exited",
      Running: false,
      OOMKilled: false,
      ExitCode: 0,
      Error: "",
      StartedAt: "2026-01-01T00:00:00Z",
      FinishedAt: "2026-01-01T00:00:01Z",
      ...state,
    },
    Config: { Image: "busybox", Labels: {}, Env: [] },
    HostConfig: {
      NanoCpus: 0,
      CpuShares: 0,
      Memory: 16 * 1024 * 1024,
      MemorySwap: 0,
      NetworkMode: "bridge",
      PortBindings: {},
      Binds: [],
    },
  };
}

Deno.test("createBody() runs a MESOS container's image, on a bridge when it has network_infos", () => {
  const mesos = (infos?: { port_mappings: { host_port: number; container_port: number }[] }[]) =>
    createBody({
      ...base,
      container: {
        type: "MESOS",
        mesos: { image: { type: "DOCKER", docker: { name: "reg:5000/app:1" } } },
        ...(infos ? { network_infos: infos } : {}),
      },
    }, { id: "c1", owner: "o" });
  const host = mesos();
  assert.equal(host.Image, "reg:5000/app:1");
  assert.equal(host.HostConfig.NetworkMode, "host");
  const bridged = mesos([{ port_mappings: [{ host_port: 0, container_port: 80 }] }]);
  assert.equal(bridged.HostConfig.NetworkMode, "bridge");
  assert.deepEqual(bridged.HostConfig.PortBindings, {
    "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "31001" }],
  });
});

Deno.test("terminationOf() tells exits, kills and OOM kills apart", () => {
  assert.deepEqual(terminationOf(inspected({ ExitCode: 3 }), false), {
    exitCode: 3,
    reason: "exited",
    message: "exited with status 3",
  });
  assert.deepEqual(terminationOf(inspected({ ExitCode: 137 }), true), {
    exitCode: null,
    reason: "killed",
    message: "killed by SIGKILL",
  });
  assert.deepEqual(terminationOf(inspected({ ExitCode: 0 }), true), {
    exitCode: 0,
    reason: "killed",
    message: "stopped; exited with status 0",
  });
  const oom = terminationOf(inspected({ ExitCode: 137, OOMKilled: true }), false);
  assert.equal(oom.reason, "oom");
  assert.match(oom.message, /16 MiB/);
});

Deno.test("splitImage() finds the tag after the last slash, or a digest", () => {
  assert.deepEqual(splitImage("busybox"), { fromImage: "busybox", tag: "latest" });
  assert.deepEqual(splitImage("localhost:5000/a/b:1.2"), {
    fromImage: "localhost:5000/a/b",
    tag: "1.2",
  });
  assert.deepEqual(splitImage("localhost:5000/a"), {
    fromImage: "localhost:5000/a",
    tag: "latest",
  });
  assert.deepEqual(splitImage("a@sha256:ab"), { fromImage: "a", tag: "sha256:ab" });
});

Deno.test("demultiplex() keeps one stream's payload across chunk boundaries", async () => {
  const frame = (kind: number, text: string) => {
    const payload = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + payload.length);
    out[0] = kind;
    new DataView(out.buffer).setUint32(4, payload.length);
    out.set(payload, 8);
    return out;
  };
  const all = new Uint8Array([...frame(1, "hello "), ...frame(2, "err"), ...frame(1, "world")]);
  const chunks = [all.slice(0, 3), all.slice(3, 17), all.slice(17)];
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
  assert.equal(await new Response(source.pipeThrough(demultiplex(1))).text(), "hello world");
});
