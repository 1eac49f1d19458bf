/**
 * The autoscaler's shell: each pass reads Marathon's apps, samples the metrics their policies
 * need (routers' request counters, agents' CPU statistics), asks the pure `decide()` for each
 * app with a `TENDER_AUTOSCALE_MAX` label, and scales through Marathon's API. Every decision is
 * counted for `/metrics`; scalings, refusals and changes of a hold's reason are kept as events.
 */
import type { Clock, Logger } from "../base/mod.ts";
import { decide, type Decision, freshMemory, type Memory } from "./core/decide.ts";
import { type MetricKind, type Policy, policyOf } from "./core/policy.ts";
import { type AgentCpu, type CpuSample, cpuUtilisation } from "./sources/agent_cpu.ts";
import { type MarathonApps, servingTasks } from "./sources/marathon_apps.ts";
import { requestRate, type RequestSample, type RouterRequests } from "./sources/router_requests.ts";

/** What the autoscaler needs. */
export interface AutoscalerDeps {
  marathon: MarathonApps;
  /** Routers to read request counters from (for `rps` policies). */
  routers?: RouterRequests;
  /** Agents' CPU statistics (for `cpu` policies). */
  cpu?: AgentCpu;
  clock: Clock;
  log: Logger;
}

/** One recorded decision or problem. */
export interface AutoscaleEvent {
  /** Epoch ms. */
  at: number;
  appId: string;
  type: "scale_up" | "scale_down" | "hold" | "scale_refused" | "invalid_policy";
  instances: number;
  to?: number;
  desired?: number;
  metric?: MetricKind;
  value?: number;
  target?: number;
  reason: string;
}

/** What the autoscaler last knew of an app, for `/status` and `/metrics`. */
export interface AppStatus {
  appId: string;
  policy?: Policy;
  invalid?: string;
  instances: number;
  running: number;
  value?: number;
  desired?: number;
  lastDecision?: Decision;
}

const MAX_EVENTS = 500;

/** Scales Marathon apps by their labels. */
export class Autoscaler {
  readonly #deps: AutoscalerDeps;
  readonly #memory = new Map<string, Memory>();
  readonly #lastReason = new Map<string, string>();
  #requests: RequestSample | undefined;
  #cpu: { sample: CpuSample } | undefined;
  /** Recent events, oldest first. */
  readonly events: AutoscaleEvent[] = [];
  /** Decisions made, by app and kind (`up`, `down`, `hold`). */
  readonly decisions = new Map<string, { up: number; down: number; hold: number }>();
  readonly status = new Map<string, AppStatus>();
  passes = 0;
  passFailures = 0;

  constructor(deps: AutoscalerDeps) {
    this.#deps = deps;
  }

