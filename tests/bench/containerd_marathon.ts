/**
 * The Marathon half of `containerd_launch.ts`: one master, one containerd agent (on the private
 * containerd the bench started) and one Docker agent, as processes, Marathon in-process, in one
 * run. Prints `metric value unit` lines:
 * - the same app (busybox `sleep 3600`, 0.01 cpus, 32 mem, bridged with Marathon's default port
 *   mapping) of `n` instances from POST until the API counts `n` running, pinned by a constraint
 *   to the containerd agent, then to the Docker agent, alternating `pairs` times (which goes
 *   first taking turns) after an untimed warm-up of both; medians and their ratio;
 * - a running task's container killed behind the agent's back (CRI StopContainer with no grace,
 *   as `crictl stop -t 0`; the Engine's kill for Docker) until Marathon's replacement is
 *   TASK_RUNNING on /v2/events, one fresh app with Marathon's defaults per kill, `kills` times
 *   on each engine; medians.
 * - with `rawCri`, the same N pods by raw CRI calls all at once (the agent starts at once what
 *   Marathon sends it), in the same alternation; Marathon on each engine against it.
 * Removes every app it made and waits for their containers and pods to go.
 */
import { LABELS } from "../../agent/containerizer/docker_spec.ts";
import { CriClient } from "../../agent/containerizer/cri_client.ts";
import { CNI_CONFLIST, cniConflist } from "../../agent/containerizer/containerd_setup.ts";
import { DockerEngine } from "../../agent/containerizer/docker_engine.ts";
import { startMarathon } from "../../frameworks/marathon/mod.ts";
import { Cluster, waitFor } from "../support/cluster.ts";
import { CRI_TEST_IMAGE, type TestContainerd } from "../support/containerd.ts";
import { call as marathonCall, type Json, readEvents } from "../support/marathon_api.ts";
import { removeContainersOf, SOCKET } from "../docker_helpers.ts";

type Engine = "containerd" | "docker";
const ENGINES: readonly Engine[] = ["containerd", "docker"];

/** What the Marathon half measures. */
export interface MarathonFigures {
  launch: Record<Engine | "raw", number[]>;
  kill: Record<Engine, number[]>;
}

