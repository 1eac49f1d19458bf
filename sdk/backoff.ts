/** Exponential backoff with jitter, as a pure function of the attempt number. */

/** Bounds of the backoff: the first delay and the cap. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** The driver's default: 250 ms doubling up to 10 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 };

/**
 * The delay before retry number `attempt` (0-based): `initialMs * 2^attempt` capped at `maxMs`,
 * then "equal jitter" (a uniform draw in its upper half), so that many frameworks cut off by
 * one master failure do not come back in lockstep. `random` returns a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(base / 2 + random() * (base / 2));
}
