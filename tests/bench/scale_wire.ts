/**
 * The control plane at scale over the wire, on real processes: a master (on Deno KV), one
 * `deno task sim` process with N agents, and a minimal Mesos v1 scheduler of our own in this
 * process (up to 16 calls in flight, acknowledging every update) launching T tiny tasks. Then
 * the master is SIGKILLed with every task running and restarted. Prints `metric value unit`:
 * time to all running, tasks/s end to end, master and sim CPU ms per task (/proc utime+stime),
 * master and sim peak RSS (VmHWM), duplicate updates as % of updates, p99/max latency of a
 * `/health` probe (the master's event-loop stalls) and p99 of a scheduler call during the
 * launch, and the master's recovery (until /health answers; until every agent and task is back
 * in /master/state).
 *
 * With `--marathon AxI` (e.g. `100x10`) a Marathon process then deploys A apps of I instances
 * (`cmd: serve`, 0.01 cpus, 1 MiB) through its API, one POST /v2/apps each, up to 16 at once,
 * and prints the time until every instance runs, its tasks/s, Marathon's peak RSS and the p99
 * of `GET /v2/apps` polled during the deployment.
 *
 *   deno run -A --unstable-kv tests/bench/scale_wire.ts [--agents 1000] [--tasks 10000]
 *     [--in-flight 16] [--marathon 100x10] [--no-recovery] [--master-cpu-prof DIR]
 *     [--idle-seconds 20 [--idle-only]]
 *
 * The size (10,000 agents, 100,000 tasks) is `--agents 10000 --tasks 100000`.
 */
import { parseArgs } from "node:util";
import {
  decodeRecords,
  type Event,
  EventSchema,
  fromMesosJson,
  type Offer,
} from "../../protocol/mod.ts";
import { untilAborted } from "../../base/mod.ts";
import { taskInfo } from "../../mod.ts";
import { freePort, TenderProcess, waitFor } from "../support/cluster.ts";
import { MarathonProcess } from "../support/marathon_process.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    agents: { type: "string", default: "1000" },
    tasks: { type: "string", default: "10000" },
    "in-flight": { type: "string", default: "16" },
    "no-recovery": { type: "boolean", default: false },
    marathon: { type: "string" },
    "master-cpu-prof": { type: "string" },
    "idle-seconds": { type: "string", default: "0" },
    "idle-only": { type: "boolean", default: false },
  },
}).values;
const AGENTS = Number(args.agents);
const TASKS = Number(args.tasks);
const IN_FLIGHT = Number(args["in-flight"]);
const TIMEOUT_MS = Math.max(300_000, TASKS * 60);

const root = await Deno.makeTempDir({ prefix: "tender-scale-wire-" });
const port = freePort();
const masterUrl = `http://127.0.0.1:${port}`;
// `--master-cpu-prof DIR`: the master runs with `--cpu-prof` (written when it exits, so the
// recovery step, which SIGKILLs it, is skipped and the master gets a SIGTERM at the end).
const profileDir = args["master-cpu-prof"];
const profiled = profileDir
  ? { wrap: ["sh", "-c", `shift; exec "$0" run --cpu-prof --cpu-prof-dir=${profileDir} "$@"`] }
  : {};