/** Runs the Marathon half against `ctd`; `out` prints one figure. */
export async function marathonOnBothEngines(
  ctd: TestContainerd,
  options: {
    n: number;
    pairs: number;
    kills: number;
    /** Starts the N pods by raw CRI calls at Marathon's concurrency and removes them: the ms. */
    rawCri?: (pair: number) => Promise<number>;
  },
  out: (metric: string, value: number | string, unit: string) => void,
): Promise<MarathonFigures> {
  const { n, pairs, kills } = options;
  // The agent writes a network of its own (tender0, 10.89.0.0/16) into containerd's conf_dir
  // when that holds none; this one keeps the bench on the private containerd's bridge.
  await Deno.writeTextFile(`${ctd.dir}/net.d/${CNI_CONFLIST}`, cniConflist(ctd.node.network));
  const cri = new CriClient(ctd.socket);
  const docker = new DockerEngine(SOCKET);
  const cluster = await Cluster.start();
  const workDir = await Deno.makeTempDir({ prefix: "tender-bench-ctd-marathon-" });
  const marathon = await startMarathon({ master: cluster.masterUrl, port: 0, workDir });
  const statuses = readEvents(marathon.url, "status_update_event");
  const api = marathon.url;
  let frameworkId: string | undefined;
  const figures: MarathonFigures = {
    launch: { containerd: [], docker: [], raw: [] },
    kill: { containerd: [], docker: [] },
  };

  /** A Marathon API call that must succeed: its parsed reply. */
  const call = async (path: string, method = "GET", body?: unknown): Promise<Json> => {
    const { status, json } = await marathonCall(`${api}${path}`, method, body);
    if (status >= 400) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
    return json;
  };
  const pinned = (engine: Engine) => ({ constraints: [["engine", "CLUSTER", engine]] });
  const sleeper = (id: string, instances: number, engine: Engine) => ({
    id,
    cmd: "sleep 3600",
    instances,
    cpus: 0.01,
    mem: 32,
    container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE } },
    networks: [{ mode: "container/bridge" }],
    ...pinned(engine),
  });
  /** The task ids an engine still holds a container (or a pod) of, for app `id`. */
  const held = async (engine: Engine, id: string): Promise<string[]> => {
    const prefix = `${id.slice(1).replaceAll("/", "_")}.`;
    const byFramework = { [LABELS.frameworkId]: frameworkId ?? "" };
    const tasks = engine === "docker"
      ? (await docker.list([`${LABELS.frameworkId}=${frameworkId}`]))
        .map((c) => c.Labels?.[LABELS.taskId] ?? "")
      : [
        ...(await cri.listContainers(byFramework)).map((c) => c.labels[LABELS.taskId] ?? ""),
        ...(await cri.listPodSandboxes(byFramework)).map((p) => p.labels[LABELS.taskId] ?? ""),
      ];
    return tasks.filter((t) => t.startsWith(prefix));
  };
  const deleteApp = async (engine: Engine, id: string) => {
    await call(`/v2/apps${id}`, "DELETE");
    await waitFor(`${id}'s containers to go from ${engine}`, async () => {
      return (await held(engine, id)).length === 0;
    }, 180_000);
  };
  /** POST until the API counts `count` running, in ms; watched on /v2/events first. */
  const launch = async (engine: Engine, id: string, count: number): Promise<number> => {
    const t0 = performance.now();
    await call("/v2/apps", "POST", sleeper(id, count, engine));
    const running = new Set<string>();
    await waitFor(`${count} tasks of ${id} running on ${engine}`, () => {
      for (const e of statuses.events) {
        if (e.at >= t0 && e.data.appId === id && e.data.taskStatus === "TASK_RUNNING") {
          running.add(e.data.taskId);
        }
      }
      return running.size >= count;
    }, 300_000);
    await waitFor(`the API to count ${count} running`, async () => {
      return (await call(`/v2/apps${id}`)).app.tasksRunning === count;
    }, 20_000);
    return performance.now() - t0;
  };
  /** Kills one task's container behind the agent's back: ms until its replacement runs. */
  const killOne = async (engine: Engine, id: string): Promise<number> => {
    await call("/v2/apps", "POST", {
      id,
      cmd: "sleep 3600",
      container: { type: "DOCKER", docker: { image: CRI_TEST_IMAGE } },
      ...pinned(engine),
    });
    const [victim] = await waitFor(`${id} running, deployed`, async () => {
      const a = (await call(`/v2/apps${id}?embed=app.tasks`)).app;
      return a.tasksRunning === 1 && a.deployments.length === 0 &&
        a.tasks.map((t: Json) => t.id as string);
    }, 120_000);
    let k0: number;
    if (engine === "docker") {
      const [container] = await docker.list([`${LABELS.taskId}=${victim}`]);
      if (!container) throw new Error(`no Docker container for ${victim}`);
      k0 = performance.now();
      await docker.kill(container.Id);
    } else {
      const [container] = await cri.listContainers({ [LABELS.taskId]: victim! });
      if (!container) throw new Error(`no containerd container for ${victim}`);
      k0 = performance.now();
      await cri.stopContainer(container.id, 0);
    }
    const replaced = await waitFor(`${id}'s replacement to run`, () => {
      return statuses.events.find((e) =>
        e.at > k0 && e.data.appId === id && e.data.taskId !== victim &&
        e.data.taskStatus === "TASK_RUNNING"
      );
    }, 120_000);
    const ms = replaced.at - k0;
    await deleteApp(engine, id);
    return ms;
  };

  try {
    const agentArgs = (engine: Engine, ports: string) => [
      "--containerizer",
      engine,
      ...(engine === "containerd" ? ["--containerd-socket", ctd.socket] : []),
      "--attributes",
      `engine:${engine}`,
      "--resources",
      `cpus:4;mem:4096;disk:1024;ports:[${ports}]`,
    ];
    await cluster.addAgent(agentArgs("containerd", "32500-32599"));
    await cluster.addAgent(agentArgs("docker", "32600-32699"));
    frameworkId = await waitFor("Marathon to subscribe", () => marathon.driver.frameworkId, 60_000);

    // Untimed warm-up of both agents (JIT, the pod network, images known to the engines).
    for (const engine of ENGINES) {
      await launch(engine, `/warm-${engine}`, 5);
      await deleteApp(engine, `/warm-${engine}`);
    }
    const sides = [...ENGINES, ...(options.rawCri ? ["raw" as const] : [])];
    for (let pair = 1; pair <= pairs; pair++) {
      // Which side goes first rotates, so drift over the run falls on every side alike.
      const order = sides.map((_, i) => sides[(i + pair - 1) % sides.length]!);
      for (const side of order) {
        if (side === "raw") {
          if (options.rawCri) figures.launch.raw.push(await options.rawCri(pair));
          continue;
        }
        const id = `/launch-${side}-${pair}`;
        figures.launch[side].push(await launch(side, id, n));
        await deleteApp(side, id);
      }
    }
    for (let k = 1; k <= kills; k++) {
      const order = k % 2 === 1 ? ENGINES : [...ENGINES].reverse();
      for (const engine of order) {
        figures.kill[engine].push(await killOne(engine, `/kill-${engine}-${k}`));
      }
    }
    const ctdLaunch = median(figures.launch.containerd);
    const dockerLaunch = median(figures.launch.docker);
    out("marathon_pairs", pairs, "count");
    out(`marathon_containerd_launch_${n}`, Math.round(ctdLaunch), "ms");
    out(`marathon_docker_launch_${n}`, Math.round(dockerLaunch), "ms");
    out("marathon_containerd_vs_docker_ratio", (ctdLaunch / dockerLaunch).toFixed(3), "x");
    if (figures.launch.raw.length > 0) {
      const raw = median(figures.launch.raw);
      out(`raw_cri_start_${n}_at_${n}`, Math.round(raw), "ms");
      out("marathon_containerd_vs_raw_cri_ratio", (ctdLaunch / raw).toFixed(3), "x");
      out("marathon_docker_vs_raw_cri_ratio", (dockerLaunch / raw).toFixed(3), "x");
    }
    for (const side of sides) {
      out(`marathon_${side}_launch_all`, figures.launch[side].map(Math.round).join(","), "ms");
    }
    out("marathon_kill_count", kills, "count");
    for (const engine of ENGINES) {
      out(
        `marathon_${engine}_kill_to_replacement_running`,
        Math.round(median(figures.kill[engine])),
        "ms",
      );
      out(
        `marathon_${engine}_kill_to_replacement_all`,
        figures.kill[engine].map(Math.round).join(","),
        "ms",
      );
    }
    return figures;
  } catch (e) {
    for (const p of [cluster.master, ...cluster.agents]) {
      console.error(`# ${p.name}:\n${p.log.slice(-15).join("\n")}`);
    }
    throw e;
  } finally {
    await statuses.close();
    await marathon.stop();
    await cluster.stop();
    await removeContainersOf(frameworkId);
    docker.close();
    cri.close();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

/** The median (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
}
