/**
 * Several masters on a real 3-member etcd, as real processes: one leads, standbys redirect to
 * it, and the loss of the leader (SIGKILL, or a pause past its lease) or of etcd members loses
 * nothing that was acknowledged and kills no task.
 */
import assert from "node:assert/strict";
import { taskInfo } from "../mod.ts";
import { EtcdClient } from "../store/mod.ts";
import { freePort, waitFor } from "./support/cluster.ts";
import { dig, hasDig } from "./support/dig.ts";
import { EtcdCluster, hasEtcd } from "./support/etcd_cluster.ts";
import { HaCluster } from "./support/ha_cluster.ts";
import { call, type Json } from "./support/marathon_api.ts";
import { MarathonProcess } from "./support/marathon_process.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const ignore = !hasEtcd();

/** A long task on the first offer; resolves once it runs. */
async function launchSleeper(
  fw: RecordingFramework,
  taskId: string,
  options: { name?: string; ports?: number[] } = {},
): Promise<void> {
  const offer = await fw.takeOffer();
  await fw.driver.launch([offer.id.value], [
    taskInfo({
      name: options.name ?? taskId,
      taskId,
      agentId: offer.agent_id.value,
      cpus: 0.1,
      mem: 16,
      ports: options.ports,
      command: "sleep 600",
    }),
  ]);
  await fw.waitForState(taskId, "TASK_RUNNING");
}

/**
 * A test on an HA cluster with one agent and a subscribed framework that knows every master
 * (the agent finds them by `agentMaster` when given); everything is stopped after.
 */
function haTest(
  name: string,
  body: (cluster: HaCluster, fw: RecordingFramework) => Promise<void>,
  options: {
    dnsPort?: number;
    agentMaster?: (cluster: HaCluster) => string;
    ignore?: boolean;
  } = {},
): void {
  Deno.test({
    name,
    ignore: ignore || options.ignore,
    async fn() {
      const cluster = await HaCluster.start({ dnsPort: options.dnsPort });
      const fw = new RecordingFramework(cluster.masterList, { failover_timeout: 600 });
      try {
        await cluster.addAgent([], options.agentMaster?.(cluster));
        await fw.driver.start();
        await body(cluster, fw);
      } finally {
        await fw.driver.stop().catch(() => {});
        await cluster.stop();
      }
    },
  });
}

/** The pid of a running task of the process containerizer, from the leader's state. */
// deno-lint-ignore no-explicit-any -- the Mesos-shaped state is read loosely
function runningTask(state: any, taskId: string): any {
  for (const f of state?.frameworks ?? []) {
    for (const t of f.tasks) if (t.id === taskId && t.state === "TASK_RUNNING") return t;
  }
  return undefined;
}

Deno.test({
  name: "three masters on etcd elect one leader; standbys redirect to it and say who leads",
  ignore,
  async fn() {
    const cluster = await HaCluster.start();
    try {
      // One master leads and every standby names it (on a loaded machine an early lease may
      // lapse once while three masters start, so agreement is what is waited for).
      let seen: unknown;
      const { leader } = await waitFor("one leader that every standby names", async () => {
        const hs = await Promise.all([0, 1, 2].map((i) => cluster.health(i)));
        seen = hs;
        const leaders = hs.flatMap((h, i) => (h?.role === "leader" ? [i] : []));
        const url = cluster.masterUrls[leaders[0] ?? -1];
        const agreed = leaders.length === 1 &&
          hs.every((h, i) => i === leaders[0] || h?.leader === url);
        return agreed ? { leader: leaders[0]! } : undefined;
      }).catch((e) => {
        throw new Error(`${e.message}; saw ${JSON.stringify(seen)}\n${cluster.logs()}`);
      });
      const leaderUrl = cluster.masterUrls[leader]!;
      const standbyUrl = cluster.masterUrls[(leader + 1) % 3]!;
      const post = await fetch(`${standbyUrl}/api/v1/scheduler`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        redirect: "manual",
      });
      await post.body?.cancel();
      assert.equal(post.status, 307);
      assert.equal(post.headers.get("Location"), `${leaderUrl}/api/v1/scheduler`);
      const redirect = await fetch(`${standbyUrl}/master/redirect`, { redirect: "manual" });
      await redirect.body?.cancel();
      assert.equal(redirect.headers.get("Location"), leaderUrl);
      const state = await (await fetch(`${standbyUrl}/master/state`)).json();
      const port = Number(new URL(leaderUrl).port);
      assert.equal(state.leader, `master@127.0.0.1:${port}`);
      assert.equal(state.leader_info.port, port);
      const metrics = async (url: string) => await (await fetch(`${url}/metrics`)).text();
      assert.match(await metrics(standbyUrl), /^tender_master_elected 0$/m);
      assert.match(await metrics(leaderUrl), /^tender_master_elected 1$/m);
      assert.match(
        await (await fetch(standbyUrl)).text(),
        new RegExp(`leading master is <a href="${leaderUrl}/"`),
      );
    } finally {
      await cluster.stop();
    }
  },
});

