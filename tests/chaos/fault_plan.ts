/**
 * The faults of a chaos run, drawn from the seed before the run starts: what kind, against
 * which role (resolved to a node when the fault is injected: "the leading master" is whoever
 * leads then), for how long, and the pause before it. Pure: the same seed plans the same faults.
 */
import type { Prng } from "./prng.ts";

/** A role a fault aims at; the node is chosen when the fault is injected. */
export type Role =
  | "leading-master"
  | "standby-master"
  | "marathon-leader"
  | "marathon-standby"
  | "agent"
  | "etcd"
  | "router";

/** Roles whose process a fault may SIGKILL (then restarted, as a supervisor would). */
export type KillRole = Exclude<Role, "marathon-standby" | "router">;

/** One fault. `pick` chooses among the nodes of the role (pick modulo their number). */
export type FaultSpec =
  | { kind: "kill"; role: KillRole; pick: number; restartAfterMs: number }
  | { kind: "pause"; role: Role; pick: number; pauseMs: number }
  | { kind: "partition"; hosts: "agent" | "control"; pick: number; holdMs: number }
  | { kind: "task-kill"; pick: number };

/** A fault in the plan, with the quiet time before it. */
export interface PlannedFault {
  /** 1-based. */
  index: number;
  /** Wait this long (after the previous fault's convergence) before injecting. */
  gapMs: number;
  spec: FaultSpec;
}

/** What the plan depends on. */
export interface PlanOptions {
  /** The masters' `--agent-timeout`: partitions last past it, some pauses too. */
  agentTimeoutMs: number;
}

const KINDS = [
  ["kill:leading-master", 2],
  ["kill:standby-master", 1],
  ["kill:marathon-leader", 2],
  ["kill:agent", 2],
  ["kill:etcd", 1.5],
  ["pause", 4],
  ["partition", 2.5],
  ["task-kill", 2],
] as const;

const PAUSED: readonly (readonly [Role, number])[] = [
  ["leading-master", 2],
  ["standby-master", 1],
  ["marathon-leader", 2],
  ["marathon-standby", 0.5],
  ["agent", 2],
  ["etcd", 1.5],
  ["router", 0.5],
];

/** Draws one fault. */
export function drawFault(prng: Prng, options: PlanOptions): FaultSpec {
  const kind = prng.weighted(KINDS);
  const pick = prng.int(0, 1_000_000);
  const timeout = options.agentTimeoutMs;
  const kill = (role: KillRole): FaultSpec => ({
    kind: "kill",
    role,
    pick,
    restartAfterMs: prng.int(500, 3000),
  });
  switch (kind) {
    case "kill:leading-master":
      return kill("leading-master");
    case "kill:standby-master":
      return kill("standby-master");
    case "kill:marathon-leader":
      return kill("marathon-leader");
    case "kill:agent":
      return kill("agent");
    case "kill:etcd":
      return kill("etcd");
    case "pause":
      // Short pauses, and some past the agent timeout and the leases (2 s).
      return {
        kind: "pause",
        role: prng.weighted(PAUSED),
        pick,
        pauseMs: prng.int(1000, 2 * timeout + 2000),
      };
    case "partition":
      return {
        kind: "partition",
        hosts: prng.next() < 0.75 ? "agent" : "control",
        pick,
        holdMs: timeout + prng.int(1000, 12_000),
      };
    case "task-kill":
      return { kind: "task-kill", pick };
  }
}

/** `count` faults, each after a quiet gap of up to 2 s. */
export function planFaults(prng: Prng, count: number, options: PlanOptions): PlannedFault[] {
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    gapMs: prng.int(0, 2000),
    spec: drawFault(prng, options),
  }));
}

/** A fault in words, e.g. `SIGKILL leading-master, restarted after 1.2 s`. */
export function describeFault(spec: FaultSpec): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  switch (spec.kind) {
    case "kill":
      return `SIGKILL ${spec.role}, restarted after ${s(spec.restartAfterMs)}`;
    case "pause":
      return `SIGSTOP ${spec.role} for ${s(spec.pauseMs)}, then SIGCONT`;
    case "partition":
      return `link of ${spec.hosts === "agent" ? "an agent" : "a control"} host down for ${
        s(spec.holdMs)
      }, then up`;
    case "task-kill":
      return "SIGKILL of a task's processes";
  }
}
