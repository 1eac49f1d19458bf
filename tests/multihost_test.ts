/**
 * Multi-host behaviour on hosts made of network namespaces (tests/support/hosts.ts): a master,
 * Marathon, agents and a router each on their own host, started with the flags an operator
 * would give. What crosses hosts is checked from other hosts: the address agents advertise,
 * what the master serves on its address, DNS answers, the router, health checks, task logs, and
 * which agents an app with an image may land on. Needs root, iproute2 and iptables; ignored,
 * visibly, where those are missing.
 */
import assert from "node:assert/strict";
import { taskInfo } from "../mod.ts";
import { ensureTestImage, IMAGE, noDocker } from "./docker_helpers.ts";
import { waitFor } from "./support/cluster.ts";
import { HostCluster } from "./support/host_cluster.ts";
import { type Host, hostsUnavailable } from "./support/hosts.ts";
import { call, type Json } from "./support/marathon_api.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const unavailable = hostsUnavailable();
if (unavailable) console.warn(`multihost tests ignored: ${unavailable}`);
const ignore = unavailable !== undefined;

/** Runs `fn` on a fresh cluster of `hosts` namespace hosts, closed whatever happens. */
async function withCluster(hosts: number, fn: (c: HostCluster) => Promise<void>): Promise<void> {
  const cluster = await HostCluster.start({ hosts });
  try {
    await fn(cluster);
  } catch (e) {
    for (const n of cluster.nodes) {
      console.error(`--- ${n.name} on ${n.host.name}:\n${n.process.log.join("")}`);
    }
    throw e;
  } finally {
    await cluster.close();
  }
}

/** GETs a URL from inside a host with curl; the body, or undefined on failure. */
async function getFrom(
  cluster: HostCluster,
  host: Host,
  url: string,
): Promise<string | undefined> {
  const out = await cluster.hosts.run(host, ["curl", "-sf", "-m", "5", url]);
  return out.success ? out.stdout : undefined;
}

/** A Marathon app of busybox httpd on $PORT0 answering its task id, health-checked. */
function httpdApp(id: string, instances: number, servicePort: number): Json {
  return {
    id,
    instances,
    cpus: 0.05,
    mem: 16,
    cmd:
      "mkdir -p www && echo -n $MESOS_TASK_ID > www/index.html && echo serving $MESOS_TASK_ID && " +
      "exec busybox httpd -f -p $PORT0 -h www",
    portDefinitions: [{ port: servicePort, name: "http" }],
    healthChecks: [{
      protocol: "MESOS_HTTP",
      path: "/",
      portIndex: 0,
      delaySeconds: 0,
      gracePeriodSeconds: 10,
      intervalSeconds: 1,
      timeoutSeconds: 2,
      maxConsecutiveFailures: 3,
    }],
    constraints: [["hostname", "UNIQUE"]],
  };
}

Deno.test({
  name: "an agent on another host advertises its address on the route to the master",
  ignore,
  async fn() {
    await withCluster(2, async (cluster) => {
      const [h1, h2] = cluster.hosts.list as [Host, Host];
      const master = await cluster.master(h1);
      const agent = await cluster.agent(h2);
      const slave = await cluster.agentState(agent);
      // Mesos names an agent by its address (its pid); the hostname stays the name given.
      assert.equal(slave.pid, `slave(1)@${h2.ip}:5051`);
      assert.equal(slave.hostname, agent.name);
      // The agent's API answers there, from other hosts.
      const agentState = JSON.parse((await getFrom(cluster, h1, `${agent.url}/state`)) ?? "{}");
      assert.equal(agentState.hostname, agent.name);

      const fw = new RecordingFramework(master.url);
      try {
        await fw.driver.start();
        const offer = await fw.takeOffer();
        assert.deepEqual(offer.url, {
          scheme: "http",
          address: { ip: h2.ip, hostname: agent.name, port: 5051 },
          path: "/slave(1)",
        });
        // A task learns the address as $HOST, and its status reports it.
        await fw.driver.launch([offer.id.value], [
          taskInfo({
            name: "echo",
            taskId: "echo-host",
            agentId: offer.agent_id.value,
            cpus: 0.1,
            mem: 16,
            command: "echo $HOST; sleep 600",
          }),
        ]);
        const running = await fw.waitForState("echo-host", "TASK_RUNNING");
        const ips = running.container_status?.network_infos?.[0]?.ip_addresses;
        assert.deepEqual(ips, [{ ip_address: h2.ip }]);
      } finally {
        await fw.driver.stop().catch(() => {});
      }
    });
  },
});

