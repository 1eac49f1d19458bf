/**
 * Mesos-style task health checks run by the agent (TaskInfo.health_check): HTTP, TCP and
 * COMMAND, with delay, interval, timeout, grace period and consecutive failures.
 */
import type { Clock } from "../../base/mod.ts";
import type { CommandInfo, HealthCheck } from "../../protocol/mod.ts";

/** Mesos' defaults for the HealthCheck timing fields, in seconds. */
export const HEALTH_DEFAULTS = {
  delaySeconds: 15,
  intervalSeconds: 10,
  timeoutSeconds: 20,
  consecutiveFailures: 3,
  gracePeriodSeconds: 10,
} as const;

/** What a `HealthChecker` needs. */
export interface HealthCheckerOptions {
  check: HealthCheck;
  /** Where HTTP and TCP checks connect, e.g. 127.0.0.1. */
  host: string;
  /** The host port to probe for a port named in the check (identity for HOST networking). */
  portFor(port: number): number;
  /** Runs a COMMAND check inside the task's container; resolves with its exit status. */
  exec(command: CommandInfo, timeoutMs: number): Promise<number>;
  clock: Clock;
  /** Called when the task's health changes (first success, first counted failure, recovery). */
  onChange(healthy: boolean, message: string): void;
  /** Called once, past the grace period, after `consecutive_failures` failures in a row. */
  onKill(message: string): void;
}

/** The outcome of one probe. */
export type ProbeResult = { ok: true } | { ok: false; message: string };

/** The checker's view of the task. */
export interface HealthState {
  /** Undefined until the first counted result. */
  healthy?: boolean;
  consecutiveFailures: number;
  /** Whether `onKill` was called. */
  killed: boolean;
}

/** Runs one task's health check on a timer until stopped or until it asks for a kill. */
export class HealthChecker {
  #options: HealthCheckerOptions;
  #timing: {
    delayMs: number;
    intervalMs: number;
    timeoutMs: number;
    consecutive: number;
    graceMs: number;
  };
  #state: HealthState = { consecutiveFailures: 0, killed: false };
  #stop = new AbortController();
  #started = false;
  #startedAt = 0;

  constructor(options: HealthCheckerOptions) {
    this.#options = options;
    const c = options.check;
    this.#timing = {
      delayMs: (c.delay_seconds ?? HEALTH_DEFAULTS.delaySeconds) * 1000,
      intervalMs: (c.interval_seconds ?? HEALTH_DEFAULTS.intervalSeconds) * 1000,
      timeoutMs: (c.timeout_seconds ?? HEALTH_DEFAULTS.timeoutSeconds) * 1000,
      consecutive: c.consecutive_failures ?? HEALTH_DEFAULTS.consecutiveFailures,
      graceMs: (c.grace_period_seconds ?? HEALTH_DEFAULTS.gracePeriodSeconds) * 1000,
    };
  }

  /** The health seen so far. */
  get state(): Readonly<HealthState> {
    return { ...this.#state };
  }

  /**
   * Starts checking. `startedAt` is when the task started (default now): the grace period runs
   * from it, so a checker resumed after an agent restart does not grant a fresh grace period.
   */
  start(startedAt?: number): void {
    if (this.#started) return;
    this.#started = true;
    this.#startedAt = startedAt ?? this.#options.clock.now();
    void this.#loop();
  }

  /** Stops checking; no callback fires afterwards. */
  stop(): void {
    this.#stop.abort();
  }

  async #loop(): Promise<void> {
    const { clock } = this.#options;
    const signal = this.#stop.signal;
    try {
      if (this.#timing.delayMs > 0) await clock.sleep(this.#timing.delayMs, signal);
      while (!signal.aborted) {
        const result = await this.#probe();
        if (signal.aborted) return;
        this.#record(result);
        if (this.#state.killed) return;
        await clock.sleep(this.#timing.intervalMs, signal);
      }
    } catch {
      // Stopped while sleeping.
    }
  }

  /** Applies one probe result: Mesos' grace period, health changes and the kill threshold. */
  #record(result: ProbeResult): void {
    const { clock, onChange, onKill } = this.#options;
    const state = this.#state;
    if (result.ok) {
      state.consecutiveFailures = 0;
      if (state.healthy !== true) {
        state.healthy = true;
        onChange(true, "health check passed");
      }
      return;
    }
    // Before the first success, failures inside the grace period do not count.
    const inGrace = clock.now() - this.#startedAt < this.#timing.graceMs;
    if (state.healthy === undefined && inGrace) return;
    state.consecutiveFailures += 1;
    if (state.healthy !== false) {
      state.healthy = false;
      onChange(false, `health check failed: ${result.message}`);
    }
    const limit = this.#timing.consecutive;
    if (limit > 0 && state.consecutiveFailures >= limit) {
      state.killed = true;
      onKill(
        `Killing task: health check failed ${state.consecutiveFailures} consecutive times ` +
          `(last: ${result.message})`,
      );
    }
  }

  async #probe(): Promise<ProbeResult> {
    const timeout = new AbortController();
    const timer = this.#options.clock.sleep(this.#timing.timeoutMs, timeout.signal)
      .then((): ProbeResult => ({
        ok: false,
        message: `timed out after ${this.#timing.timeoutMs / 1000} s`,
      }))
      .catch((): ProbeResult => ({ ok: false, message: "aborted" }));
    try {
      return await Promise.race([this.#run(timeout.signal), timer]);
    } finally {
      timeout.abort();
    }
  }

  async #run(signal: AbortSignal): Promise<ProbeResult> {
    const { check, host, portFor, exec } = this.#options;
    try {
      switch (check.type ?? inferType(check)) {
        case "HTTP": {
          const http = check.http;
          if (!http) return { ok: false, message: "HTTP check names no http block" };
          return await probeHttp(host, portFor(http.port), http, signal);
        }
        case "TCP": {
          if (!check.tcp) return { ok: false, message: "TCP check names no tcp block" };
          return await probeTcp(host, portFor(check.tcp.port), signal);
        }
        case "COMMAND": {
          if (!check.command) return { ok: false, message: "COMMAND check names no command" };
          const code = await exec(check.command, this.#timing.timeoutMs);
          return code === 0 ? { ok: true } : { ok: false, message: `command exited with ${code}` };
        }
        default:
          return { ok: false, message: `unsupported health check type ${check.type}` };
      }
    } catch (e) {
      return { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  }
}

function inferType(check: HealthCheck): HealthCheck["type"] {
  return check.http ? "HTTP" : check.tcp ? "TCP" : check.command ? "COMMAND" : "UNKNOWN";
}

/** GETs the check's URL; healthy on the listed statuses, else on 2xx/3xx (redirects not followed). */
export async function probeHttp(
  host: string,
  port: number,
  http: NonNullable<HealthCheck["http"]>,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const path = http.path ? (http.path.startsWith("/") ? http.path : `/${http.path}`) : "/";
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const url = `${http.scheme ?? "http"}://${hostPart}:${port}${path}`;
  try {
    const res = await fetch(url, { signal, redirect: "manual" });
    await res.body?.cancel();
    const ok = http.statuses?.length
      ? http.statuses.includes(res.status)
      : res.status >= 200 && res.status < 400;
    return ok ? { ok: true } : { ok: false, message: `GET ${url} answered ${res.status}` };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, message: `GET ${url} failed: ${why}` };
  }
}

/** Opens and closes a TCP connection. */
export async function probeTcp(
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  try {
    const conn = await Deno.connect({ hostname: host, port, signal });
    conn.close();
    return { ok: true };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, message: `TCP connect to ${host}:${port} failed: ${why}` };
  }
}
