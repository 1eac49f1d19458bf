import assert from "node:assert/strict";
import { PodSchema } from "./schema.ts";
import { toTaskGroup } from "./task_group.ts";

Deno.test("toTaskGroup() runs each container as its user, else the pod's (CommandInfo.user)", () => {
  const pod = PodSchema.parse({
    id: "/users",
    user: "nobody",
    containers: [
      { name: "a", exec: { command: { shell: "true" } }, resources: { cpus: 0.1, mem: 16 } },
      {
        name: "b",
        user: "daemon",
        exec: { command: { shell: "true" } },
        resources: { cpus: 0.1, mem: 16 },
      },
    ],
  });
  const { tasks } = toTaskGroup(pod, "instance-1", {
    agentId: "agent-1",
    hostname: "h",
    containers: [[], []],
    executor: [],
    hostPorts: [[], []],
  });
  assert.deepEqual(tasks.map((t) => t.command?.user), ["nobody", "daemon"]);
});

Deno.test("toTaskGroup() gives each container's artifacts to its task as CommandInfo.uris", () => {
  const pod = PodSchema.parse({
    id: "/fetching",
    containers: [{
      name: "a",
      exec: { command: { shell: "cat conf/app.conf" } },
      resources: { cpus: 0.1, mem: 16 },
      artifacts: [{ uri: "https://example.com/conf.tgz", cache: true, destPath: "conf.tgz" }],
    }],
  });
  const { tasks } = toTaskGroup(pod, "instance-1", {
    agentId: "agent-1",
    hostname: "h",
    containers: [[]],
    executor: [],
    hostPorts: [[]],
  });
  assert.deepEqual(tasks[0]?.command?.uris, [{
    value: "https://example.com/conf.tgz",
    extract: true,
    executable: false,
    cache: true,
    output_file: "conf.tgz",
  }]);
});
