import assert from "node:assert/strict";
import { secretBytes } from "../../../protocol/mod.ts";
import { checkPod, parsePod } from "./parse.ts";
import { toTaskGroup } from "./task_group.ts";

const CONFIG = '{"auths": {"reg:5000": {"auth": "dTpw"}}}';

/** A bridged pod whose container pulls its image with the Docker config of secret `pull`. */
function privatePod(secrets: Record<string, { source: string }> = { pull: { source: "/cfg" } }) {
  return {
    id: "/private",
    secrets,
    networks: [{ mode: "container/bridge" }],
    containers: [{
      name: "web",
      resources: { cpus: 0.1, mem: 16 },
      image: { kind: "DOCKER", id: "reg:5000/web:1", pullConfig: { secret: "pull" } },
      endpoints: [{ name: "http", containerPort: 80, hostPort: 0 }],
    }],
  };
}

Deno.test("toTaskGroup() gives a pod container's pullConfig as Image.Docker.config of a MESOS container", () => {
  const pod = parsePod(privatePod());
  const { tasks } = toTaskGroup(pod, "instance-1", {
    agentId: "agent-1",
    hostname: "h",
    containers: [[]],
    executor: [],
    hostPorts: [[31005]],
  }, new Map([["/cfg", CONFIG]]));
  const container = tasks[0]?.container;
  assert.equal(container?.type, "MESOS");
  assert.equal(container?.mesos?.image?.docker?.name, "reg:5000/web:1");
  const config = secretBytes(container?.mesos?.image?.docker?.config, "config");
  assert.ok(config.ok);
  assert.equal(new TextDecoder().decode(config.bytes), CONFIG);
  // Its ports are still published by the pod.
  assert.deepEqual(container?.network_infos?.[0]?.port_mappings, [
    { host_port: 31005, container_port: 80, protocol: "tcp" },
  ]);
});

Deno.test("checkPod() refuses a pullConfig naming a secret the pod does not declare, as Marathon", () => {
  const r = checkPod(privatePod({}));
  assert.ok(!r.ok);
  assert.deepEqual(r.details.filter((d) => d.path === "/containers(0)/image/pullConfig"), [
    {
      path: "/containers(0)/image/pullConfig",
      errors: ["pullConfig.secret must refer to an existing secret"],
    },
  ]);
  assert.ok(checkPod(privatePod()).ok);
});