haTest(
  "SIGKILL of the leading master: a standby leads, the agent re-registers with its task still running, the framework re-subscribes",
  async (cluster, fw) => {
    // This agent finds the leader in etcd (`--master etcd://…`), the framework from the list.
    await launchSleeper(fw, "sleeper-1");
    const before = runningTask(await cluster.state(), "sleeper-1");
    const old = await cluster.waitForLeader();
    const subscriptions = fw.subscriptions;
    const killedAt = performance.now();
    await cluster.masters[old]!.kill("SIGKILL");
    const leader = await cluster.waitForLeader({ not: old });
    await waitFor("the agent to re-register and the task to run on", async () => {
      const state = await cluster.state();
      return state?.slaves.some((s: { active: boolean }) => s.active) &&
        runningTask(state, "sleeper-1");
    });
    await waitFor("the framework to re-subscribe", () => fw.subscriptions > subscriptions);
    console.log(`failover to master-${leader}: ${Math.round(performance.now() - killedAt)} ms`);
    const after = runningTask(await cluster.state(), "sleeper-1");
    assert.equal(after.framework_id, before.framework_id, "the same framework");
    assert.equal(after.slave_id, before.slave_id, "on the same agent");
    // The task was never killed: no terminal update reached the framework.
    assert.deepEqual(fw.states("sleeper-1"), ["TASK_STARTING", "TASK_RUNNING"]);
    // And the new leader launches on the same framework.
    await launchSleeper(fw, "sleeper-2");
  },
  { agentMaster: (c) => c.etcd.url("tender") },
);

haTest(
  "a leader paused past its lease stops leading when resumed, and its writes are refused",
  async (cluster, fw) => {
    await launchSleeper(fw, "before-pause");
    const old = await cluster.waitForLeader();
    cluster.masters[old]!.signal("SIGSTOP");
    const leader = await cluster.waitForLeader({ not: old });
    await launchSleeper(fw, "during-pause");
    cluster.masters[old]!.signal("SIGCONT");
    await waitFor("the paused master to stand by", async () => {
      const h = await cluster.health(old);
      return h?.role === "standby";
    });
    assert.equal(await cluster.leader(), leader, "the new leader still leads");
    const log = cluster.masters[old]!.log.join("");
    assert.match(log, /lost leadership/);
    const state = await cluster.state();
    assert.ok(runningTask(state, "before-pause"));
    assert.ok(runningTask(state, "during-pause"));
  },
);

haTest(
  "one etcd member down changes nothing; quorum lost refuses writes saying why, and the masters resume when it returns",
  async (cluster, fw) => {
    const leader = await cluster.waitForLeader();
    await cluster.etcd.kill(0);
    await launchSleeper(fw, "one-member-down");
    assert.equal(await cluster.leader(), leader, "the same master leads");

    await cluster.etcd.kill(1);
    // Without quorum no master can hold a lease: all stand by, and say why.
    const answer = await waitFor("the masters to refuse calls", async () => {
      const r = await fetch(`${cluster.masterUrls[leader]}/api/v1/scheduler`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        redirect: "manual",
      });
      const body = await r.text();
      // Until a campaign has failed the standbys only know no one leads; then they say why.
      return r.status === 503 && /etcd|quorum/.test(body) ? body : undefined;
    }, 30_000);
    assert.match(answer, /no leading master/);
    assert.match(answer, /etcd|quorum/);

    await cluster.etcd.restart(0);
    await cluster.etcd.restart(1);
    await cluster.waitForLeader({ timeoutMs: 30_000 });
    await waitFor(
      "the task to be known again",
      async () => runningTask(await cluster.state(), "one-member-down"),
      30_000,
    );
    await launchSleeper(fw, "after-quorum");
    assert.deepEqual(fw.states("one-member-down"), ["TASK_STARTING", "TASK_RUNNING"]);
  },
);

/** Marathon's tasks of an app (id → version), through its API. */
async function marathonTasks(url: string, app: string): Promise<Map<string, string>> {
  const r = await call(`${url}/v2/apps${app}?embed=apps.tasks`);
  return new Map((r.json?.app?.tasks ?? []).map((t: Json) => [t.id, t.version]));
}

