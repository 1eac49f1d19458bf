/**
 * Marathon on real Docker, in one run (a real master and Docker agent as processes, Marathon
 * in-process with default settings), printing `metric value unit` lines:
 * - a 50-instance app (0.01 cpus, 8 mem, docker `sleep 3600`, no health check) from POST until
 *   `tasksRunning == 50`, against the same 50 containers (the shape the agent gave them, read
 *   back from Docker) started straight through the Engine API at concurrency 50, alternating
 *   `--pairs` times (which goes first taking turns) after an untimed warm-up of both with 5,
 *   and the ratio of the medians (target ≤ 1.1);
 * - a container killed (the Engine API call of `docker kill`) until its replacement is
 *   TASK_RUNNING, seen on /v2/events, for `--kills` apps with default settings (target < 1.5 s);
 * - a rolling env change of 20 instances with minimumHealthCapacity 0.9, from PUT until the
 *   deployment is gone and all 20 run the new version.
 * Removes every container it started.
 *
 *   deno run -A --unstable-kv tests/bench/marathon_launch.ts [--tasks 50] [--rolling 20] [--kills 3]
 *     [--pairs 5]
 */
import { parseArgs } from "node:util";
import { LABELS } from "../../agent/containerizer/docker.ts";
import { DockerEngine } from "../../agent/containerizer/docker_engine.ts";
import { startMarathon } from "../../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "../support/cluster.ts";
import { call as marathonCall, type Json, readEvents } from "../support/marathon_api.ts";
import { containersOf, IMAGE, noDocker, removeContainersOf, SOCKET } from "../docker_helpers.ts";
import { shapeOf, startContainersDirect } from "./docker_direct.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    tasks: { type: "string", default: "50" },
    rolling: { type: "string", default: "20" },
    kills: { type: "string", default: "3" },
    pairs: { type: "string", default: "5" },
  },
}).values;
const N = Number(args.tasks);
const ROLLING = Number(args.rolling);
const KILLS = Number(args.kills);
const PAIRS = Number(args.pairs);

if (noDocker) {
  console.log("# marathon_launch: skipped, no Docker engine answers");
  Deno.exit(0);
}

// The bench stops by itself: a hung Engine or API call must not hold the run for ever (a run
// was once seen idle for 10 minutes). What it leaves is removed before giving up.
const GIVE_UP_MS = 30 * 60_000;
const watchdog = setTimeout(async () => {
  console.error(`# marathon_launch: gave up after ${GIVE_UP_MS / 60_000} minutes`);
  const cleanUp = Promise.all([cluster.stop(), removeContainersOf(fwId)]).catch(() => {});
  await Promise.race([cleanUp, new Promise((r) => setTimeout(r, 30_000))]);
  Deno.exit(1);
}, GIVE_UP_MS);
Deno.unrefTimer(watchdog);

/** A Marathon API call that must succeed: its parsed reply. */
async function call(url: string, method = "GET", body?: unknown): Promise<Json> {
  const { status, json } = await marathonCall(url, method, body);
  if (status >= 400) throw new Error(`${method} ${url}: ${status} ${JSON.stringify(json)}`);
  return json;
}

function sleeper(id: string, instances: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    cmd: "sleep 3600",
    instances,
    cpus: 0.01,
    mem: 8,
    container: { type: "DOCKER", docker: { image: IMAGE } },
    networks: [{ mode: "container/bridge" }],
    ...extra,
  };
}

/** Deletes an app and waits until the agent has removed its containers. */
async function deleteApp(url: string, id: string, frameworkId: string): Promise<void> {
  await call(`${url}/v2/apps${id}`, "DELETE");
  await waitFor(`${id}'s containers to be removed`, async () => {
    const all = await containersOf(frameworkId);
    return all.every((c) => !c.Labels?.[LABELS.taskId]?.startsWith(`${id.slice(1)}.`));
  }, 120_000);
}

const results: string[] = [];
const out = (metric: string, value: number | string, unit: string) => {
  const line = `${metric} ${value} ${unit}`;
  results.push(line);
  console.log(line);
};

