/**
 * An app's autoscaling policy, read from its Marathon labels (`TENDER_AUTOSCALE_*`). A label with
 * a bad value makes the policy invalid, with a reason naming the label: the app is then left
 * alone, never scaled on a guess.
 */

/** What is measured against the target. */
export type MetricKind = "cpu" | "rps";

/** How one app is scaled. Durations in milliseconds. */
export interface Policy {
  min: number;
  max: number;
  metric: MetricKind;
  /** cpu: utilisation of the instance's cpus (0.6 = 60 %); rps: requests per second per instance. */
  target: number;
  /** Instances added at most per decision. */
  upStep: number;
  /** Instances removed at most per decision. */
  downStep: number;
  /** After a scale-up, no other scale-up for this long. */
  upCooldownMs: number;
  /**
   * After any scaling, no scale-down for this long; and a scale-down goes no lower than the
   * highest recommendation of this last window (Kubernetes' stabilization window).
   */
  downCooldownMs: number;
  /** No change while the metric is within this fraction of the target (0.1 = ±10 %). */
  tolerance: number;
}

/** The labels, and their defaults where one makes sense. */
export const LABELS = {
  min: "TENDER_AUTOSCALE_MIN",
  max: "TENDER_AUTOSCALE_MAX",
  metric: "TENDER_AUTOSCALE_METRIC",
  target: "TENDER_AUTOSCALE_TARGET",
  upStep: "TENDER_AUTOSCALE_UP_STEP",
  downStep: "TENDER_AUTOSCALE_DOWN_STEP",
  upCooldown: "TENDER_AUTOSCALE_UP_COOLDOWN",
  downCooldown: "TENDER_AUTOSCALE_DOWN_COOLDOWN",
  tolerance: "TENDER_AUTOSCALE_TOLERANCE",
} as const;

/** Defaults of the optional labels (cooldowns in seconds). */
export const DEFAULTS = {
  min: 1,
  upStep: 4,
  downStep: 1,
  upCooldownSeconds: 30,
  downCooldownSeconds: 120,
  tolerance: 0.1,
} as const;

/**
 * The policy an app's labels ask for: none when the app has no `TENDER_AUTOSCALE_MAX` (the label
 * that turns autoscaling on), else the policy or why its labels are invalid.
 */
export function policyOf(
  labels: Readonly<Record<string, string>>,
): { ok: true; policy: Policy } | { ok: false; reason: string } | undefined {
  if (labels[LABELS.max] === undefined) return undefined;
  const problems: string[] = [];
  const number = (
    name: string,
    fallback: number | undefined,
    check: (n: number) => boolean,
    rule: string,
  ): number => {
    const text = labels[name];
    if (text === undefined) {
      if (fallback === undefined) problems.push(`${name} is required`);
      return fallback ?? 0;
    }
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(n) || !check(n)) {
      problems.push(`${name} must be ${rule}, got "${text}"`);
      return fallback ?? 0;
    }
    return n;
  };
  const count = (n: number) => Number.isInteger(n) && n >= 0;
  const min = number(LABELS.min, DEFAULTS.min, count, "a whole number >= 0");
  const max = number(LABELS.max, undefined, (n) => count(n) && n >= 1, "a whole number >= 1");
  if (problems.length === 0 && min > max) {
    problems.push(`${LABELS.min} (${min}) must not exceed ${LABELS.max} (${max})`);
  }
  const metricText = labels[LABELS.metric] ?? "rps";
  if (metricText !== "cpu" && metricText !== "rps") {
    problems.push(`${LABELS.metric} must be cpu or rps, got "${metricText}"`);
  }
  const metric: MetricKind = metricText === "cpu" ? "cpu" : "rps";
  const target = number(
    LABELS.target,
    undefined,
    (n) => n > 0 && (metric !== "cpu" || n <= 1),
    metric === "cpu" ? "a utilisation in (0, 1]" : "a number of requests per second > 0",
  );
  const step = (n: number) => Number.isInteger(n) && n >= 1;
  const upStep = number(LABELS.upStep, DEFAULTS.upStep, step, "a whole number >= 1");
  const downStep = number(LABELS.downStep, DEFAULTS.downStep, step, "a whole number >= 1");
  const seconds = (n: number) => n >= 0;
  const upCooldown = number(LABELS.upCooldown, DEFAULTS.upCooldownSeconds, seconds, "seconds >= 0");
  const downCooldown = number(
    LABELS.downCooldown,
    DEFAULTS.downCooldownSeconds,
    seconds,
    "seconds >= 0",
  );
  const tolerance = number(
    LABELS.tolerance,
    DEFAULTS.tolerance,
    (n) => n >= 0 && n < 1,
    "a fraction in [0, 1)",
  );
  if (problems.length > 0) return { ok: false, reason: problems.join("; ") };
  return {
    ok: true,
    policy: {
      min,
      max,
      metric,
      target,
      upStep,
      downStep,
      upCooldownMs: upCooldown * 1000,
      downCooldownMs: downCooldown * 1000,
      tolerance,
    },
  };
}
