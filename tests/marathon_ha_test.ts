/**
 * Two Marathons as real processes on a real 3-member etcd (`--store etcd://…`), a real master
 * and agent (process containerizer): one leads, the other proxies the API to it and names it in
 * `/v2/leader`; `DELETE /v2/leader` hands over; a leader SIGKILLed mid-deployment is replaced
 * by the other, which finishes the deployment from the store, as the same framework.
 */
import assert from "node:assert/strict";
import { Cluster, waitFor } from "./support/cluster.ts";
import { EtcdCluster, hasEtcd } from "./support/etcd_cluster.ts";
import { call, type Json, readEvents } from "./support/marathon_api.ts";
import { agreedLeader, MarathonProcess } from "./support/marathon_process.ts";

const ignore = !hasEtcd();

const AGENT_FLAGS = [
  "--containerizer",
  "process",
  "--resources",
  "cpus:4;mem:2048;disk:1024;ports:[31000-31099]",
];

const TERMINAL = new Set([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_ERROR",
  "TASK_LOST",
  "TASK_DROPPED",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
  "TASK_UNKNOWN",
]);

/** A master, an agent, a 3-member etcd and two Marathons on it; `stop()` ends them all. */
class HaSetup {
  private constructor(
    readonly etcd: EtcdCluster,
    readonly cluster: Cluster,
    readonly marathons: MarathonProcess[],
  ) {}

  static async start(): Promise<HaSetup> {
    const etcd = await EtcdCluster.start();
    let cluster: Cluster | undefined;
    const marathons: MarathonProcess[] = [];
    try {
      cluster = await Cluster.start();
      await cluster.addAgent(AGENT_FLAGS);
      for (const name of ["marathon-a", "marathon-b"]) {
        const m = new MarathonProcess(name, [
          "--master",
          cluster.masterUrl,
          "--store",
          etcd.url("tender-ha-test"),
          "--log-level",
          "info",
        ]);
        marathons.push(m);
        await m.start();
      }
      return new HaSetup(etcd, cluster, marathons);
    } catch (e) {
      for (const m of marathons) await m.kill();
      await cluster?.stop();
      await etcd.close();
      throw e;
    }
  }

  /** The framework's tasks the master holds, not yet terminal. */
  async tasks(frameworkId: string): Promise<Json[]> {
    const state = await this.cluster.state();
    const fw = state.frameworks.find((f: Json) => f.id === frameworkId);
    return (fw?.tasks ?? []).filter((t: Json) => !TERMINAL.has(t.state));
  }

  /** Whether the master has the framework subscribed right now. */
  async connected(frameworkId: string): Promise<boolean> {
    const state = await this.cluster.state();
    return state.frameworks.some((f: Json) => f.id === frameworkId && f.connected);
  }

  async stop(): Promise<void> {
    for (const m of this.marathons) await m.kill();
    await this.cluster.stop();
    await this.etcd.close();
  }
}

/** Waits until `app` runs `n` tasks of `version` (any version when omitted) and no deployment. */
function deployed(api: () => string, app: string, n: number, version?: string): Promise<Json> {
  return waitFor(`${app} to run ${n} instances with no deployment`, async () => {
    const r = await call(`${api()}/v2/apps${app}?embed=apps.tasks`);
    const a = r.json?.app;
    return a && a.deployments.length === 0 && a.tasksRunning === n && a.tasks.length === n &&
        (version === undefined || a.tasks.every((t: Json) => t.version === version))
      ? a
      : false;
  }, 60_000);
}

/** What `sample()` saw over a deployment. */
interface Sampled {
  /** The most active instances (Marathon's count, which its upgrade strategy bounds) at once. */
  mostActive: number;
  /** Every task of the framework the master ran meanwhile. */
  onMaster: Set<string>;
}