  /** One round over every app. Throws when Marathon cannot be read. */
  async pass(): Promise<Decision[]> {
    const now = this.#deps.clock.now();
    const apps = await this.#deps.marathon.list();
    const managed = apps.flatMap((app) => {
      const p = policyOf(app.labels);
      return p === undefined ? [] : [{ app, p }];
    });
    const rates = managed.some((m) => m.p.ok && m.p.policy.metric === "rps")
      ? await this.#sampleRequests(now)
      : undefined;
    const cpu = managed.some((m) => m.p.ok && m.p.policy.metric === "cpu")
      ? await this.#sampleCpu()
      : undefined;
    const out: Decision[] = [];
    const seen = new Set<string>();
    for (const { app, p } of managed) {
      seen.add(app.id);
      const serving = servingTasks(app);
      if (!p.ok) {
        this.status.set(app.id, {
          appId: app.id,
          invalid: p.reason,
          instances: app.instances,
          running: serving.length,
        });
        this.#note({
          at: now,
          appId: app.id,
          type: "invalid_policy",
          instances: app.instances,
          reason: p.reason,
        });
        continue;
      }
      const policy = p.policy;
      const ids = serving.map((t) => t.id);
      const value = policy.metric === "rps"
        ? rates ? rates(ids) / Math.max(1, serving.length) : undefined
        : cpu?.(ids, app.cpus);
      const observed = {
        appId: app.id,
        instances: app.instances,
        running: serving.length,
        deploying: app.deployments.length > 0,
        value,
      };
      const r = decide(policy, observed, this.#memory.get(app.id) ?? freshMemory(), now);
      const decision = r.decision;
      let memory = r.memory;
      const base = {
        at: now,
        appId: app.id,
        instances: app.instances,
        metric: policy.metric,
        target: policy.target,
        ...(value !== undefined ? { value } : {}),
      };
      if (decision.kind === "scale") {
        const done = await this.#deps.marathon.scale(app.id, decision.to).catch((e) => ({
          ok: false as const,
          reason: e instanceof Error ? e.message : String(e),
        }));
        if (done.ok) {
          this.#count(app.id, decision.to > decision.from ? "up" : "down");
          this.#note({
            ...base,
            type: decision.to > decision.from ? "scale_up" : "scale_down",
            to: decision.to,
            reason: decision.reason,
          }, true);
        } else {
          memory = this.#memory.get(app.id) ?? freshMemory(); // not scaled: no cooldown
          this.#note({ ...base, type: "scale_refused", to: decision.to, reason: done.reason });
        }
      } else {
        this.#count(app.id, "hold");
        this.#note({ ...base, type: "hold", desired: decision.desired, reason: decision.reason });
      }
      this.#memory.set(app.id, memory);
      this.status.set(app.id, {
        appId: app.id,
        policy,
        instances: app.instances,
        running: serving.length,
        ...(value !== undefined ? { value } : {}),
        desired: decision.kind === "scale" ? decision.to : decision.desired,
        lastDecision: decision,
      });
      out.push(decision);
    }
    for (const id of [...this.#memory.keys(), ...this.status.keys()]) {
      if (!seen.has(id)) {
        this.#memory.delete(id);
        this.status.delete(id);
        this.#lastReason.delete(id);
      }
    }
    this.passes += 1;
    return out;
  }

  /** Passes every `intervalMs` until `signal` aborts. */
  async run(signal: AbortSignal, intervalMs: number): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.pass();
      } catch (e) {
        this.passFailures += 1;
        this.#deps.log.warn("autoscaler pass failed", { error: e });
      }
      try {
        await this.#deps.clock.sleep(intervalMs, signal);
      } catch {
        return;
      }
    }
  }

  /** Request rates per task set since the last sample, or undefined on the first. */
  async #sampleRequests(now: number): Promise<((ids: string[]) => number) | undefined> {
    const routers = this.#deps.routers;
    if (!routers) return undefined;
    let sample: RequestSample;
    try {
      sample = await routers.sample(now);
    } catch (e) {
      this.#deps.log.warn("cannot read the routers", { error: e });
      this.#requests = undefined;
      return undefined;
    }
    const before = this.#requests;
    this.#requests = sample;
    return before ? (ids) => requestRate(before, sample, ids) : undefined;
  }

  async #sampleCpu(): Promise<((ids: string[], cpus: number) => number | undefined) | undefined> {
    const source = this.#deps.cpu;
    if (!source) return undefined;
    let sample: CpuSample;
    try {
      sample = await source.sample();
    } catch (e) {
      this.#deps.log.warn("cannot read the agents' statistics", { error: e });
      this.#cpu = undefined;
      return undefined;
    }
    const before = this.#cpu?.sample;
    this.#cpu = { sample };
    return before ? (ids, cpus) => cpuUtilisation(before, sample, ids, cpus) : undefined;
  }

  #count(appId: string, kind: "up" | "down" | "hold"): void {
    const c = this.decisions.get(appId) ?? { up: 0, down: 0, hold: 0 };
    c[kind] += 1;
    this.decisions.set(appId, c);
  }

  /** Keeps an event: always when `always`, else when the app's reason changed. */
  #note(event: AutoscaleEvent, always = false): void {
    const key = `${event.type}: ${event.reason.replace(/[\d.]+/g, "#")}`;
    if (!always && this.#lastReason.get(event.appId) === key) return;
    this.#lastReason.set(event.appId, key);
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    const log = event.type === "scale_refused" || event.type === "invalid_policy"
      ? this.#deps.log.warn
      : this.#deps.log.info;
    log(`autoscale ${event.type}`, { ...event });
  }
}
