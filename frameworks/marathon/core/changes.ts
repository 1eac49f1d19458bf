/**
 * What the core's operations hand the shell: records to persist (`Change`), driver calls to make
 * once those are durable (`DriverCall`) and events to publish (`MarathonEvent`), gathered in one
 * `Outcome` per operation.
 */
import type { Operation, TaskInfo } from "../../../protocol/mod.ts";
import type { BackoffState } from "../deployment/backoff.ts";
import type { Instance } from "../model/instance.ts";
import type { TaskFailure } from "../model/task_failure.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";

/** A record to write (or, with null, delete) in the store. */
export type Change =
  | {
    kind: "instance";
    appId: string;
    instanceId: string;
    value: Instance | null;
    /**
     * The instance as the operation saw it (null: none). The write is refused (409) when the
     * books hold another by then: the shell runs the operation again on the newer books.
     */
    expected: Instance | null;
  }
  | {
    kind: "deployment";
    id: string;
    /** The record moved on (its `currentStep`), or null: ended, its locks released. */
    value: DeploymentRecord | null;
    /** The record as the operation saw it: refused (409) when the books hold another. */
    expected: DeploymentRecord;
  }
  | { kind: "backoff"; id: string; value: BackoffState | null }
  | { kind: "last_failure"; appId: string; value: TaskFailure }
  | { kind: "framework_id"; value: string };

/** An instance a launch recorded, and what the books held before (null: it is new). */
export interface Launched {
  value: Instance;
  before: Instance | null;
}

/**
 * A call to the scheduler driver, made after the operation's changes are persisted. A launch or
 * accept that records instances names them (`launched`): when the driver refuses it, the shell
 * hands them back to the core (`launchFailed`); any other failed accept is only logged.
 */
export type DriverCall =
  | {
    type: "launch";
    offerId: string;
    tasks: TaskInfo[];
    refuseSeconds: number;
    launched: Launched[];
  }
  | {
    type: "accept";
    offerId: string;
    operations: Operation[];
    refuseSeconds: number;
    launched?: Launched[];
  }
  | { type: "decline"; offerIds: string[]; refuseSeconds: number }
  | { type: "kill"; taskId: string; agentId?: string; graceMs?: number }
  | { type: "reconcile"; tasks: { taskId: string; agentId?: string }[] }
  /** `at`: not before then (a backoff running out); else now. */
  | { type: "revive"; at?: number };

/** An event for `/v2/events` (Marathon's `eventType` and its fields). */
export interface MarathonEvent {
  type: string;
  data: Record<string, unknown>;
}

/** What one operation asks of the shell, in order: persist, then call the driver, then publish. */
export interface Outcome {
  changes: Change[];
  driver: DriverCall[];
  events: MarathonEvent[];
}

/** An empty outcome to append to. */
export function outcome(): Outcome {
  return { changes: [], driver: [], events: [] };
}

/** Names what a batch of changes writes, for error messages. */
export function describeChanges(changes: readonly Change[]): string {
  const names = changes.map((c) =>
    c.kind === "instance"
      ? c.instanceId
      : c.kind === "deployment"
      ? `deployment ${c.id}`
      : c.kind === "backoff"
      ? `backoff of ${c.id}`
      : c.kind === "last_failure"
      ? `last failure of ${c.appId}`
      : "framework id"
  );
  return names.length > 3
    ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`
    : names.join(", ");
}