const cluster = await Cluster.start();
const workDir = await Deno.makeTempDir({ prefix: "marathon-bench-" });
let fwId: string | undefined;
const marathon = await startMarathon({ master: cluster.masterUrl, port: 0, workDir });
const statuses = readEvents(marathon.url, "status_update_event");
try {
  await cluster.addAgent([
    "--containerizer",
    "docker",
    "--resources",
    "cpus:4;mem:4096;disk:1024;ports:[32400-32449]",
  ]);
  fwId = await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
  const api = marathon.url;

  // 1. N instances to running, against the same N containers through the Engine API at
  // concurrency N. The two alternate, PAIRS times each, the first of a pair taking turns (each
  // side follows the other's clean-up as often), so drift in Docker's speed over the run falls
  // on both sides; each side's figure is its median.
  // Untimed warm-up of both paths with a few containers (JIT, KV, Docker's caches). The direct
  // side starts containers of the very shape the agent gave the warm-up app's (limits, sandbox
  // mount, env, labels, and the host port Marathon's default port mapping publishes).
  await call(`${api}/v2/apps`, "POST", sleeper("/warm-up", 5));
  await waitFor("the warm-up app running", async () => {
    return (await call(`${api}/v2/apps/warm-up`)).app.tasksRunning === 5;
  }, 120_000);
  const [model] = await containersOf(fwId, [], true);
  if (!model) throw new Error("the warm-up app has no running container");
  const shape = await shapeOf(model.Id, workDir);
  await deleteApp(api, "/warm-up", fwId);
  await startContainersDirect(5, 5, shape);
  const viaMarathon: number[] = [];
  const direct: number[] = [];
  const framework = fwId;
  const launchViaMarathon = async (pair: number) => {
    const id = `/bench-${pair}`;
    const t0 = performance.now();
    await call(`${api}/v2/apps`, "POST", sleeper(id, N));
    // Watched as a user would watch it, on /v2/events (polling the API 20 times a second would
    // load Marathon with the watching), then confirmed by the API.
    const running = new Set<string>();
    await waitFor(`${N} tasks running`, () => {
      for (const e of statuses.events) {
        if (e.at >= t0 && e.data.appId === id && e.data.taskStatus === "TASK_RUNNING") {
          running.add(e.data.taskId);
        }
      }
      return running.size >= N;
    }, 180_000);
    await waitFor(`the API to count ${N} running`, async () => {
      return (await call(`${api}/v2/apps${id}`)).app.tasksRunning === N;
    }, 10_000);
    viaMarathon.push(performance.now() - t0);
    if (pair === 1) {
      const launchEvents = statuses.events.filter((e) => e.at >= t0);
      const firstRunning = launchEvents.find((e) => e.data.taskStatus === "TASK_RUNNING");
      if (launchEvents[0]) {
        out("marathon_launch_first_update", Math.round(launchEvents[0].at - t0), "ms");
      }
      if (firstRunning) {
        out("marathon_launch_first_running", Math.round(firstRunning.at - t0), "ms");
      }
    }
    await deleteApp(api, id, framework);
  };
  for (let pair = 1; pair <= PAIRS; pair++) {
    if (pair % 2 === 1) {
      direct.push(await startContainersDirect(N, N, shape));
      await launchViaMarathon(pair);
    } else {
      await launchViaMarathon(pair);
      direct.push(await startContainersDirect(N, N, shape));
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m] : (s[m - 1]! + s[m]!) / 2;
  };
  out("launch_pairs", PAIRS, "count");
  out(`marathon_launch_${N}`, Math.round(median(viaMarathon)!), "ms");
  out(`direct_launch_${N}`, Math.round(median(direct)!), "ms");
  out("marathon_launch_ratio", (median(viaMarathon)! / median(direct)!).toFixed(2), "x");
  out(
    "marathon_launch_ratio_per_pair",
    viaMarathon.map((m, i) => (m / direct[i]!).toFixed(2)).join(","),
    "x",
  );

  // 2. A killed container until its replacement runs, for apps with default settings (only id,
  // cmd, image: Marathon's defaults for everything else, so host networking, backoffSeconds 1).
  // One app per kill, so each kill meets the backoff of a first failure. The kill is the Engine
  // API call `docker kill` makes; the clock starts as it is sent.
  const kills: { total: number; failedSeen?: number; firstUpdate?: number }[] = [];
  for (let k = 1; k <= KILLS; k++) {
    const id = `/kill-${k}`;
    await call(`${api}/v2/apps`, "POST", {
      id,
      cmd: "sleep 3600",
      container: { type: "DOCKER", docker: { image: IMAGE } },
    });
    const [victim] = await waitFor(`${id} running, deployed`, async () => {
      const a = (await call(`${api}/v2/apps${id}?embed=app.tasks`)).app;
      return a.tasksRunning === 1 && a.deployments.length === 0 && a.tasks.map((t: Json) => t.id);
    }, 120_000);
    const [container] = await containersOf(fwId, [`${LABELS.taskId}=${victim}`]);
    if (!container) throw new Error(`no container for ${victim}`);
    const engine = new DockerEngine(SOCKET);
    const k0 = performance.now();
    try {
      await engine.kill(container.Id);
    } finally {
      engine.close();
    }
    const replaced = await waitFor(
      `${id}'s replacement to run`,
      () =>
        statuses.events.find((e) =>
          e.at > k0 && e.data.taskStatus === "TASK_RUNNING" && e.data.taskId !== victim &&
          e.data.taskId.startsWith(`kill-${k}.`)
        ),
      60_000,
    );
    const failedSeen = statuses.events.find((e) => e.data.taskId === victim && e.at > k0);
    const firstUpdate = statuses.events.find((e) => e.data.taskId === replaced.data.taskId);
    kills.push({
      total: replaced.at - k0,
      ...(failedSeen ? { failedSeen: failedSeen.at - k0 } : {}),
      ...(firstUpdate ? { firstUpdate: firstUpdate.at - k0 } : {}),
    });
    await deleteApp(api, id, fwId);
  }
  const ms = (xs: (number | undefined)[]) => {
    const m = median(xs.filter((x): x is number => x !== undefined));
    return m === undefined ? "NaN" : Math.round(m);
  };
  out("marathon_kill_count", KILLS, "count");
  out("marathon_kill_to_replacement_running", ms(kills.map((k) => k.total)), "ms");
  out(
    "marathon_kill_to_replacement_running_max",
    ms([Math.max(...kills.map((k) => k.total))]),
    "ms",
  );
  out("marathon_kill_to_failed_seen", ms(kills.map((k) => k.failedSeen)), "ms");
  out("marathon_kill_to_replacement_first_update", ms(kills.map((k) => k.firstUpdate)), "ms");

  // 3. Rolling env change of ROLLING instances with minimumHealthCapacity 0.9.
  const strategy = { upgradeStrategy: { minimumHealthCapacity: 0.9, maximumOverCapacity: 0.1 } };
  await call(`${api}/v2/apps`, "POST", sleeper("/roll", ROLLING, { ...strategy, env: { V: "1" } }));
  await waitFor(`${ROLLING} running, deployed`, async () => {
    const a = (await call(`${api}/v2/apps/roll`)).app;
    return a.tasksRunning === ROLLING && a.deployments.length === 0;
  }, 120_000);
  const r0 = performance.now();
  await call(`${api}/v2/apps/roll`, "PUT", { env: { V: "2" } });
  await waitFor("the rolling upgrade to finish", async () => {
    const a = (await call(`${api}/v2/apps/roll?embed=app.tasks`)).app;
    return a.deployments.length === 0 && a.tasksRunning === ROLLING &&
      a.tasks.length === ROLLING && a.tasks.every((t: Json) => t.version === a.version);
  }, 240_000);
  out(`marathon_rolling_upgrade_${ROLLING}_mhc_0.9`, Math.round(performance.now() - r0), "ms");
  await deleteApp(api, "/roll", fwId);
} catch (e) {
  // What the agent and master said last, to tell a slow Docker from a stuck agent.
  for (const p of [cluster.master, ...cluster.agents]) {
    console.error(`# ${p.name}:\n${p.log.slice(-15).join("\n")}`);
  }
  throw e;
} finally {
  await statuses.close();
  await marathon.stop();
  await cluster.stop();
  await removeContainersOf(fwId);
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}
