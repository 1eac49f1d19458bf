/**
 * The apps a chaos run deploys: two groups of three long-running apps, each with its own
 * upgrade strategy (how many may run over `instances` during a rolling restart, how many must
 * stay healthy) and unreachable strategy (when a task on a lost host is replaced, and when it is
 * forgotten), plus the short-lived extra apps the driver creates and deletes.
 */

/** The groups the run creates. */
export const GROUPS = ["/chaos", "/chaos/web", "/chaos/work"] as const;

/** Strategies of one app. */
interface Strategies {
  upgrade: { minimumHealthCapacity: number; maximumOverCapacity: number };
  unreachable: { inactiveAfterSeconds: number; expungeAfterSeconds: number };
}

const APPS: Record<string, Strategies> = {
  "/chaos/web/a": {
    // Marathon's rule: no room under these bounds, so one instance over is allowed.
    upgrade: { minimumHealthCapacity: 1, maximumOverCapacity: 0 },
    unreachable: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
  },
  "/chaos/web/b": {
    upgrade: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
    unreachable: { inactiveAfterSeconds: 3, expungeAfterSeconds: 10 },
  },
  "/chaos/web/c": {
    upgrade: { minimumHealthCapacity: 0, maximumOverCapacity: 0 },
    unreachable: { inactiveAfterSeconds: 5, expungeAfterSeconds: 300 },
  },
  "/chaos/work/d": {
    upgrade: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    unreachable: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
  },
  "/chaos/work/e": {
    upgrade: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
    unreachable: { inactiveAfterSeconds: 3, expungeAfterSeconds: 10 },
  },
  "/chaos/work/f": {
    upgrade: { minimumHealthCapacity: 0.75, maximumOverCapacity: 0.25 },
    unreachable: { inactiveAfterSeconds: 5, expungeAfterSeconds: 300 },
  },
};

/** The long-running apps' ids. */
export const APP_IDS: readonly string[] = Object.keys(APPS);

/** Where the driver's extra apps live. */
export const EXTRA_GROUP = "/chaos/extra";

/** An app definition: a sleeping task, small, with no ports, quick to back off and retry. */
export function appSpec(id: string, instances: number, gen: number): Record<string, unknown> {
  const s = APPS[id] ?? {
    upgrade: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
    unreachable: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
  };
  return {
    id,
    cmd: "sleep 100000",
    instances,
    cpus: 0.05,
    mem: 16,
    portDefinitions: [],
    env: { GEN: String(gen) },
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 5,
    upgradeStrategy: s.upgrade,
    unreachableStrategy: s.unreachable,
  };
}

/** The group tree of the run's long-running apps, each with `instances`. */
export function groupSpec(instances: number): Record<string, unknown> {
  const inGroup = (g: string) =>
    APP_IDS.filter((id) => id.startsWith(`${g}/`)).map((id) => appSpec(id, instances, 1));
  return {
    id: "/chaos",
    groups: [
      { id: "/chaos/web", apps: inGroup("/chaos/web") },
      { id: "/chaos/work", apps: inGroup("/chaos/work") },
    ],
  };
}
