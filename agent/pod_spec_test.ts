import assert from "node:assert/strict";
import type { TaskInfo } from "../protocol/mod.ts";
import { podDir, podSpecOf, volumeMounts } from "./pod_spec.ts";
import { createBody } from "./containerizer/docker_spec.ts";
import { containerConfig, sandboxConfig } from "./containerizer/containerd_spec.ts";
import type { ContainerSpec } from "./containerizer/containerizer.ts";

function task(id: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return { name: id, task_id: { value: id }, agent_id: { value: "a" }, resources: [], ...extra };
}

const bridged = (port: number, mapping: number): Partial<TaskInfo> => ({
  resources: [{ name: "ports", type: "RANGES", ranges: { range: [{ begin: port, end: port }] } }],
  container: {
    type: "DOCKER",
    docker: {
      image: "busybox",
      network: "BRIDGE",
      port_mappings: [{ host_port: 0, container_port: mapping }],
    },
  },
});

Deno.test("podSpecOf() takes the first non-HOST network and publishes every member's ports", () => {
  const pod = podSpecOf({
    frameworkId: "fw",
    executor: { executor_id: { value: "e/1" } },
    tasks: [task("a", bridged(31001, 80)), task("b", bridged(31002, 8080))],
    workDir: "/w",
  });
  assert.deepEqual(pod, {
    id: "fw/e/1",
    network: "BRIDGE",
    portMappings: [
      { hostPort: 31001, containerPort: 80, protocol: "tcp" },
      { hostPort: 31002, containerPort: 8080, protocol: "tcp" },
    ],
    dir: "/w/sandboxes/fw/pod+e_1",
    size: 2,
  });
  assert.equal(podDir("/w", "fw", "x").endsWith("/pod+x"), true);
  const host = podSpecOf({
    frameworkId: "fw",
    executor: { executor_id: { value: "e" } },
    tasks: [task("a"), task("b")],
    workDir: "/w",
  });
  assert.equal(host.network, "HOST");
  assert.deepEqual(host.portMappings, []);
});

Deno.test("volumeMounts() resolves SANDBOX_PATH and HOST_PATH sources, refusing the rest", () => {
  const t = task("t", {
    container: {
      type: "MESOS",
      volumes: [
        {
          container_path: "shared",
          mode: "RW",
          source: { type: "SANDBOX_PATH", sandbox_path: { type: "PARENT", path: "vol" } },
        },
        {
          container_path: "/data",
          mode: "RO",
          source: { type: "SANDBOX_PATH", sandbox_path: { type: "SELF", path: "d" } },
        },
        {
          container_path: "/etc/x",
          source: { type: "HOST_PATH", host_path: { path: "/etc" } },
        },
        { container_path: "/legacy", host_path: "/tmp" },
      ],
    },
  });
  assert.deepEqual(volumeMounts(t, "/s", "/p"), {
    ok: true,
    mounts: [
      { hostPath: "/p/vol", containerPath: "shared", readOnly: false },
      { hostPath: "/s/d", containerPath: "/data", readOnly: true },
      { hostPath: "/etc", containerPath: "/etc/x", readOnly: false },
    ],
  });
  const noGroup = volumeMounts(t, "/s", undefined);
  assert.equal(noGroup.ok, false);
  assert.match(!noGroup.ok ? noGroup.reason : "", /PARENT sandbox path needs a task group/);
  const climbing = task("c", {
    container: {
      type: "MESOS",
      volumes: [{
        container_path: "x",
        source: { type: "SANDBOX_PATH", sandbox_path: { type: "PARENT", path: "../../etc" } },
      }],
    },
  });
  assert.equal(volumeMounts(climbing, "/s", "/p").ok, false);
  const docker = task("d", {
    container: {
      type: "MESOS",
      volumes: [{ container_path: "x", source: { type: "DOCKER_VOLUME" } }],
    },
  });
  const refused = volumeMounts(docker, "/s", "/p");
  assert.match(!refused.ok ? refused.reason : "", /volume source DOCKER_VOLUME is not supported/);
});

const member = (taskId: string): ContainerSpec => ({
  agentId: "a",
  frameworkId: "fw",
  taskId,
  container: { type: "DOCKER", docker: { image: "busybox", network: "BRIDGE" } },
  limits: { cpus: 0.1, memMb: 32, diskMb: 0 },
  ports: [],
  env: {},
  hostIp: "127.0.0.1",
  sandbox: `/w/sandboxes/fw/${taskId}`,
  mounts: [{ hostPath: "/w/sandboxes/fw/pod+e/v", containerPath: "v", readOnly: false }],
  pod: {
    id: "fw/e",
    network: "BRIDGE",
    portMappings: [{ hostPort: 31001, containerPort: 80, protocol: "tcp" }],
    dir: "/w/sandboxes/fw/pod+e",
    size: 2,
  },
});

Deno.test("createBody() gives a pod's first member the pod's ports, later ones its namespace", () => {
  const first = createBody(member("a"), { id: "c1", owner: "o" });
  assert.equal(first.HostConfig.NetworkMode, "bridge");
  assert.deepEqual(first.HostConfig.PortBindings, {
    "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "31001" }],
  });
  assert.equal(first.Labels["tender.pod"], "fw/e");
  assert.ok(first.HostConfig.Binds?.includes("/w/sandboxes/fw/pod+e/v:/mnt/mesos/sandbox/v:rw"));
  const later = createBody(member("b"), { id: "c2", owner: "o", joinNetworkOf: "tender-c1" });
  assert.equal(later.HostConfig.NetworkMode, "container:tender-c1");
  assert.equal(later.HostConfig.PortBindings, undefined);
  assert.equal(later.Hostname, undefined);
});

Deno.test("sandboxConfig() is the group's for every member; containers log below their sandboxes", () => {
  const options = (id: string) => ({ id, owner: "o", sandbox: `/w/sandboxes/fw/${id}` });
  const a = sandboxConfig(member("a"), options("a"));
  assert.deepEqual(a, sandboxConfig(member("b"), options("b")));
  assert.equal(a.metadata.name, "fw_e");
  assert.equal(a.log_directory, "/w/sandboxes/fw");
  assert.equal(a.labels["tender.pod"], "fw/e");
  assert.equal(a.labels["tender.task_id"], undefined);
  assert.deepEqual(a.port_mappings, [{
    protocol: "TCP",
    container_port: 80,
    host_port: 31001,
    host_ip: "127.0.0.1",
  }]);
  const c = containerConfig(member("a"), "busybox", options("a"));
  assert.equal(c.log_path, "a/container.log");
  assert.equal(c.metadata.name, "a");
  assert.ok(c.mounts.some((m) => m.container_path === "/mnt/mesos/sandbox/v"));
});