Deno.test({
  name: "a master serves its APIs, DNS and registry on its --host address to other hosts",
  ignore,
  async fn() {
    await withCluster(2, async (cluster) => {
      const [h1, h2] = cluster.hosts.list as [Host, Host];
      const master = await cluster.master(h1, { dns: true, registry: true });
      const health = await getFrom(cluster, h2, `${master.url}/health`);
      assert.equal(JSON.parse(health ?? "{}").role, "leader");
      assert.equal(await getFrom(cluster, h2, `http://${h1.ip}:5000/v2/`), "{}");
      const dig = await cluster.hosts.run(h2, [
        ...["dig", `@${h1.ip}`, "-p", "8053", "+time=2", "+tries=1", "leader.tender", "SOA"],
      ]);
      assert.match(dig.stdout, /status: (NOERROR|NXDOMAIN)/, dig.stdout + dig.stderr);
    });
  },
});

Deno.test({
  name: "tasks on other hosts are reached through DNS answers, the router and health checks, " +
    "and their output is read by tender logs and the dashboard",
  ignore,
  async fn() {
    await withCluster(3, async (cluster) => {
      const [h1, h2, h3] = cluster.hosts.list as [Host, Host, Host];
      const master = await cluster.master(h1, { dns: true });
      await cluster.agent(h2);
      await cluster.agent(h3);
      const marathon = await cluster.marathon(h1);
      const router = await cluster.router(h1);
      const servicePort = 10_100;
      const created = await call(
        `${marathon.url}/v2/apps`,
        "POST",
        httpdApp("/web", 2, servicePort),
      );
      assert.equal(created.status, 201, JSON.stringify(created.json));
      // Healthy by the agents' checks, one instance per host.
      const tasks: Json[] = await waitFor("two healthy instances", async () => {
        const r = await call(`${marathon.url}/v2/apps/web/tasks`);
        const healthy = (r.json?.tasks ?? []).filter((t: Json) =>
          t.state === "TASK_RUNNING" && t.healthCheckResults?.[0]?.alive === true
        );
        return healthy.length === 2 ? healthy : undefined;
      }, 60_000);
      // Marathon's `host` is the agent's name; its address is the one the agent advertises.
      const ipOf = (t: Json): string => t.ipAddresses?.[0]?.ipAddress;
      assert.deepEqual(tasks.map((t) => t.host).sort(), ["agent-1", "agent-2"]);
      assert.deepEqual(tasks.map(ipOf).sort(), [h2.ip, h3.ip].sort());

      // DNS: the A records are the agents' addresses; SRV names the host ports.
      const resolver = { nameServer: { ipAddr: h1.ip, port: 8053 } };
      const a = await waitFor("A records of both instances", async () => {
        const ips = await Deno.resolveDns("web.marathon.tender", "A", resolver);
        return ips.length === 2 ? ips.sort() : undefined;
      });
      assert.deepEqual(a, [h2.ip, h3.ip].sort());
      const srv = await Deno.resolveDns("_web._tcp.marathon.tender", "SRV", resolver);
      assert.equal(srv.length, 2);
      // Each answer reaches its task, from a third host.
      for (const task of tasks) {
        const body = await getFrom(cluster, h1, `http://${ipOf(task)}:${task.ports[0]}/`);
        assert.equal(body, task.id);
      }
      // The router on h1 balances over both hosts.
      const seen = new Set<string>();
      await waitFor("the router to reach both instances", async () => {
        const r = await fetch(`http://${router.host.ip}:${servicePort}/`, {
          signal: AbortSignal.timeout(2000),
        });
        seen.add(await r.text());
        return seen.size === 2;
      });
      assert.deepEqual([...seen].sort(), tasks.map((t) => t.id).sort());

      // Logs: the CLI from another host, and the master's dashboard proxy.
      const task = tasks[0]!;
      const cli = await cluster.hosts.run(h3, [
        ...[Deno.execPath(), "run", "-A", "--unstable-kv", "cli/main.ts"],
        ...["logs", task.id, "--master", master.url],
      ]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(cli.stdout, `serving ${task.id}\n`);
      const proxied = await fetch(
        `${master.url}/dashboard/logs/${task.slaveId}/${task.id}?stream=stdout`,
      );
      assert.equal(proxied.headers.get("X-Tender-Agent-Url"), `http://${ipOf(task)}:5051`);
      assert.equal(await proxied.text(), `serving ${task.id}\n`);
    });
  },
});

Deno.test({
  name: "an app with an image never lands on an agent that cannot run images, and runs on one " +
    "that can (Docker on the root host, its port published on the advertised address)",
  ignore,
  async fn(t) {
    await withCluster(2, async (cluster) => {
      const [h1, h2] = cluster.hosts.list as [Host, Host];
      await cluster.master(h1);
      const agent = await cluster.agent(h2);
      const slave = await cluster.agentState(agent);
      assert.equal(slave.attributes.containerizers, "process");
      const marathon = await cluster.marathon(h1);
      const created = await call(`${marathon.url}/v2/apps`, "POST", {
        id: "/imaged",
        instances: 1,
        cpus: 0.05,
        mem: 16,
        cmd: "echo -n imaged > /tmp/index.html; exec httpd -f -p 8080 -h /tmp",
        container: {
          type: "DOCKER",
          docker: { image: IMAGE },
          portMappings: [{ containerPort: 8080, hostPort: 0 }],
        },
        networks: [{ mode: "container/bridge" }],
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      // The process agent's offers are declined for want of a containerizer that runs images.
      await waitFor("the offer to be declined for the containerizer", async () => {
        const r = await call(`${marathon.url}/v2/queue`);
        const entry = r.json.queue.find((q: Json) => q.app.id === "/imaged");
        return entry?.processedOffersSummary.rejectSummaryLastOffers.some((s: Json) =>
          s.reason === "UnfulfilledContainerizer"
        );
      }, 30_000);
      const app = await call(`${marathon.url}/v2/apps/imaged`);
      assert.equal(app.json.app.tasksStaged + app.json.app.tasksRunning, 0);
      assert.equal(app.json.app.lastTaskFailure, undefined);
      const state = await cluster.state();
      assert.deepEqual(
        state.frameworks.flatMap((f: Json) => [...f.tasks, ...f.completed_tasks]),
        [],
      );

      await t.step({
        name: "a Docker agent on the root host runs it, reachable from another host",
        ignore: noDocker,
        async fn() {
          await ensureTestImage();
          const docker = await cluster.agent(cluster.hosts.root, { containerizer: "docker" });
          const advertised = cluster.hosts.root.ip;
          assert.equal(
            (await cluster.agentState(docker)).attributes.containerizers,
            "docker,process",
          );
          const task = await waitFor("the instance running on the Docker agent", async () => {
            const r = await call(`${marathon.url}/v2/apps/imaged/tasks`);
            return r.json?.tasks?.find((t: Json) => t.state === "TASK_RUNNING");
          }, 60_000);
          assert.equal(task.host, docker.name);
          assert.deepEqual(task.ipAddresses, [{ ipAddress: advertised, protocol: "IPv4" }]);
          // Published on the advertised address only.
          const url = `http://${advertised}:${task.ports[0]}/`;
          assert.equal(await getFrom(cluster, h2, url), "imaged");
          const loopback = await fetch(`http://127.0.0.1:${task.ports[0]}/`).then(
            async (r) => (await r.body?.cancel(), "answered"),
            () => "refused",
          );
          assert.equal(loopback, "refused");
        },
      });
    });
  },
});