/** Samples Marathon (through whichever instance answers) and the master until `signal`. */
async function sample(
  setup: HaSetup,
  options: { frameworkId: string; marathon: string; signal: AbortSignal },
): Promise<Sampled> {
  const seen: Sampled = { mostActive: 0, onMaster: new Set() };
  while (!options.signal.aborted) {
    const [app, tasks] = await Promise.all([
      call(`${options.marathon}/v2/apps/svc?embed=apps.tasks`).catch(() => undefined),
      setup.tasks(options.frameworkId).catch(() => []),
    ]);
    if (app?.status === 200) seen.mostActive = Math.max(seen.mostActive, app.json.app.tasks.length);
    for (const t of tasks) seen.onMaster.add(t.id);
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

Deno.test({
  name: "two Marathons on one etcd: one leads; the standby names it and proxies the API to it",
  ignore,
  async fn() {
    const setup = await HaSetup.start();
    try {
      const { leader, standbys: [standby] } = await agreedLeader(setup.marathons);
      assert.ok(standby);
      const metrics = async (url: string) => await (await fetch(`${url}/metrics`)).text();
      assert.match(await metrics(leader.url), /^tender_marathon_elected 1$/m);
      assert.match(await metrics(standby.url), /^tender_marathon_elected 0$/m);
      assert.equal(await (await fetch(`${standby.url}/ping`)).text(), "pong");

      // /v2/info is the leader's, through the standby.
      const info = await waitFor("the leader to subscribe", async () => {
        const r = await fetch(`${standby.url}/v2/info`);
        const body = await r.json();
        return body.frameworkId ? { body, via: r.headers.get("x-marathon-via") } : false;
      }, 60_000);
      assert.equal(info.body.elected, true);
      assert.equal(info.body.leader, leader.hostPort);
      assert.equal(info.via, `1.1 ${standby.hostPort}`);

      // The event stream flows through the standby while the app is deployed through it.
      const stream = readEvents(standby.url, "deployment_success");
      try {
        const created = await call(`${standby.url}/v2/apps`, "POST", {
          id: "/web",
          cmd: "sleep 1000",
          instances: 2,
          cpus: 0.1,
          mem: 16,
        });
        assert.equal(created.status, 201);
        const app = await deployed(() => standby.url, "/web", 2);
        const listed = async (url: string) =>
          (await call(`${url}/v2/apps`)).json.apps.map((a: Json) => a.id);
        assert.deepEqual(await listed(standby.url), ["/web"]);
        assert.deepEqual(await listed(leader.url), ["/web"]);
        const running = await setup.tasks(info.body.frameworkId);
        assert.deepEqual(
          running.map((t: Json) => t.id).sort(),
          app.tasks.map((t: Json) => t.id).sort(),
        );
        await waitFor(
          "deployment_success through the standby's /v2/events",
          () => stream.events.some((e) => e.data.id === created.json.deployments[0].id),
        );
      } finally {
        await stream.close();
      }
    } finally {
      await setup.stop();
    }
  },
});

Deno.test({
  name: "DELETE /v2/leader hands the lead to the other Marathon, with the apps and the framework",
  ignore,
  async fn() {
    const setup = await HaSetup.start();
    try {
      const { leader, standbys: [standby] } = await agreedLeader(setup.marathons);
      assert.ok(standby);
      const fwId = await waitFor(
        "the leader to subscribe",
        async () => (await call(`${leader.url}/v2/info`)).json.frameworkId,
        60_000,
      );
      await call(`${leader.url}/v2/apps`, "POST", {
        id: "/web",
        cmd: "sleep 1000",
        instances: 2,
        cpus: 0.1,
        mem: 16,
      });
      const before = await deployed(() => leader.url, "/web", 2);

      const abdicated = await call(`${leader.url}/v2/leader`, "DELETE");
      assert.equal(abdicated.status, 200);
      assert.deepEqual(abdicated.json, { message: "Leadership abdicated" });
      const after = await agreedLeader(setup.marathons);
      assert.equal(after.leader, standby, "the other Marathon leads");

      // The new leader has the app and its tasks, as the same framework; nothing was killed.
      const app = await deployed(() => standby.url, "/web", 2);
      assert.deepEqual(
        app.tasks.map((t: Json) => t.id).sort(),
        before.tasks.map((t: Json) => t.id).sort(),
      );
      await waitFor("the new leader to subscribe", async () => {
        const { json } = await call(`${standby.url}/v2/info`);
        return json.frameworkId === fwId && json.leader === standby.hostPort &&
          await setup.connected(fwId);
      }, 30_000);
      assert.deepEqual(
        (await setup.tasks(fwId)).map((t: Json) => t.id).sort(),
        before.tasks.map((t: Json) => t.id).sort(),
      );
      assert.match(
        await (await fetch(`${leader.url}/metrics`)).text(),
        /^tender_marathon_elected 0$/m,
      );

      // The new leader's scheduler acts: a scale-up sent to the old leader (now proxying) runs.
      const scaled = await call(`${leader.url}/v2/apps/web`, "PUT", { instances: 3 });
      assert.equal(scaled.status, 200);
      await deployed(() => leader.url, "/web", 3);
      assert.equal((await setup.tasks(fwId)).length, 3);
    } finally {
      await setup.stop();
    }
  },
});

Deno.test({
  name:
    "a Marathon leader SIGKILLed mid-deployment: the other takes over and finishes it, never over capacity",
  ignore,
  async fn() {
    const setup = await HaSetup.start();
    const sampling = new AbortController();
    let sampler: Promise<Sampled> | undefined;
    try {
      const { leader, standbys: [standby] } = await agreedLeader(setup.marathons);
      assert.ok(standby);
      const fwId = await waitFor(
        "the leader to subscribe",
        async () => (await call(`${leader.url}/v2/info`)).json.frameworkId,
        60_000,
      );
      // Each instance turns healthy ~2 s after it starts, so the rolling restart below takes
      // several seconds: 4 instances, at most 4 × (1 + 0.5) = 6 at once.
      const definition = {
        id: "/svc",
        cmd: "sleep 2 && touch ready && sleep 1000",
        instances: 4,
        cpus: 0.1,
        mem: 16,
        healthChecks: [{
          protocol: "COMMAND",
          command: { value: "test -f ready" },
          gracePeriodSeconds: 60,
          intervalSeconds: 1,
          timeoutSeconds: 1,
          delaySeconds: 0,
          maxConsecutiveFailures: 60,
        }],
        upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 },
      };
      const maxCapacity = 6;
      assert.equal((await call(`${standby.url}/v2/apps`, "POST", definition)).status, 201);
      const first = await deployed(() => standby.url, "/svc", 4);
      sampler = sample(setup, {
        frameworkId: fwId,
        marathon: standby.url,
        signal: sampling.signal,
      });

      const update = await call(`${standby.url}/v2/apps/svc`, "PUT", { env: { GEN: "2" } });
      assert.equal(update.status, 200);
      const version = update.json.version;
      await waitFor("the first new instance to start", async () => {
        const a = (await call(`${leader.url}/v2/apps/svc?embed=apps.tasks`)).json.app;
        return a.tasks.some((t: Json) => t.version === version && t.state === "TASK_RUNNING");
      }, 30_000);
      const inProgress = (await call(`${leader.url}/v2/deployments`)).json;
      assert.ok(
        inProgress.some((d: Json) => d.id === update.json.deploymentId),
        "the deployment is in progress when the leader is killed",
      );
      await leader.kill("SIGKILL");

      await waitFor("the other Marathon to lead", async () => {
        return await standby.leader() === standby.hostPort;
      }, 30_000);
      const done = await deployed(() => standby.url, "/svc", 4, version);
      assert.equal(done.tasksHealthy, 4);
      const { json: infoAfter } = await call(`${standby.url}/v2/info`);
      assert.equal(infoAfter.frameworkId, fwId, "the same framework, failed over");
      const onMaster = await waitFor("the master to hold exactly the 4 new tasks", async () => {
        const tasks = await setup.tasks(fwId);
        return tasks.length === 4 && tasks.every((t: Json) => t.state === "TASK_RUNNING")
          ? tasks
          : false;
      }, 30_000);
      assert.deepEqual(
        onMaster.map((t: Json) => t.id).sort(),
        done.tasks.map((t: Json) => t.id).sort(),
        "Marathon and the master agree on the tasks",
      );
      sampling.abort();
      const seen = await sampler;
      assert.ok(
        seen.mostActive <= maxCapacity,
        `Marathon kept at most ${maxCapacity} active instances; it had ${seen.mostActive}`,
      );
      // No instance launched twice, none the new leader did not know of: beside the first 4,
      // the master ran exactly the 4 new tasks.
      const old = new Set(first.tasks.map((t: Json) => t.id));
      const launched = [...seen.onMaster].filter((id) => !old.has(id)).sort();
      assert.deepEqual(launched, done.tasks.map((t: Json) => t.id).sort());
    } finally {
      sampling.abort();
      await sampler?.catch(() => {});
      await setup.stop();
    }
  },
});

Deno.test({
  name: "a Marathon leader paused past its lease stands by when it wakes, proxying to the new one",
  ignore,
  async fn() {
    const setup = await HaSetup.start();
    try {
      const { leader, standbys: [standby] } = await agreedLeader(setup.marathons);
      assert.ok(standby);
      const fwId = await waitFor(
        "the leader to subscribe",
        async () => (await call(`${leader.url}/v2/info`)).json.frameworkId,
        60_000,
      );
      await call(`${leader.url}/v2/apps`, "POST", {
        id: "/web",
        cmd: "sleep 1000",
        instances: 1,
        cpus: 0.1,
        mem: 16,
      });
      const before = await deployed(() => leader.url, "/web", 1);

      leader.process.signal("SIGSTOP");
      try {
        await waitFor("the other Marathon to lead", async () => {
          const { json } = await call(`${standby.url}/v2/info`);
          return json.leader === standby.hostPort && await setup.connected(fwId);
        }, 30_000);
      } finally {
        leader.process.signal("SIGCONT");
      }
      // Awake, it knows at once that its lease ran out: it leads no more and passes calls on.
      await waitFor("the woken Marathon to stand by", async () => {
        const metrics = await (await fetch(`${leader.url}/metrics`)).text();
        return /^tender_marathon_elected 0$/m.test(metrics) &&
          await leader.leader() === standby.hostPort;
      }, 15_000);
      const viaOld = await fetch(`${leader.url}/v2/apps/web?embed=apps.tasks`);
      assert.equal(viaOld.headers.get("x-marathon-via"), `1.1 ${leader.hostPort}`);
      const app = (await viaOld.json()).app;
      assert.deepEqual(app.tasks.map((t: Json) => t.id), before.tasks.map((t: Json) => t.id));
      assert.deepEqual(
        (await setup.tasks(fwId)).map((t: Json) => t.id),
        before.tasks.map((t: Json) => t.id),
        "the failover killed no task",
      );
    } finally {
      await setup.stop();
    }
  },
});
