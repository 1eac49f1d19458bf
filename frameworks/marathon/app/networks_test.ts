import assert from "node:assert/strict";
import { Resources } from "../../../protocol/mod.ts";
import { checkApp, parseApp } from "./parse.ts";
import { toTaskInfo } from "./task_info.ts";

const match = {
  agentId: "agent-1",
  hostname: "node1",
  resources: Resources.scalars({ cpus: 0.5, mem: 64 }).toMesos(),
  hostPorts: [31005],
};

function details(raw: unknown): Record<string, string[]> {
  const r = checkApp(raw);
  return r.ok ? {} : Object.fromEntries(r.details.map((d) => [d.path, d.errors]));
}

Deno.test("toTaskInfo() puts a named container network in network_infos, for Docker and Mesos containers", () => {
  for (const type of ["DOCKER", "MESOS"] as const) {
    const app = parseApp({
      id: "/web",
      cmd: "httpd",
      container: {
        type,
        docker: { image: "busybox" },
        portMappings: [{ containerPort: 8080, hostPort: 0 }],
      },
      networks: [{ mode: "container", name: "backend" }],
    });
    const info = toTaskInfo(app, "web.instance-1", match);
    assert.equal(info.container?.network_infos?.[0]?.name, "backend", type);
    assert.deepEqual(info.container?.network_infos?.[0]?.port_mappings, [
      { host_port: 31005, container_port: 8080, protocol: "tcp" },
    ]);
    if (type === "DOCKER") assert.equal(info.container?.docker?.network, "USER");
  }
});

Deno.test("checkApp() refuses container networks Tender's agents cannot honour", () => {
  assert.deepEqual(
    details({
      id: "/two",
      cmd: "sleep 1",
      container: { type: "MESOS", docker: { image: "busybox" } },
      networks: [{ mode: "container", name: "a" }, { mode: "container", name: "b" }],
    })["/networks"],
    ["Tender joins a task to one container network: give only one"],
  );
  assert.deepEqual(
    details({
      id: "/bare",
      cmd: "sleep 1",
      networks: [{ mode: "container", name: "a" }],
    })["/networks"],
    [
      "a container network needs an image (container.docker.image): without one the task " +
      "runs as a process on the host's network",
    ],
  );
  assert.deepEqual(
    details({
      id: "/one",
      cmd: "sleep 1",
      container: { type: "DOCKER", docker: { image: "busybox" } },
      networks: [{ mode: "container", name: "a" }],
    }),
    {},
  );
});