const master = new TenderProcess("master", "master/main.ts", [
  "--port",
  String(port),
  "--work-dir",
  `${root}/master`,
  "--dns-port",
  "0",
  "--registry-port",
  "off",
], profiled);
const sim = new TenderProcess("sim", "agent/sim/main.ts", [
  "--master",
  masterUrl,
  "--agents",
  String(AGENTS),
  "--work-dir",
  `${root}/sim`,
]);
const stop = new AbortController();
const marathonShape = args.marathon ? /^(\d+)x(\d+)$/.exec(args.marathon) : undefined;
if (args.marathon && !marathonShape) {
  throw new Error(`--marathon must be AxI, not ${args.marathon}`);
}
const marathonTasks = marathonShape ? Number(marathonShape[1]) * Number(marathonShape[2]) : 0;
const marathon = marathonShape
  ? new MarathonProcess("marathon", ["--master", masterUrl, "--work-dir", `${root}/marathon`])
  : undefined;

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak resident set of a process (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/**
 * The master's counts from `/metrics/snapshot`, a second after the previous look: polling
 * `/master/state` (10,000 agents' JSON) every 50 ms took most of a starved master's CPU.
 */
async function masterCounts(): Promise<{ agents: number; running: number }> {
  await new Promise((r) => setTimeout(r, 1_000));
  const r = await fetch(`${masterUrl}/metrics/snapshot`, { signal: AbortSignal.timeout(30_000) });
  const m: Record<string, number> = await r.json();
  return { agents: m["master/slaves_active"] ?? 0, running: m["master/tasks_running"] ?? 0 };
}

/** At most `limit` calls at once; each call's latency is kept while `recording`. */
class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly latencies: number[] = [];
  recording = true;
  constructor(readonly limit: number) {}

  async run(fn: () => Promise<void>): Promise<void> {
    while (this.#active >= this.limit) await new Promise<void>((r) => this.#waiting.push(r));
    this.#active++;
    const started = performance.now();
    try {
      await fn();
    } finally {
      if (this.recording) this.latencies.push(performance.now() - started);
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  get idle(): boolean {
    return this.#active === 0 && this.#waiting.length === 0;
  }
}

/** The bench's own scheduler: packs tiny tasks into offers and acknowledges every update. */
class BenchScheduler {
  frameworkId = "";
  streamId = "";
  launched = 0;
  updates = 0;
  duplicates = 0;
  readonly #uuids = new Set<string>();
  readonly running = new Set<string>();
  firstRunningAt = 0;
  allRunningAt = 0;
  readonly limiter = new Limiter(IN_FLIGHT);
  #suppressed = false;

  async subscribe(): Promise<void> {
    const res = await fetch(`${masterUrl}/api/v1/scheduler`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        type: "SUBSCRIBE",
        // A failover timeout, so that its tasks outlive its stream (ended before the master's kill).
        subscribe: {
          framework_info: { user: "bench", name: "scale-wire", failover_timeout: 86_400 },
        },
      }),
      signal: stop.signal,
    });
    if (!res.ok || !res.body) throw new Error(`SUBSCRIBE answered ${res.status}`);
    this.streamId = res.headers.get("Mesos-Stream-Id") ?? "";
    const body = res.body;
    void (async () => {
      for await (const record of decodeRecords(untilAborted(body, stop.signal))) {
        this.#onEvent(EventSchema.parse(fromMesosJson(EventSchema, JSON.parse(record))));
      }
    })().catch(() => {});
    await waitFor("SUBSCRIBED", () => this.frameworkId !== "", 30_000);
  }

  /** Updates without uuid (reconciliation, the master's own: TASK_LOST, unreachable...). */
  unreliable = 0;
  /** Refused ACCEPTs (an offer rescinded meanwhile), counted. */
  refused = 0;
  /** Ids of tasks whose ACCEPT was refused: launched again from the next offers. */
  readonly #relaunch: string[] = [];
  #next = 0;

  /** Posts a call; `onRefused` runs when the master does not take it. */
  #call(body: unknown, onRefused?: () => void): Promise<void> {
    return this.limiter.run(async () => {
      const r = await fetch(`${masterUrl}/api/v1/scheduler`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Mesos-Stream-Id": this.streamId },
        body: JSON.stringify(body),
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(60_000)]),
      });
      const text = await r.text();
      if (r.ok) return;
      if (onRefused) onRefused();
      else console.error(`# call answered ${r.status}: ${text.slice(0, 200)}`);
    }).catch((e) => {
      onRefused?.();
      console.error(`# call failed: ${e}`);
    });
  }

  #onEvent(event: Event): void {
    switch (event.type) {
      case "SUBSCRIBED":
        this.frameworkId = event.subscribed.framework_id.value;
        return;
      case "OFFERS":
        for (const offer of event.offers.offers) this.#accept(offer);
        return;
      case "UPDATE": {
        const { status } = event.update;
        this.updates++;
        if (!status.uuid) this.unreliable++;
        if (status.state === "TASK_RUNNING" && !this.running.has(status.task_id.value)) {
          this.running.add(status.task_id.value);
          if (this.running.size === 1) this.firstRunningAt = performance.now();
          if (this.running.size === TASKS) this.allRunningAt = performance.now();
        }
        if (!status.uuid) return;
        if (this.#uuids.has(status.uuid)) this.duplicates++;
        this.#uuids.add(status.uuid);
        void this.#call({
          type: "ACKNOWLEDGE",
          framework_id: { value: this.frameworkId },
          acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
        });
        return;
      }
      default:
        return;
    }
  }

  #accept(offer: Offer): void {
    const framework_id = { value: this.frameworkId };
    const cpus = offer.resources.find((r) => r.name === "cpus")?.scalar?.value ?? 0;
    const fit = Math.min(Math.floor(cpus / 0.01 + 1e-9), TASKS - this.launched);
    if (fit <= 0) {
      void this.#call({
        type: "DECLINE",
        framework_id,
        decline: { offer_ids: [offer.id], filters: { refuse_seconds: 3600 } },
      });
      if (!this.#suppressed && this.launched >= TASKS) {
        this.#suppressed = true;
        void this.#call({ type: "SUPPRESS", framework_id });
      }
      return;
    }
    // Spread: at most ceil(T/N) tasks per offer, so that every agent gets its share.
    const n = Math.min(fit, Math.ceil(TASKS / AGENTS));
    const tasks = [];
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.#relaunch.pop() ?? `t-${this.#next++}`;
      this.launched++;
      ids.push(id);
      tasks.push(taskInfo({
        name: id,
        taskId: id,
        agentId: offer.agent_id.value,
        cpus: 0.01,
        mem: 1,
        command: "serve",
      }));
    }
    void this.#call({
      type: "ACCEPT",
      framework_id,
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: "LAUNCH", launch: { task_infos: tasks } }],
        filters: { refuse_seconds: 0 },
      },
    }, () => {
      this.refused++;
      this.launched -= ids.length;
      this.#relaunch.push(...ids);
      if (this.#suppressed) {
        this.#suppressed = false;
        void this.#call({ type: "REVIVE", framework_id });
      }
    });
  }
}

