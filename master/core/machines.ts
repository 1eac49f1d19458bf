/**
 * Machines under maintenance: the stored schedule and machines DOWN, the books of inverse
 * offers, and which scheduled machine an agent runs on.
 */
import { z } from "zod";
import {
  type MachineId,
  MachineIdSchema,
  type Unavailability,
  UnavailabilitySchema,
} from "../../protocol/mod.ts";
import type { MasterContext } from "./context.ts";

export const MaintenanceWindowSchema = z.object({
  machine_ids: z.array(MachineIdSchema),
  unavailability: UnavailabilitySchema,
});
export const MaintenanceScheduleSchema = z.object({
  windows: z.array(MaintenanceWindowSchema).default([]),
});
export type MaintenanceSchedule = z.infer<typeof MaintenanceScheduleSchema>;

/** What is stored: the schedule and the machines DOWN. */
export const MaintenanceRecordSchema = z.object({
  schedule: MaintenanceScheduleSchema,
  down: z.array(MachineIdSchema).default([]),
});
export type MaintenanceRecord = z.infer<typeof MaintenanceRecordSchema>;

/** A framework's answer to an inverse offer for a machine. */
export interface InverseOfferAnswer {
  status: "ACCEPT" | "DECLINE";
  timestamp: number;
  /** A DECLINE's filter: the framework is asked again from then (ms; Mesos' refuse_seconds). */
  askAgainAt?: number;
}

/** The maintenance books of a master. */
export interface MaintenanceBooks {
  record: MaintenanceRecord;
  /** Outstanding inverse offers by id. */
  readonly inverseOffers: Map<
    string,
    { frameworkId: string; agentId: string; machine: string; sentAt: number; streamId: string }
  >;
  /** machine key -> framework id -> its latest answer. */
  readonly answers: Map<string, Map<string, InverseOfferAnswer>>;
}

/** No schedule, nothing down. */
export function emptyMaintenance(): MaintenanceBooks {
  return {
    record: { schedule: { windows: [] }, down: [] },
    inverseOffers: new Map(),
    answers: new Map(),
  };
}

/** The key of a machine: its lower-cased hostname and its IP (Mesos lower-cases hostnames). */
export function machineKey(machine: MachineId): string {
  return `${(machine.hostname ?? "").toLowerCase()}/${machine.ip ?? ""}`;
}

/** The scheduled machine an agent runs on, with its window's unavailability and mode. */
export function machineOfAgent(
  ctx: MasterContext,
  agent: { info: { hostname: string }; ip?: string },
): { machine: MachineId; unavailability: Unavailability; down: boolean } | undefined {
  const { windows } = ctx.maintenance.record.schedule;
  if (windows.length === 0) return undefined;
  for (const window of windows) {
    for (const machine of window.machine_ids) {
      if (!matches(machine, agent)) continue;
      const key = machineKey(machine);
      const down = ctx.maintenance.record.down.some((m) => machineKey(m) === key);
      return { machine, unavailability: window.unavailability, down };
    }
  }
  return undefined;
}

/** Whether an agent runs on the machine (hostname and ip, as far as the machine names them). */
export function matches(machine: MachineId, agent: { info: { hostname: string }; ip?: string }) {
  if (
    machine.hostname !== undefined &&
    machine.hostname.toLowerCase() !== agent.info.hostname.toLowerCase()
  ) return false;
  return machine.ip === undefined || machine.ip === agent.ip;
}
