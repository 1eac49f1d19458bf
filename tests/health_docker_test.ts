/** Health checks against real containers (needs a Docker socket; ignored without). */
import assert from "node:assert/strict";
import { DockerContainerizer } from "../agent/containerizer/docker.ts";
import { HealthChecker } from "../agent/health/health_checker.ts";
import type { HealthCheck } from "../protocol/mod.ts";
import { systemClock } from "../base/mod.ts";
import {
  ensureTestImage,
  IMAGE,
  noDocker,
  removeOwned,
  SOCKET,
  testOwner,
} from "./docker_helpers.ts";

if (!noDocker) await ensureTestImage();

const FAST = {
  delay_seconds: 0,
  interval_seconds: 0.2,
  timeout_seconds: 2,
  grace_period_seconds: 0,
  consecutive_failures: 3,
};

/** Launches a busybox httpd serving /srv/health on container port 8000, published on a free port. */
async function launchWeb(c: DockerContainerizer, id: string): Promise<number> {
  const hostPort = freePort();
  await c.launch(id, {
    agentId: "agent-1",
    frameworkId: "framework-1",
    taskId: `task-${id}`,
    command: { value: "mkdir -p /srv && echo ok > /srv/health && exec httpd -f -p 8000 -h /srv" },
    container: {
      type: "DOCKER",
      docker: {
        image: IMAGE,
        network: "BRIDGE",
        port_mappings: [{ host_port: hostPort, container_port: 8000 }],
      },
    },
    limits: { cpus: 0.2, memMb: 32, diskMb: 0 },
    ports: [hostPort],
    env: {},
    hostIp: "127.0.0.1",
    sandbox: "/tmp",
  });
  return hostPort;
}

/** Runs a checker until `until` says stop, or fails after a deadline. */
function watch(options: {
  c: DockerContainerizer;
  id: string;
  check: HealthCheck;
  host: string;
  portFor: (port: number) => number;
  until: (events: string[]) => boolean;
}) {
  const { c, id, check, host, portFor, until } = options;
  const events: string[] = [];
  let settle!: () => void;
  const done = new Promise<void>((r) => (settle = r));
  const note = (event: string) => {
    events.push(event);
    if (until(events)) settle();
  };
  const checker = new HealthChecker({
    check,
    host,
    portFor,
    exec: (command, timeoutMs) => c.exec(id, command, timeoutMs),
    clock: systemClock,
    onChange: (healthy, message) => note(`${healthy ? "healthy" : "unhealthy"}: ${message}`),
    onKill: (message) => note(`kill: ${message}`),
  });
  checker.start();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no outcome; events: ${events}`)), 20_000);
  });
  const finished = Promise.race([done, deadline]).finally(() => {
    clearTimeout(timer);
    checker.stop();
  });
  return { events, finished };
}

Deno.test({
  name: "HealthChecker HTTP check on a container reaches onKill once its endpoint fails",
  ignore: noDocker,
  fn: async () => {
    const owner = testOwner("health-http");
    const c = new DockerContainerizer({ socketPath: SOCKET, owner });
    try {
      const id = `health-http-${crypto.randomUUID().slice(0, 8)}`;
      const hostPort = await launchWeb(c, id);
      const check: HealthCheck = {
        type: "HTTP",
        http: { port: 8000, path: "/health" },
        ...FAST,
        grace_period_seconds: 10, // httpd may not answer yet: early failures do not count
      };
      let broke = false;
      const published = (p: number) => (p === 8000 ? hostPort : p);
      const run = watch({
        c,
        id,
        check,
        host: "127.0.0.1",
        portFor: published,
        until: (events) => {
          if (events.at(-1)?.startsWith("healthy") && !broke) {
            broke = true; // healthy seen: now take the endpoint away
            void c.exec(id, { value: "rm /srv/health" }, 5_000);
          }
          return events.at(-1)?.startsWith("kill:") ?? false;
        },
      });
      await run.finished;
      assert.equal(run.events[0], "healthy: health check passed");
      assert.match(run.events[1] ?? "", /^unhealthy: health check failed: GET .* answered 404/);
      assert.match(run.events[2] ?? "", /^kill: Killing task: health check failed 3 consecutive/);
    } finally {
      c.close();
      await removeOwned(owner);
    }
  },
});

Deno.test({
  name: "HealthChecker TCP and COMMAND checks on a container report healthy",
  ignore: noDocker,
  fn: async (t) => {
    const owner = testOwner("health-tcp");
    const c = new DockerContainerizer({ socketPath: SOCKET, owner });
    try {
      const id = `health-tcp-${crypto.randomUUID().slice(0, 8)}`;
      await launchWeb(c, id);
      const ip = await c.networkAddress(id);
      assert.ok(ip, "a bridge container has an address");
      const base = {
        c,
        id,
        host: ip,
        portFor: (p: number) => p,
        until: (e: string[]) => e.length > 0,
      };
      await t.step("TCP passes on the port the task listens on", async () => {
        const check = { type: "TCP" as const, tcp: { port: 8000 }, ...FAST };
        const run = watch({ ...base, check: { ...check, grace_period_seconds: 10 } });
        await run.finished;
        assert.deepEqual(run.events, ["healthy: health check passed"]);
      });
      await t.step("TCP fails on a port nothing listens on", async () => {
        const run = watch({ ...base, check: { type: "TCP", tcp: { port: 8001 }, ...FAST } });
        await run.finished;
        assert.match(
          run.events[0] ?? "",
          /^unhealthy: health check failed: TCP connect to .*:8001/,
        );
      });
      await t.step("COMMAND passes when the command exits 0", async () => {
        const check = { type: "COMMAND" as const, command: { value: "test -f /srv/health" } };
        const run = watch({ ...base, check: { ...check, ...FAST, grace_period_seconds: 10 } });
        await run.finished;
        assert.deepEqual(run.events, ["healthy: health check passed"]);
      });
      await t.step("COMMAND fails when the command exits non-zero", async () => {
        const check = { type: "COMMAND" as const, command: { value: "test -f /srv/absent" } };
        const run = watch({ ...base, check: { ...check, ...FAST } });
        await run.finished;
        assert.deepEqual(run.events, ["unhealthy: health check failed: command exited with 1"]);
      });
    } finally {
      c.close();
      await removeOwned(owner);
    }
  },
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}