/** `--idle-only`: the run ends after the idle measure. */
class Idle extends Error {}

const out = (name: string, value: number, unit: string, digits = 2) =>
  console.log(`scale_wire_${name} ${value.toFixed(digits)} ${unit}`);

try {
  master.start();
  await waitFor("the master", async () => (await fetch(`${masterUrl}/health`)).ok, 60_000);
  const simStarted = performance.now();
  sim.start();
  await waitFor(`${AGENTS} agents`, async () => {
    if (master.exited || sim.exited) return true;
    return (await masterCounts()).agents === AGENTS;
  }, TIMEOUT_MS);
  if (master.exited || sim.exited) throw new Error("the master or the sim exited");
  out("agents", AGENTS, "agents", 0);
  out("agents_registered_seconds", (performance.now() - simStarted) / 1000, "s");
  // `--idle-seconds N`: the master's CPU with every agent connected and nothing to launch (their
  // heartbeats, its ticks, the dashboard's summary), per second and per agent heartbeat.
  const idleSeconds = Number(args["idle-seconds"]);
  if (idleSeconds > 0) {
    const pid = master.pid!;
    const idle0 = await cpuMs(pid), t0 = performance.now();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const ms = (await cpuMs(pid)) - idle0, s = (performance.now() - t0) / 1000;
    out("idle_master_cpu_ms_per_second", ms / s, "ms");
    // The sim's agents post a HEARTBEAT once per the master's 15 s heartbeat interval.
    out("idle_master_cpu_ms_per_heartbeat", ms / (s * AGENTS / 15), "ms", 3);
    if (args["idle-only"]) throw new Idle();
  }

  // Probes /health every 100 ms during the launch: the master's event-loop stalls show here.
  const probes: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const t0 = performance.now();
      try {
        await (await fetch(`${masterUrl}/health`, { signal: AbortSignal.timeout(30_000) })).text();
      } catch { /* counted by its latency */ }
      probes.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const masterPid = master.pid!, simPid = sim.pid!;
  const cpu0 = await cpuMs(masterPid), simCpu0 = await cpuMs(simPid);
  const scheduler = new BenchScheduler();
  const started = performance.now();
  await scheduler.subscribe();
  await waitFor(`${TASKS} tasks running`, () => {
    return master.exited !== undefined || scheduler.running.size >= TASKS;
  }, TIMEOUT_MS);
  if (master.exited) throw new Error(`the master exited: ${JSON.stringify(master.exited)}`);
  await waitFor("the acknowledgements", () => scheduler.limiter.idle, 60_000);
  const cpu1 = await cpuMs(masterPid), simCpu1 = await cpuMs(simPid);
  probing = false;
  scheduler.limiter.recording = false;
  await prober;
  const seconds = (scheduler.allRunningAt - started) / 1000;
  out("tasks", TASKS, "tasks", 0);
  out("first_running_seconds", (scheduler.firstRunningAt - started) / 1000, "s");
  out("all_running_seconds", seconds, "s");
  out("tasks_per_second", TASKS / seconds, "tasks/s", 0);
  out("master_cpu_ms_per_task", (cpu1 - cpu0) / TASKS, "ms");
  out("sim_cpu_ms_per_task", (simCpu1 - simCpu0) / TASKS, "ms");
  out("refused_accepts", scheduler.refused, "calls", 0);
  out("updates", scheduler.updates, "updates", 0);
  out("updates_without_uuid", scheduler.unreliable, "updates", 0);
  out("duplicate_updates_percent", (100 * scheduler.duplicates) / scheduler.updates, "%");
  out("health_probe_p99_ms", percentile(probes, 0.99), "ms");
  out("health_probe_max_ms", Math.max(...probes), "ms");
  out("scheduler_call_p99_ms", percentile(scheduler.limiter.latencies, 0.99), "ms");
  out("master_peak_rss_mib", await peakRssMiB(masterPid), "MiB", 0);
  out("sim_peak_rss_mib", await peakRssMiB(simPid), "MiB", 0);

  if (marathon && marathonShape) {
    await marathonPhase(Number(marathonShape[1]), Number(marathonShape[2]));
  }

  if (!args["no-recovery"] && !profileDir) {
    stop.abort();
    await master.kill("SIGKILL");
    const killedAt = performance.now();
    master.start();
    await waitFor("/health after the restart", async () => {
      const r = await fetch(`${masterUrl}/health`, { signal: AbortSignal.timeout(5_000) });
      await r.body?.cancel();
      return r.ok;
    }, TIMEOUT_MS);
    out("recovery_health_seconds", (performance.now() - killedAt) / 1000, "s");
    let seen = "";
    await waitFor("every agent and task back", async () => {
      const { agents, running } = await masterCounts();
      seen = `${agents} agents active, ${running} tasks running`;
      return agents === AGENTS && running === TASKS + marathonTasks;
    }, 120_000).catch((e) => {
      throw new Error(`${e.message} (last seen: ${seen})`);
    });
    out("recovery_all_back_seconds", (performance.now() - killedAt) / 1000, "s");
    out("master_peak_rss_after_recovery_mib", await peakRssMiB(master.pid!), "MiB", 0);
  }
} catch (e) {
  if (!(e instanceof Idle)) {
    // What the processes said last, and how they ended (a master that died says so here).
    for (const p of [master, sim, ...(marathon ? [marathon.process] : [])]) {
      const exited = p.exited ? ` (exited: ${JSON.stringify(p.exited)})` : "";
      console.error(`# ${p.name}${exited}:\n${p.log.join("").split("\n").slice(-15).join("\n")}`);
    }
    throw e;
  }
} finally {
  stop.abort();
  await marathon?.kill("SIGKILL");
  await sim.kill("SIGKILL");
  await master.kill(profileDir ? "SIGTERM" : "SIGKILL");
  await Deno.remove(root, { recursive: true }).catch(() => {});
}

