/**
 * The master's books as the HTTP, dashboard and metrics layers see them: read-only. The runtime
 * hands this view out (`MasterRuntime.view`, `read()`); a change goes through a named core
 * operation (`MasterRuntime.operator()`), never through a write here, and the compiler refuses
 * one: maps and sets are `ReadonlyMap`/`ReadonlySet`, lists `readonly`, each record's own fields
 * `readonly`. (Readonly is shallow: a record's nested Mesos messages are the core's to replace,
 * never a reader's to edit.)
 */
import type { Allocator } from "../allocator/allocator.ts";
import type { OfferBook } from "../allocator/offer_book.ts";
import type { Connection, Counters, MasterOptions } from "./context.ts";
import type { InverseOfferAnswer, MaintenanceRecord } from "./machines.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "./records.ts";
import type { QuotaRecord } from "./roles.ts";

/** A removed framework kept in memory with when it went (Mesos' `completed_frameworks`). */
export interface CompletedFramework {
  readonly framework: Readonly<FrameworkRecord>;
  readonly removedTime: number;
}

/** The maintenance books, read-only. */
export interface MaintenanceView {
  readonly record: Readonly<MaintenanceRecord>;
  readonly inverseOffers: ReadonlyMap<
    string,
    {
      readonly frameworkId: string;
      readonly agentId: string;
      readonly machine: string;
      readonly sentAt: number;
      readonly streamId: string;
    }
  >;
  readonly answers: ReadonlyMap<string, ReadonlyMap<string, InverseOfferAnswer>>;
}

/** The master's books, read-only; `MasterContext` is the one implementation. */
export interface MasterView {
  readonly masterId: string;
  /** The cluster the store belongs to (undefined until the store is read). */
  readonly clusterId: string | undefined;
  readonly startTime: number;
  readonly options: Readonly<MasterOptions>;
  readonly agents: ReadonlyMap<string, Readonly<AgentRecord>>;
  readonly frameworks: ReadonlyMap<string, Readonly<FrameworkRecord>>;
  /** Live tasks by `taskKey(frameworkId, taskId)`. */
  readonly tasks: ReadonlyMap<string, Readonly<TaskRecord>>;
  readonly removedFrameworks: ReadonlySet<string>;
  readonly goneAgents: ReadonlySet<string>;
  /** Terminal, acknowledged tasks, newest last (bounded, memory only). */
  readonly completedTasks: readonly Readonly<TaskRecord>[];
  readonly completedFrameworks: readonly CompletedFramework[];
  readonly agentConnections: ReadonlyMap<string, Readonly<Connection>>;
  readonly frameworkConnections: ReadonlyMap<string, Readonly<Connection>>;
  readonly quotas: ReadonlyMap<string, Readonly<QuotaRecord>>;
  /** Weights set by UPDATE_WEIGHTS (they win over `options.weights`). */
  readonly weights: ReadonlyMap<string, number>;
  readonly maintenance: MaintenanceView;
  readonly counters: Readonly<Counters>;
  /** Outstanding offers: queries only. */
  readonly offers: Pick<OfferBook, "get" | "forAgent" | "forFramework" | "all" | "size">;
  /** The allocator's queries (DRF shares, what an agent has). */
  readonly allocator: Pick<
    Allocator,
    "shares" | "available" | "totalOf" | "allocationsOn" | "consumption"
  >;
  now(): number;
  getTask(frameworkId: string, taskId: string): Readonly<TaskRecord> | undefined;
  tasksOfAgent(agentId: string): Readonly<TaskRecord>[];
  tasksOfFramework(frameworkId: string): Readonly<TaskRecord>[];
}
