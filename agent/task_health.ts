/**
 * Runs a task's health check (agent/health/HealthChecker) while it runs, and turns what it finds
 * into the agent's terms: `onChange(healthy, message)` when the verdict changes, `onKill(why)`
 * once the task must be killed.
 */
import type { Clock } from "../protocol/mod.ts";
import type { Containerizer } from "./containerizer/containerizer.ts";
import { HealthChecker } from "./health/health_checker.ts";
import type { TaskRecord } from "./task_record.ts";

/** A running health watch. */
export interface HealthWatch {
  stop(): void;
}

/** What `watchHealth` needs. */
export interface HealthWatchInput {
  containerizer: Containerizer;
  record: TaskRecord;
  /** Where HTTP and TCP checks connect. */
  host: string;
  clock: Clock;
  /** When the task started running (ms): the grace period counts from it, across restarts. */
  startedAt?: number;
  onChange: (healthy: boolean, message: string) => void;
  onKill: (why: string) => void;
}

/**
 * The host port a check's port means: a container port published by a BRIDGE port mapping
 * maps to its host port; any other port is taken as a host port.
 */
export function checkPort(record: TaskRecord, port: number): number {
  const mappings = record.task.container?.docker?.port_mappings ?? [];
  return mappings.find((m) => m.container_port === port && m.host_port > 0)?.host_port ?? port;
}

/** Starts the task's health check, if it has one. */
export function watchHealth(input: HealthWatchInput): HealthWatch | undefined {
  const check = input.record.task.health_check;
  if (!check) return undefined;
  const { containerizer, record } = input;
  const checker = new HealthChecker({
    check,
    host: input.host,
    portFor: (port) => checkPort(record, port),
    exec: (command, timeoutMs) => containerizer.exec(record.container_id, command, timeoutMs),
    clock: input.clock,
    onChange: input.onChange,
    onKill: input.onKill,
  });
  checker.start(input.startedAt);
  return checker;
}
