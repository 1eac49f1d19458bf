/**
 * Launch backoff (Marathon's RateLimiter): after the n-th failure of an app's config version
 * the next launch waits `min(backoffSeconds × backoffFactor^(n−1), maxLaunchDelaySeconds)`.
 * The delay resets on a new config version, on demand (`DELETE /v2/queue/{id}/delay`, i.e.
 * dropping the state), after a healthy run, or after `maxLaunchDelaySeconds` without failure
 * once the delay ran out. Pure: time is passed in.
 */
import type { RunSpec } from "./run_spec.ts";

/** The backoff settings of an app or a pod. */
type Settings = Pick<RunSpec, "backoffSeconds" | "backoffFactor" | "maxLaunchDelaySeconds">;

/** The backoff of one app config version. */
export interface BackoffState {
  configVersion: string;
  failures: number;
  delayMs: number;
  lastFailureAt: number;
}

/** Options for `Backoff`. */
export interface BackoffOptions {
  /** How long an instance must stay running (and healthy) to reset the delay. Default 60 s. */
  healthyRunMs?: number;
}

/** Backoff bookkeeping per app; immutable states, so it can be stored and replayed. */
export class Backoff {
  readonly #healthyRunMs: number;

  constructor(options: BackoffOptions = {}) {
    this.#healthyRunMs = options.healthyRunMs ?? 60_000;
  }

  /** The state after a backoff-worthy failure at `now`. */
  failed(
    app: Settings,
    configVersion: string,
    state: BackoffState | undefined,
    now: number,
  ): BackoffState {
    const maxMs = app.maxLaunchDelaySeconds * 1000;
    const live = this.current(app, configVersion, state, now);
    const delayMs = live === undefined
      ? Math.min(app.backoffSeconds * 1000, maxMs)
      : Math.min(live.delayMs * app.backoffFactor, maxMs);
    return { configVersion, failures: (live?.failures ?? 0) + 1, delayMs, lastFailureAt: now };
  }

  /**
   * The state still in force at `now`: undefined for another config version, or once a quiet
   * period of `maxLaunchDelaySeconds` has passed since the delay ran out.
   */
  current(
    app: Settings,
    configVersion: string,
    state: BackoffState | undefined,
    now: number,
  ): BackoffState | undefined {
    if (!state || state.configVersion !== configVersion) return undefined;
    const quietSince = state.lastFailureAt + state.delayMs;
    return now - quietSince >= app.maxLaunchDelaySeconds * 1000 ? undefined : state;
  }

  /** When the next launch may happen (ms since epoch); `now` or earlier when not backed off. */
  launchAllowedAt(
    app: Settings,
    configVersion: string,
    state: BackoffState | undefined,
    now: number,
  ): number {
    const live = this.current(app, configVersion, state, now);
    return live ? live.lastFailureAt + live.delayMs : now;
  }

  /** The state after an instance has run since `runningSince`: reset once the run was long enough. */
  ran(
    state: BackoffState | undefined,
    runningSince: number,
    now: number,
  ): BackoffState | undefined {
    if (!state) return undefined;
    return now - runningSince >= this.#healthyRunMs && runningSince >= state.lastFailureAt
      ? undefined
      : state;
  }
}
