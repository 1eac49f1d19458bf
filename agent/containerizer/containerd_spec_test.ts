import assert from "node:assert/strict";
import type { ContainerSpec } from "./containerizer.ts";
import {
  containerConfig,
  imageOf,
  networkOf,
  podHostname,
  sandboxConfig,
  terminationOf,
} from "./containerd_spec.ts";
import type { ContainerStatus } from "./cri_client.ts";

const base: ContainerSpec = {
  agentId: "a1",
  frameworkId: "f1",
  taskId: "web.1",
  command: { value: "echo hi" },
  container: {
    type: "DOCKER",
    docker: {
      image: "busybox",
      network: "BRIDGE",
      port_mappings: [{ host_port: 0, container_port: 80 }, {
        host_port: 9000,
        container_port: 53,
        protocol: "udp",
      }],
    },
  },
  limits: { cpus: 0.5, memMb: 1, diskMb: 0 },
  ports: [31001, 31002],
  env: { A: "1", MESOS_SANDBOX: "/host/path" },
  hostIp: "127.0.0.1",
  sandbox: "/tmp/s",
};
const options = { id: "c1", owner: "o1", sandbox: "/tmp/s" };

Deno.test("imageOf() reads docker.image or a MESOS container's docker image name", () => {
  assert.equal(imageOf(base.container), "busybox");
  assert.equal(
    imageOf({ type: "MESOS", mesos: { image: { type: "DOCKER", docker: { name: "x:1" } } } }),
    "x:1",
  );
  assert.equal(imageOf({ type: "MESOS" }), undefined);
  assert.equal(imageOf(undefined), undefined);
});

Deno.test("networkOf() is the node's for HOST (the default), a CNI pod otherwise", () => {
  assert.equal(networkOf(undefined), "node");
  assert.equal(networkOf({ type: "DOCKER", docker: { image: "x" } }), "node");
  assert.equal(networkOf(base.container), "pod");
  assert.equal(networkOf({ type: "MESOS", network_infos: [{ name: "tender" }] }), "pod");
});

Deno.test("sandboxConfig() maps ports to the offer's on hostIp, labels the pod and logs to the sandbox", () => {
  const pod = sandboxConfig(base, options);
  assert.deepEqual(pod.port_mappings, [
    { protocol: "TCP", container_port: 80, host_port: 31001, host_ip: "127.0.0.1" },
    { protocol: "UDP", container_port: 53, host_port: 9000, host_ip: "127.0.0.1" },
  ]);
  assert.equal(pod.log_directory, "/tmp/s");
  assert.deepEqual(pod.metadata, { name: "c1", uid: "c1", namespace: "tender", attempt: 0 });
  assert.equal(pod.labels["tender.owner"], "o1");
  assert.equal(pod.labels["tender.task_id"], "web.1");
  assert.equal(pod.linux.security_context.namespace_options.network, "POD");
  const host = sandboxConfig(
    { ...base, container: { type: "DOCKER", docker: { image: "x" } } },
    options,
  );
  assert.equal(host.linux.security_context.namespace_options.network, "NODE");
  assert.deepEqual(host.port_mappings, []);
  assert.equal(host.hostname, "");
});

Deno.test("containerConfig() runs shell commands under /bin/sh -c with limits, env and the sandbox mount", () => {
  const c = containerConfig(base, "busybox", options);
  assert.deepEqual(c.command, ["/bin/sh", "-c"]);
  assert.deepEqual(c.args, ["echo hi"]);
  assert.deepEqual(c.linux.resources, {
    cpu_shares: 512,
    cpu_period: 100_000,
    cpu_quota: 50_000,
    memory_limit_in_bytes: 4 * 1024 * 1024,
    memory_swap_limit_in_bytes: 4 * 1024 * 1024,
  });
  assert.deepEqual(c.envs, [{ key: "A", value: "1" }, {
    key: "MESOS_SANDBOX",
    value: "/mnt/mesos/sandbox",
  }]);
  assert.deepEqual(c.mounts, [{
    container_path: "/mnt/mesos/sandbox",
    host_path: "/tmp/s",
    readonly: false,
  }]);
  assert.equal(c.log_path, "container.log");
  const noQuota = containerConfig(base, "busybox", { ...options, cpuQuota: false });
  assert.equal(noQuota.linux.resources.cpu_quota, undefined);
  const argv = containerConfig(
    { ...base, command: { shell: false, value: "httpd", arguments: ["-f"] } },
    "b",
    options,
  );
  assert.deepEqual(argv.command, [], "shell=false keeps the image's entrypoint");
  assert.deepEqual(argv.args, ["httpd", "-f"]);
});

Deno.test("podHostname() makes an RFC 1123 label", () => {
  assert.equal(podHostname(base, "Web_1.x"), "web-1-x");
  assert.equal(
    podHostname({ ...base, container: { type: "DOCKER", hostname: "api" } }, "x"),
    "api",
  );
  assert.equal(podHostname(base, "-".repeat(80)), "tender");
});

Deno.test("terminationOf() reads exits, signals after destroy, and OOM kills", () => {
  const status = (over: Partial<ContainerStatus>): ContainerStatus => ({
    id: "x",
    state: "CONTAINER_EXITED",
    created_at: 0,
    started_at: 0,
    finished_at: 0,
    exit_code: 0,
    reason: "Completed",
    message: "",
    labels: {},
    annotations: { "tender.mem_mb": "16" },
    mounts: [],
    log_path: "",
    ...over,
  });
  assert.deepEqual(terminationOf(status({ exit_code: 3, reason: "Error" }), false), {
    exitCode: 3,
    reason: "exited",
    message: "exited with status 3",
  });
  assert.deepEqual(terminationOf(status({ exit_code: 137, reason: "Error" }), true), {
    exitCode: null,
    reason: "killed",
    message: "killed by SIGKILL",
  });
  assert.deepEqual(terminationOf(status({ exit_code: 0 }), true), {
    exitCode: 0,
    reason: "killed",
    message: "stopped; exited with status 0",
  });
  assert.deepEqual(terminationOf(status({ exit_code: 137, reason: "OOMKilled" }), false), {
    exitCode: null,
    reason: "oom",
    message: "killed by the OOM killer: memory limit of 16 MiB reached",
  });
});
