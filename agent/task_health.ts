/**
 * Runs a task's health check (agent/health/HealthChecker) while it runs, and turns what it finds
 * into the agent's terms: `onChange(healthy, message)` when the verdict changes, `onKill(why)`
 * once the task must be killed.
 */
import type { Clock } from "../base/mod.ts";
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

/**
 * The container port a check's port means inside a BRIDGE container: a published host port
 * maps back to its container port; any other port is already a container port.
 */
export function containerPort(record: TaskRecord, port: number): number {
  const mappings = record.task.container?.docker?.port_mappings ?? [];
  return mappings.find((m) => m.host_port === port)?.container_port ?? port;
}

/**
 * Starts the task's health check, if it has one. A BRIDGE container is checked at its own
 * address and container port: Docker's proxy accepts TCP connections on a published port
 * even when nothing listens inside, so a check there would always pass.
 */
export function watchHealth(input: HealthWatchInput): HealthWatch | undefined {
  const check = input.record.task.health_check;
  if (!check) return undefined;
  const { containerizer, record } = input;
  const docker = record.task.container?.docker;
  // A Docker user-defined network publishes ports through the same proxy as the bridge.
  const bridge = docker?.network === "BRIDGE" ||
    (docker?.network === "USER" && !!record.task.container?.network_infos?.[0]?.name);
  let checker: HealthChecker | undefined;
  let stopped = false;
  const address = bridge && containerizer.networkAddress
    ? containerizer.networkAddress(record.container_id).catch(() => undefined)
    : Promise.resolve(undefined);
  address.then((ip) => {
    if (stopped) return;
    checker = new HealthChecker({
      check,
      host: ip ?? input.host,
      portFor: (port) => ip ? containerPort(record, port) : checkPort(record, port),
      exec: (command, timeoutMs) => containerizer.exec(record.container_id, command, timeoutMs),
      clock: input.clock,
      onChange: input.onChange,
      onKill: input.onKill,
    });
    checker.start(input.startedAt);
  });
  return {
    stop() {
      stopped = true;
      checker?.stop();
    },
  };
}
