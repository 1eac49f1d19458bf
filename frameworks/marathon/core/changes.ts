/**
 * What the core's operations hand the shell: records to persist (`Change`), driver calls to make
 * once those are durable (`DriverCall`) and events to publish (`MarathonEvent`), gathered in one
 * `Outcome` per operation.
 */
import type { Operation, TaskInfo } from "../../../protocol/mod.ts";
import type { BackoffState } from "../deployment/backoff.ts";
import type { Instance } from "../model/instance.ts";
import type { TaskFailure } from "../model/task_failure.ts";
import type { App } from "../app/normalize.ts";
import type { Pod } from "../pod/schema.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import type { GroupRecord } from "../store/group_record.ts";

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
    /**
     * A new deployment (`expected` null) with the locks of its `affectedApps`, the record moved
     * on (its `currentStep`), or null: ended, its locks released.
     */
    value: DeploymentRecord | null;
    /** The record as the operation saw it: refused (409) when the books hold another. */
    expected: DeploymentRecord | null;
  }
  /** An app written (with its version, versions past the newest 50 pruned) or removed. */
  | { kind: "app"; id: string; value: App | null; expected: App | null }
  /** A pod written (with its version) or removed. */
  | { kind: "pod"; id: string; value: Pod | null; expected: Pod | null }
  | { kind: "group"; id: string; value: GroupRecord | null }
  /** The root group at a deployment's version (root versions past the newest 50 pruned). */
  | {
    kind: "root_version";
    version: string;
    /** Every app's id and version. */
    apps: [string, string][];
    groups: GroupRecord[];
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
  const names = changes.map((c) => {
    switch (c.kind) {
      case "instance":
        return c.instanceId;
      case "deployment":
      case "app":
      case "pod":
      case "group":
        return `${c.kind} ${c.id}`;
      case "root_version":
        return `root version ${c.version}`;
      case "backoff":
        return `backoff of ${c.id}`;
      case "last_failure":
        return `last failure of ${c.appId}`;
      case "framework_id":
        return "framework id";
    }
  });
  return names.length > 3
    ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`
    : names.join(", ");
}
