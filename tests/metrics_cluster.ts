/**
 * An in-process cluster for the operator tests (metrics, dashboard, CLI): a real master on a
 * free port with extra routes mounted, one real agent with the process containerizer and
 * fixed resources, and a bare Mesos scheduler that launches shell tasks into its offers.
 */
import type { Hono } from "hono";
import { type RunningAgent, startAgent } from "../agent/mod.ts";
import { type MasterService, type RunningMaster, startMaster } from "../master/mod.ts";
import { taskInfo } from "../mod.ts";
import type { Offer } from "../protocol/mod.ts";
import { waitFor } from "./support/cluster.ts";
import { RawScheduler } from "./support/raw_scheduler.ts";

/** The agent's fixed resources. */
export const AGENT_RESOURCES = "cpus:2;mem:512;disk:1024;ports:[31000-31009]";

/** A master, optionally an agent, and a subscribed framework; `stop()` ends all of it. */
export class OpsCluster {
  agent: RunningAgent | undefined;
  framework: RawScheduler | undefined;

  private constructor(readonly dir: string, readonly master: RunningMaster) {}

  /** Starts the master (with `mount`) in a new temp dir. */
  static async start(
    mount?: (app: Hono, runtime: MasterService) => void,
  ): Promise<OpsCluster> {
    const dir = await Deno.makeTempDir({ prefix: "tender-ops-" });
    const master = await startMaster({ port: 0, workDir: `${dir}/master`, mount });
    return new OpsCluster(dir, master);
  }

  /** Starts the agent, registered as `hostname` (default 127.0.0.1, which the master reaches). */
  async startAgent(hostname = "127.0.0.1"): Promise<RunningAgent> {
    this.agent = await startAgent({
      master: this.master.url,
      port: 0,
      hostname,
      workDir: `${this.dir}/agent`,
      resources: AGENT_RESOURCES,
      containerizer: "process",
      log: () => {},
    });
    await waitFor("agent registered", () => this.master.runtime.view.agents.size === 1);
    return this.agent;
  }

  /** Subscribes a framework named `name`; it acknowledges every status update it gets. */
  async subscribe(name = "ops-test"): Promise<RawScheduler> {
    const fw = this.framework = new RawScheduler(this.master.url);
    await fw.subscribe({ name });
    let seen = 0;
    this.#acker = setInterval(() => {
      for (const e of fw.events.slice(seen)) {
        if (e.type !== "UPDATE" || !e.update.status.uuid) continue;
        const { task_id, agent_id, uuid } = e.update.status;
        void fw.call({
          type: "ACKNOWLEDGE",
          framework_id: { value: fw.frameworkId },
          acknowledge: { agent_id, task_id, uuid },
        }).catch(() => {});
      }
      seen = fw.events.length;
    }, 50);
    return fw;
  }

  #acker: ReturnType<typeof setInterval> | undefined;

  /** Launches a shell task into the latest offer and waits for TASK_RUNNING. */
  async launch(taskId: string, command: string, options: { cpus?: number } = {}): Promise<void> {
    const fw = this.framework!;
    const offer = await this.nextOffer();
    const task = taskInfo({
      name: taskId,
      taskId,
      agentId: offer.agent_id.value,
      cpus: options.cpus ?? 0.5,
      mem: 64,
      command,
    });
    const r = await fw.call({
      type: "ACCEPT",
      framework_id: { value: fw.frameworkId },
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: "LAUNCH", launch: { task_infos: [task] } }],
        filters: { refuse_seconds: 0 },
      },
    });
    if (r.status !== 202) throw new Error(`ACCEPT answered ${r.status}: ${r.text}`);
    await waitFor(
      `${taskId} TASK_RUNNING`,
      () =>
        fw.events.some((e) =>
          e.type === "UPDATE" && e.update.status.task_id.value === taskId &&
          e.update.status.state === "TASK_RUNNING"
        ),
    );
    await fw.call({ type: "REVIVE", framework_id: { value: fw.frameworkId }, revive: {} });
  }

  readonly #spent = new Set<string>();

  /** An offer not used before by `launch` or `nextOffer` and not rescinded. */
  async nextOffer(): Promise<Offer> {
    const fw = this.framework!;
    const offer = await waitFor("an offer", () => {
      const rescinded = new Set(
        fw.events.flatMap((e) => e.type === "RESCIND" ? [e.rescind.offer_id.value] : []),
      );
      return fw.offers().filter((o) => !rescinded.has(o.id.value) && !this.#spent.has(o.id.value))
        .at(-1);
    });
    this.#spent.add(offer.id.value);
    return offer;
  }

  /** Waits until the agent runs no task (after a teardown killed them). */
  async tasksEnded(timeoutMs = 15_000): Promise<void> {
    const agent = this.agent?.agent;
    if (!agent) return;
    const live = ["TASK_RUNNING", "TASK_STAGING", "TASK_STARTING", "TASK_KILLING"];
    await waitFor(
      "the agent's tasks to end",
      () => agent.state().tasks.every((t) => !live.includes(t.state)),
      timeoutMs,
    ).catch(() => {});
  }

  /** Tears the framework down (killing its tasks), then stops agent and master. */
  async stop(): Promise<void> {
    const fw = this.framework;
    if (fw?.frameworkId) {
      await fw.call({ type: "TEARDOWN", framework_id: { value: fw.frameworkId } }).catch(() => {});
    }
    await this.tasksEnded();
    clearInterval(this.#acker);
    await fw?.close();
    await this.agent?.stop();
    await this.master.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