/** Deploys `apps` × `instances` through Marathon's API and prints how it went. */
async function marathonPhase(apps: number, instances: number): Promise<void> {
  const url = await marathon!.start();
  const limiter = new Limiter(IN_FLIGHT);
  const polls: number[] = [];
  let polling = true;
  let runningNow = 0;
  const poller = (async () => {
    while (polling) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${url}/v2/apps`, { signal: AbortSignal.timeout(60_000) });
        const body: { apps: { tasksRunning: number }[] } = await r.json();
        runningNow = body.apps.reduce((n, a) => n + a.tasksRunning, 0);
      } catch { /* counted by its latency */ }
      polls.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const started = performance.now();
  await Promise.all(Array.from({ length: apps }, (_, i) =>
    limiter.run(async () => {
      const r = await fetch(`${url}/v2/apps`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          id: `/bench/app-${i}`,
          cmd: "serve",
          cpus: 0.01,
          mem: 1,
          instances,
        }),
      });
      const text = await r.text();
      if (r.status >= 300) console.error(`# POST app-${i}: ${r.status} ${text.slice(0, 200)}`);
    })));
  const total = apps * instances;
  await waitFor(`${total} Marathon instances running`, () => runningNow >= total, TIMEOUT_MS);
  const seconds = (performance.now() - started) / 1000;
  polling = false;
  await poller;
  out("marathon_instances", total, "tasks", 0);
  out("marathon_all_running_seconds", seconds, "s");
  out("marathon_tasks_per_second", total / seconds, "tasks/s", 0);
  out("marathon_post_p99_ms", percentile(limiter.latencies, 0.99), "ms");
  out("marathon_get_apps_p99_ms", percentile(polls, 0.99), "ms");
  out("marathon_peak_rss_mib", await peakRssMiB(marathon!.process.pid!), "MiB", 0);
}
