import assert from "node:assert/strict";
import type { TaskInfo } from "../protocol/mod.ts";
import type { ContainerSpec } from "./containerizer/containerizer.ts";
import { createBody } from "./containerizer/docker_spec.ts";
import { containerSpec, sandboxPath, taskEnvironment, taskPorts } from "./task_spec.ts";

const task: TaskInfo = {
  name: "web",
  task_id: { value: "web.1" },
  agent_id: { value: "a1" },
  resources: [
    { name: "cpus", type: "SCALAR", scalar: { value: 0.5 } },
    { name: "mem", type: "SCALAR", scalar: { value: 64 } },
    {
      name: "ports",
      type: "RANGES",
      ranges: { range: [{ begin: 31005, end: 31005 }, { begin: 31001, end: 31002 }] },
    },
  ],
  command: {
    value: "httpd",
    environment: { variables: [{ name: "GREETING", value: "hi" }, { name: "PORT", value: "99" }] },
  },
  discovery: {
    visibility: "FRAMEWORK",
    ports: {
      ports: [{ number: 80, name: "http" }, { number: 81 }, { number: 82, name: "admin-api" }],
    },
  },
};

Deno.test("taskPorts() expands the task's ports ranges in the order listed", () => {
  assert.deepEqual(taskPorts(task), [31005, 31001, 31002]);
  assert.deepEqual(taskPorts({ ...task, resources: [] }), []);
});

Deno.test("taskEnvironment() sets ports, names, MESOS_* and lets the command's variables win", () => {
  const env = taskEnvironment({
    task,
    frameworkId: "fw",
    agentId: "a1",
    host: "10.0.0.5",
    sandbox: "/sb",
    ports: [31005, 31001, 31002],
  });
  assert.equal(env.PORT0, "31005");
  assert.equal(env.PORT2, "31002");
  assert.equal(env.PORTS, "31005,31001,31002");
  assert.equal(env.PORT_HTTP, "31005");
  assert.equal(env.PORT_ADMIN_API, "31002");
  assert.equal(env.PORT, "99", "the command's own variable wins");
  assert.equal(env.HOST, "10.0.0.5");
  assert.equal(env.MESOS_TASK_ID, "web.1");
  assert.equal(env.MESOS_FRAMEWORK_ID, "fw");
  assert.equal(env.MESOS_AGENT_ID, "a1");
  assert.equal(env.MESOS_SANDBOX, "/sb");
  assert.equal(env.GREETING, "hi");
});

Deno.test("containerSpec() takes limits from the task's resources and a safe sandbox path", () => {
  const spec = containerSpec({
    task,
    frameworkId: "fw/x",
    agentId: "a1",
    host: "127.0.0.1",
    workDir: "/w",
  });
  assert.deepEqual(spec.limits, { cpus: 0.5, memMb: 64, diskMb: 0 });
  assert.equal(spec.sandbox, "/w/sandboxes/fw_x/web.1");
  assert.deepEqual(spec.ports, [31005, 31001, 31002]);
  assert.equal(sandboxPath("/w", "f", ".."), "/w/sandboxes/f/__");
});

Deno.test("containerSpec() publishes Docker ports on the advertised address, on every interface only when asked", () => {
  const bridged: TaskInfo = {
    ...task,
    container: {
      type: "DOCKER",
      docker: {
        image: "busybox",
        network: "BRIDGE",
        port_mappings: [{ host_port: 0, container_port: 80 }],
      },
    },
  };
  const input = { task: bridged, frameworkId: "f", agentId: "a1", workDir: "/w" };
  const bindings = (spec: ContainerSpec) =>
    createBody(spec, { id: "c1", owner: "o" }).HostConfig.PortBindings;
  const advertised = containerSpec({ ...input, host: "10.0.0.7" });
  assert.equal(advertised.env.HOST, "10.0.0.7");
  assert.deepEqual(bindings(advertised), { "80/tcp": [{ HostIp: "10.0.0.7", HostPort: "31005" }] });
  const everywhere = containerSpec({ ...input, host: "10.0.0.7", publishIp: "0.0.0.0" });
  assert.equal(everywhere.env.HOST, "10.0.0.7");
  assert.deepEqual(bindings(everywhere), { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "31005" }] });
});

Deno.test("containerSpec() runs the task as CommandInfo.user, else the framework's user", () => {
  const base = { frameworkId: "fw", agentId: "a1", host: "127.0.0.1", workDir: "/w" };
  const framework = { user: "alice", name: "f" };
  const own = containerSpec({
    ...base,
    task: { ...task, command: { value: "true", user: "nobody" } },
    frameworkInfo: framework,
  });
  assert.deepEqual(own.user, { name: "nobody", fromTask: true });
  const inherited = containerSpec({
    ...base,
    task: { ...task, command: { value: "true" } },
    frameworkInfo: framework,
  });
  assert.deepEqual(inherited.user, { name: "alice", fromTask: false });
  const asAgent = containerSpec({
    ...base,
    task: { ...task, command: { value: "true", user: "nobody" } },
    frameworkInfo: framework,
    switchUser: false,
  });
  assert.equal(asAgent.user, undefined);
  // Docker: a user the task names; a framework's default leaves the image's USER alone.
  const options = { id: "c1", owner: "o" };
  const image = { type: "DOCKER" as const, docker: { image: "busybox" } };
  assert.equal(createBody({ ...own, container: image }, options).User, "nobody");
  assert.equal(createBody({ ...inherited, container: image }, options).User, undefined);
});
