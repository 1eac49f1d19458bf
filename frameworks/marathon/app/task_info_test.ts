import assert from "node:assert/strict";
import { Resources, TaskInfoSchema } from "../../../protocol/mod.ts";
import { parseApp } from "./parse.ts";
import { hostPortRequests } from "./ports.ts";
import { type OfferMatch, taskIdFor, toTaskInfo } from "./task_info.ts";

function match(hostPorts: number[]): OfferMatch {
  return {
    agentId: "agent-1",
    hostname: "node1",
    resources: Resources.scalars({ cpus: 0.5, mem: 64 }).toMesos(),
    hostPorts,
  };
}

function envOf(info: ReturnType<typeof toTaskInfo>): Record<string, string> {
  return Object.fromEntries(
    (info.command?.environment?.variables ?? []).map((v) => [v.name, v.value ?? ""]),
  );
}

Deno.test("toTaskInfo() builds a shell command with Marathon's environment", () => {
  const app = {
    ...parseApp({
      id: "/prod/web",
      cmd: "httpd -f -p $PORT0",
      env: { GREETING: "hi" },
      labels: { "team-name": "blue" },
      portDefinitions: [{ port: 0, name: "http" }, { port: 0 }],
      taskKillGracePeriodSeconds: 7,
      fetch: [{ uri: "http://x/a.tgz", destPath: "a.tgz" }],
    }),
    version: "2026-01-01T00:00:00.000Z",
  };
  const info = TaskInfoSchema.parse(toTaskInfo(app, "prod_web.instance-1", match([31001, 31002])));
  assert.equal(info.name, "web.prod");
  assert.equal(info.task_id.value, taskIdFor("prod_web.instance-1"));
  assert.equal(info.agent_id.value, "agent-1");
  assert.equal(info.command?.shell, true);
  assert.equal(info.command?.value, "httpd -f -p $PORT0");
  assert.equal(info.command?.uris?.[0]?.output_file, "a.tgz");
  const env = envOf(info);
  assert.equal(env["GREETING"], "hi");
  assert.equal(env["HOST"], "node1");
  assert.equal(env["PORT0"], "31001");
  assert.equal(env["PORT1"], "31002");
  assert.equal(env["PORT"], "31001");
  assert.equal(env["PORTS"], "31001,31002");
  assert.equal(env["PORT_HTTP"], "31001");
  assert.equal(env["MARATHON_APP_ID"], "/prod/web");
  assert.equal(env["MARATHON_APP_VERSION"], "2026-01-01T00:00:00.000Z");
  assert.equal(env["MARATHON_APP_LABELS"], "team-name");
  assert.equal(env["MARATHON_APP_LABEL_team_name"], "blue");
  assert.equal(env["MARATHON_APP_RESOURCE_MEM"], "128");
  assert.equal(env["MESOS_TASK_ID"], "prod_web.instance-1._app.1");
  assert.equal(info.kill_policy?.grace_period?.nanoseconds, 7_000_000_000);
  assert.deepEqual(info.discovery?.ports?.ports.map((p) => [p.number, p.name]), [[31001, "http"], [
    31002,
    undefined,
  ]]);
  assert.equal(info.container, undefined);
  const labels = Object.fromEntries(info.labels?.labels.map((l) => [l.key, l.value]) ?? []);
  assert.equal(labels["team-name"], "blue");
  assert.equal(labels["MARATHON_APP_ID"], "/prod/web");
  assert.equal(labels["TENDER_SERVICE_PORTS"], undefined, "no service ports assigned yet");
  const withService = toTaskInfo(
    { ...app, portDefinitions: app.portDefinitions.map((p, i) => ({ ...p, port: 10000 + i })) },
    "prod_web.instance-1",
    match([31001, 31002]),
  );
  assert.ok(
    withService.labels?.labels.some((l) =>
      l.key === "TENDER_SERVICE_PORTS" && l.value === "10000,10001"
    ),
  );
  assert.deepEqual(withService.discovery?.ports?.ports[0]?.labels?.labels, [{
    key: "service_port",
    value: "10000",
  }]);
});

Deno.test("toTaskInfo() maps a bridged Docker app's ports and health check", () => {
  const app = parseApp({
    id: "nginx",
    container: {
      type: "DOCKER",
      docker: {
        image: "tender-busybox:latest",
        network: "BRIDGE",
        portMappings: [{ containerPort: 80, name: "web" }],
      },
    },
    healthChecks: [{ protocol: "MESOS_HTTP", path: "/health", maxConsecutiveFailures: 2 }],
  });
  assert.deepEqual(hostPortRequests(app), [0]);
  const info = TaskInfoSchema.parse(toTaskInfo(app, "nginx.instance-2", match([31500])));
  assert.equal(info.command?.shell, false);
  assert.equal(info.command?.value, undefined);
  assert.equal(info.container?.type, "DOCKER");
  assert.equal(info.container?.docker?.image, "tender-busybox:latest");
  assert.equal(info.container?.docker?.network, "BRIDGE");
  assert.deepEqual(info.container?.docker?.port_mappings, [{
    host_port: 31500,
    container_port: 80,
    protocol: "tcp",
  }]);
  assert.equal(envOf(info)["PORT_80"], "31500");
  assert.equal(envOf(info)["MARATHON_APP_DOCKER_IMAGE"], "tender-busybox:latest");
  assert.deepEqual(info.health_check?.http, { scheme: "http", port: 31500, path: "/health" });
  assert.equal(info.health_check?.type, "HTTP");
  assert.equal(info.health_check?.consecutive_failures, 2);
});

Deno.test("toTaskInfo() translates args, COMMAND and TCP health checks", () => {
  const args = parseApp({ id: "a", args: ["sleep", "10"], container: { docker: { image: "x" } } });
  const info = toTaskInfo(args, "a.instance-3", match([31000]));
  assert.deepEqual(info.command?.arguments, ["sleep", "10"]);
  assert.equal(info.command?.shell, false);
  assert.equal(info.container?.docker?.network, "HOST");
  const cmd = parseApp({
    id: "c",
    cmd: "serve",
    healthChecks: [{ protocol: "COMMAND", command: { value: "true" } }],
  });
  assert.deepEqual(toTaskInfo(cmd, "c.instance-4", match([31000])).health_check?.command, {
    shell: true,
    value: "true",
  });
  const tcp = parseApp({ id: "t", cmd: "serve", healthChecks: [{ protocol: "TCP" }] });
  assert.deepEqual(toTaskInfo(tcp, "t.instance-5", match([31444])).health_check?.tcp, {
    port: 31444,
  });
});