Deno.test({
  name:
    "SIGKILL of the leading master during a Marathon deployment: it completes, nothing acknowledged is lost, never over capacity",
  ignore,
  async fn() {
    const cluster = await HaCluster.start();
    const marathon = new MarathonProcess("marathon", [
      ...["--master", cluster.masterList, "--work-dir", `${cluster.root}/marathon`],
      ...["--log-level", "info"],
    ]);
    try {
      await cluster.addAgent(["--resources", "cpus:8;mem:4096;disk:1024;ports:[31000-31099]"]);
      const url = await marathon.start();
      const app = {
        id: "/svc",
        cmd: "sleep 1000",
        instances: 3,
        cpus: 0.1,
        mem: 16,
        upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.34 },
      };
      assert.equal((await call(`${url}/v2/apps`, "POST", app)).status, 201);
      const settled = async () =>
        (await marathonTasks(url, "/svc")).size === 3 &&
        (await call(`${url}/v2/deployments`)).json?.length === 0;
      await waitFor("3 instances and no deployment", settled, 60_000);
      const limit = Math.floor(3 * (1 + 0.34));

      // A rolling upgrade, and the leading master killed while it runs.
      const put = await call(`${url}/v2/apps/svc`, "PUT", { ...app, env: { V: "2" } });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      const version = put.json.version;
      const old = await cluster.waitForLeader();
      await cluster.masters[old]!.kill("SIGKILL");

      let most = 0;
      const done = await waitFor("the upgrade to complete on the new leader", async () => {
        const tasks = await marathonTasks(url, "/svc");
        const state = await cluster.state();
        const live = (state?.frameworks ?? []).flatMap((f: Json) => f.tasks)
          .filter((t: Json) => t.state === "TASK_RUNNING" || t.state === "TASK_STARTING");
        most = Math.max(most, tasks.size); // Marathon's count: a task it killed may drain ~1 s
        const deployments = (await call(`${url}/v2/deployments`)).json ?? [];
        return deployments.length === 0 && tasks.size === 3 &&
            [...tasks.values()].every((v) => v === version) && live.length === 3
          ? { tasks, live }
          : undefined;
      }, 90_000);
      assert.ok(most <= limit, `at most ${limit} instances at once, saw ${most}`);
      // What Marathon acknowledged is what the master holds: the same 3 tasks running, and every
      // task it killed is terminal on the master (an acknowledged TASK_KILLED was not lost).
      assert.deepEqual(done.live.map((t: Json) => t.id).sort(), [...done.tasks.keys()].sort());
    } finally {
      await marathon.kill();
      await cluster.stop();
    }
  },
});

/** The A records `dig` gets for a name ("" when none answers). */
async function digA(port: number, name: string): Promise<string> {
  return (await dig(port, "+short", name, "A")).trim();
}

const dnsPort = freePort();
haTest(
  "DNS answers for a task before and after the leading master is killed (the new leader serves it)",
  async (cluster, fw) => {
    await launchSleeper(fw, "web-1", { name: "web", ports: [31500] });
    const name = "web.recording.tender";
    await waitFor("DNS to answer", async () => (await digA(dnsPort, name)) === "127.0.0.1");
    const old = await cluster.waitForLeader();
    await cluster.masters[old]!.kill("SIGKILL");
    await cluster.waitForLeader({ not: old });
    await waitFor("DNS to answer again", async () => (await digA(dnsPort, name)) === "127.0.0.1");
  },
  { dnsPort, ignore: !hasDig },
);

/** Runs `deno task master` with `args` to its exit; its code, output, and how long it took. */
async function masterExit(args: string[]): Promise<{ code: number; output: string; ms: number }> {
  const dir = await Deno.makeTempDir({ prefix: "tender-master-" });
  const started = performance.now();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        "master/main.ts",
        "--port",
        "0",
        "--work-dir",
        dir,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, output: text, ms: performance.now() - started };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "a master whose etcd does not answer exits non-zero naming the endpoints, and one on another system's prefix is refused",
  ignore,
  async fn() {
    const port = freePort();
    const down = await masterExit([
      ...["--store", `etcd://127.0.0.1:${port}/tender`, "--dns-port", "off"],
      ...["--registry-port", "off"],
    ]);
    assert.notEqual(down.code, 0);
    assert.match(down.output, new RegExp(`master: .*http://127\\.0\\.0\\.1:${port}`));
    assert.ok(down.ms < 20_000, `gave up after ${Math.round(down.ms)} ms, not a hang`);

    const etcd = await EtcdCluster.start({ size: 1 });
    try {
      const client = await EtcdClient.connect(etcd.endpoints);
      await client.put("k8s/registry/pods/default/x", "{}");
      client.close();
      const foreign = await masterExit([
        ...["--store", etcd.url("k8s"), "--dns-port", "off", "--registry-port", "off"],
      ]);
      assert.notEqual(foreign.code, 0);
      assert.match(foreign.output, /holds keys that are not Tender's/);
    } finally {
      await etcd.close();
    }
  },
});
