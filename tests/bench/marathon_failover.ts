/**
 * Marathon's failover on etcd, on real processes (a 3-member etcd, a master, an agent with the
 * simulated containerizer, two `deno task marathon --store etcd://…`). Each run SIGKILLs the
 * leading Marathon and at once asks the other for a scale-up (retrying while it answers 502/503,
 * as a client of Marathon does); the killed one comes back as the standby of the next run.
 * Prints `metric value unit`, medians of `--runs` (default 5):
 *
 * - `marathon_failover_ms`: SIGKILL → the scale-up's new instances running on the master,
 *   launched by the new leader (election, store read, framework re-subscribed, offers);
 * - `marathon_failover_api_ms`: SIGKILL → the new leader accepted the scale-up;
 * - `marathon_failover_subscribed_ms`: SIGKILL → the master has the framework subscribed again.
 *
 * `deno run -A --unstable-kv tests/bench/marathon_failover.ts [--runs 5]`
 */
import { parseArgs } from "node:util";
import { Cluster, waitFor } from "../support/cluster.ts";
import { EtcdCluster, hasEtcd } from "../support/etcd_cluster.ts";
import { call, type Json } from "../support/marathon_api.ts";
import { agreedLeader, MarathonProcess } from "../support/marathon_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" } },
});
const RUNS = Number(values.runs);
const SIM = ["--containerizer", "simulated", "--resources", "cpus:1000;mem:1000000;disk:0"];
const STEP = 5;

if (!hasEtcd()) {
  console.log("# marathon_failover: no etcd binary here, skipped");
  Deno.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const etcd = await EtcdCluster.start();
let cluster: Cluster | undefined;
const marathons: MarathonProcess[] = [];
try {
  cluster = await Cluster.start();
  await cluster.addAgent(SIM);
  for (const name of ["marathon-a", "marathon-b"]) {
    const m = new MarathonProcess(name, [
      "--master",
      cluster.masterUrl,
      "--store",
      etcd.url("tender-bench"),
    ]);
    marathons.push(m);
    await m.start();
  }
  const master = cluster;
  const first = await agreedLeader(marathons);
  const frameworkId: string = await waitFor(
    "the leader to subscribe",
    async () => (await call(`${first.leader.url}/v2/info`)).json.frameworkId,
    60_000,
  );
  const running = async () => {
    const state = await master.state();
    const fw = state.frameworks.find((f: Json) => f.id === frameworkId);
    return {
      connected: fw?.connected === true,
      /** When (ms since the epoch) the framework last subscribed again. */
      reregisteredAt: (fw?.reregistered_time ?? 0) * 1000,
      tasks: (fw?.tasks ?? []).filter((t: Json) => t.state === "TASK_RUNNING").length,
    };
  };
  let instances = STEP;
  await call(`${first.leader.url}/v2/apps`, "POST", {
    id: "/bench",
    cmd: "serve",
    instances,
    cpus: 0.01,
    mem: 1,
    portDefinitions: [],
  });
  await waitFor("the first instances", async () => (await running()).tasks === instances, 60_000);

  const total: number[] = [], api: number[] = [], subscribed: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { leader, standbys: [standby] } = await agreedLeader(marathons);
    if (!standby) throw new Error("no standby");
    instances += STEP;
    const killedAt = performance.now();
    const killedWall = Date.now();
    await leader.kill("SIGKILL");
    const resubscribed = waitFor("the framework to subscribe again", async () => {
      const r = await running();
      return r.connected && r.reregisteredAt >= killedWall ? performance.now() : false;
    }, 60_000);
    const accepted = await waitFor("the new leader to accept the scale-up", async () => {
      const r = await call(`${standby.url}/v2/apps/bench`, "PUT", { instances });
      return r.status === 200 ? performance.now() : false;
    }, 60_000);
    const done = await waitFor(
      `${instances} instances running`,
      async () => (await running()).tasks === instances ? performance.now() : false,
      60_000,
    );
    total.push(done - killedAt);
    api.push(accepted - killedAt);
    subscribed.push((await resubscribed) - killedAt);
    console.log(
      `# run ${run + 1}: scaled ${Math.round(done - killedAt)} ms, ` +
        `accepted ${Math.round(accepted - killedAt)} ms, ` +
        `subscribed ${Math.round(subscribed.at(-1)!)} ms`,
    );
    await leader.start(); // back as the standby of the next run
  }
  console.log(`marathon_failover_ms ${Math.round(median(total))} ms`);
  console.log(`marathon_failover_api_ms ${Math.round(median(api))} ms`);
  console.log(`marathon_failover_subscribed_ms ${Math.round(median(subscribed))} ms`);
} finally {
  for (const m of marathons) await m.kill();
  await cluster?.stop();
  await etcd.close();
}
