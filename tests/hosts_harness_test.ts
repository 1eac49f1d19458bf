/**
 * The namespace-host harness itself (tests/support/hosts.ts, host_cluster.ts), as the chaos
 * suite uses it: it cleans up after itself and after dead runs, and it runs the highly
 * available control plane across hosts with faults injected. Needs root, iproute2, iptables
 * and etcd; ignored, visibly, where those are missing.
 */
import assert from "node:assert/strict";
import { waitFor } from "./support/cluster.ts";
import { hasEtcd } from "./support/etcd_cluster.ts";
import { HostCluster } from "./support/host_cluster.ts";
import { exec, type Host, Hosts, hostsUnavailable, sweepLeftoverHosts } from "./support/hosts.ts";

const unavailable = hostsUnavailable();
if (unavailable) console.warn(`namespace-host harness tests ignored: ${unavailable}`);

/** What of a run is left on the machine: namespaces, links and iptables rules naming it. */
async function leftovers(id: string): Promise<string[]> {
  const netns = (await exec(["ip", "netns", "list"])).stdout;
  const links = (await exec(["ip", "-o", "link", "show"])).stdout;
  const rules = (await exec(["iptables", "-S"])).stdout;
  return [
    ...netns.split("\n").filter((l) => l.startsWith(`tender-${id}-`)),
    ...links.split("\n").filter((l) => l.includes(`tdh${id}`)),
    ...rules.split("\n").filter((l) => l.includes(`tender-hosts-${id}`)),
  ];
}

Deno.test({
  name: "Hosts: hosts reach each other until a link is cut; close() leaves no namespace, link, " +
    "rule or process, and a dead run's leftovers are swept",
  ignore: unavailable !== undefined,
  async fn() {
    const hosts = await Hosts.create({ count: 2 });
    let closed = false;
    try {
      const [h1, h2] = hosts.list as [Host, Host];
      const ping = async (from: Host, to: Host) =>
        (await hosts.run(from, ["busybox", "ping", "-c", "1", "-W", "1", to.ip])).success;
      assert.ok(await ping(h1, h2));
      assert.ok(await ping(h1, hosts.root));
      await hosts.cut(h2);
      assert.equal(await ping(h1, h2), false);
      await hosts.restore(h2);
      assert.ok(await waitFor("h2 reachable again", () => ping(h1, h2)));
      // A process left running inside a host goes with it.
      const sleeper = new Deno.Command("ip", {
        args: ["netns", "exec", h1.netns!, "sleep", "600"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      assert.ok((await leftovers(hosts.id)).length > 0);
      await hosts.close();
      closed = true;
      assert.equal((await sleeper.status).signal, "SIGKILL");
      assert.deepEqual(await leftovers(hosts.id), []);
    } finally {
      if (!closed) await hosts.close();
    }

    // A run whose process died (here: its pid file names a dead process) is swept by the next.
    const dead = await Hosts.create({ count: 1 });
    try {
      const gone = new Deno.Command("true").spawn();
      await gone.status;
      await Deno.writeTextFile(`/tmp/tender-hosts/${dead.id}`, String(gone.pid));
      await sweepLeftoverHosts();
      assert.deepEqual(await leftovers(dead.id), []);
    } finally {
      await dead.close();
    }
  },
});

Deno.test({
  name: "HostCluster: etcd, three masters, two Marathons, an agent and a router across hosts " +
    "survive the leading master's SIGKILL and the agent's host cut off and back",
  ignore: unavailable !== undefined || !hasEtcd(),
  async fn() {
    const cluster = await HostCluster.start({ hosts: 4 });
    try {
      const [h1, h2, h3, h4] = cluster.hosts.list as [Host, Host, Host, Host];
      await cluster.startEtcd([h1, h2, h3]);
      for (const h of [h1, h2, h3]) {
        await cluster.master(h, {
          etcd: true,
          args: ["--agent-timeout", "3", "--heartbeat-interval", "1"],
        });
      }
      const leader = await cluster.waitForLeader();
      const agent = await cluster.agent(h4);
      const marathons = [
        await cluster.marathon(h1, { etcd: true }),
        await cluster.marathon(h2, { etcd: true }),
      ];
      await cluster.router(h3);
      assert.equal((await cluster.agentState(agent)).pid, `slave(1)@${h4.ip}:5051`);

      await cluster.signal(leader, "SIGKILL");
      const next = await cluster.waitForLeader({ not: leader });
      assert.notEqual(next, leader);
      await cluster.waitForAgent(agent);

      await cluster.cut(h4);
      await waitFor("the agent inactive", async () => {
        return (await cluster.agentState(agent))?.active === false;
      }, 20_000);
      await cluster.restore(h4);
      await cluster.waitForAgent(agent, 30_000);

      // The killed master comes back as a standby; a paused Marathon resumes.
      await cluster.restart(leader);
      assert.equal((await cluster.health(leader))?.role, "standby");
      cluster.pause(marathons[0]!);
      cluster.resume(marathons[0]!);
      await cluster.waitAnswering(marathons[0]!);
    } finally {
      await cluster.close();
    }
    assert.deepEqual(await leftovers(cluster.hosts.id), []);
  },
});
