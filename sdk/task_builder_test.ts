import assert from "node:assert/strict";
import { portRanges, taskInfo } from "./task_builder.ts";

Deno.test("taskInfo() builds a shell command task with unreserved scalars and port ranges", () => {
  const task = taskInfo({
    name: "hello",
    taskId: "hello-1",
    agentId: "a-1",
    cpus: 0.1,
    mem: 32,
    ports: [31001, 31000, 31005],
    command: "echo hi",
    labels: { app: "hello" },
    killGracePeriodMs: 1500,
  });
  assert.deepEqual(task, {
    name: "hello",
    task_id: { value: "hello-1" },
    agent_id: { value: "a-1" },
    resources: [
      { name: "cpus", role: "*", type: "SCALAR", scalar: { value: 0.1 } },
      { name: "mem", role: "*", type: "SCALAR", scalar: { value: 32 } },
      {
        name: "ports",
        role: "*",
        type: "RANGES",
        ranges: { range: [{ begin: 31000, end: 31001 }, { begin: 31005, end: 31005 }] },
      },
    ],
    command: { shell: true, value: "echo hi" },
    labels: { labels: [{ key: "app", value: "hello" }] },
    kill_policy: { grace_period: { nanoseconds: 1_500_000_000 } },
  });
});

Deno.test("taskInfo() builds argv commands with environment", () => {
  const task = taskInfo({
    name: "x",
    taskId: "x-1",
    agentId: "a",
    cpus: 1,
    mem: 1,
    command: { value: "/bin/echo", shell: false, arguments: ["echo", "hi"], env: { A: "1" } },
  });
  assert.deepEqual(task.command, {
    shell: false,
    value: "/bin/echo",
    arguments: ["echo", "hi"],
    environment: { variables: [{ name: "A", type: "VALUE", value: "1" }] },
  });
});

Deno.test("taskInfo() maps Docker ports onto the chosen host ports in order", () => {
  const task = taskInfo({
    name: "web",
    taskId: "web-1",
    agentId: "a",
    cpus: 1,
    mem: 64,
    ports: [31000, 31001, 31002],
    docker: {
      image: "tender-busybox:latest",
      network: "BRIDGE",
      portMappings: [{ containerPort: 80 }, { containerPort: 81, hostPort: 31000 }, {
        containerPort: 82,
        protocol: "udp",
      }],
    },
  });
  assert.deepEqual(task.command, { shell: false });
  assert.deepEqual(task.container, {
    type: "DOCKER",
    docker: {
      image: "tender-busybox:latest",
      network: "BRIDGE",
      port_mappings: [
        { host_port: 31001, container_port: 80 },
        { host_port: 31000, container_port: 81 },
        { host_port: 31002, container_port: 82, protocol: "udp" },
      ],
    },
  });
});

Deno.test("taskInfo() throws on a task with neither command nor image, or too few ports", () => {
  assert.throws(
    () => taskInfo({ name: "x", taskId: "x-1", agentId: "a", cpus: 1, mem: 1 }),
    /Cannot build task "x-1": it needs a command or a docker image/,
  );
  assert.throws(
    () =>
      taskInfo({
        name: "x",
        taskId: "x-2",
        agentId: "a",
        cpus: 1,
        mem: 1,
        docker: { image: "i", portMappings: [{ containerPort: 80 }] },
      }),
    /container port 80 has no host port left/,
  );
});

Deno.test("taskInfo() tags resources with an allocation role when given", () => {
  const task = taskInfo({
    name: "x",
    taskId: "x",
    agentId: "a",
    cpus: 1,
    mem: 1,
    command: "true",
    allocationRole: "web",
  });
  assert.ok(task.resources.every((r) => r.allocation_info?.role === "web"));
});

Deno.test("portRanges() merges adjacent ports", () => {
  assert.deepEqual(portRanges([3, 1, 2, 7]), [{ begin: 1, end: 3 }, { begin: 7, end: 7 }]);
  assert.deepEqual(portRanges([]), []);
});
