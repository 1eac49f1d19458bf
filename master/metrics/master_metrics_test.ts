import assert from "node:assert/strict";
import { FakeClock } from "../../base/mod.ts";
import type { TaskRecord } from "../core/records.ts";
import { MasterInstruments } from "./master_metrics.ts";

function task(id: string, state: TaskRecord["state"], statuses = 1): TaskRecord {
  return {
    frameworkId: "f",
    agentId: "a",
    role: "*",
    info: { name: id, task_id: { value: id }, agent_id: { value: "a" }, resources: [] },
    resources: [],
    state,
    statuses: Array.from({ length: statuses }, () => ({ task_id: { value: id }, state })),
    killRequested: false,
  };
}

const change = (t: TaskRecord | null, id: string) => ({
  kind: "task" as const,
  frameworkId: "f",
  taskId: id,
  value: t,
});

Deno.test("MasterInstruments.observeChanges() times launch to first TASK_RUNNING", () => {
  const clock = new FakeClock();
  const m = new MasterInstruments(clock);
  m.observeChanges([
    change(task("t1", "TASK_STAGING", 0), "t1"),
    change(task("t2", "TASK_STAGING", 0), "t2"),
  ]);
  clock.advance(1500);
  m.observeChanges([change(task("t1", "TASK_STARTING"), "t1")]);
  clock.advance(500);
  m.observeChanges([
    change(task("t1", "TASK_RUNNING"), "t1"),
    change(task("t2", "TASK_FAILED"), "t2"),
  ]);
  clock.advance(500);
  m.observeChanges([
    change(task("t1", "TASK_RUNNING"), "t1"),
    change(task("t2", "TASK_RUNNING"), "t2"),
  ]);
  const [sample] = m.launchToRunning.samples();
  assert.equal(sample!.count, 1);
  assert.equal(sample!.sum, 2);
});

Deno.test("MasterInstruments.observeAllocation() fills the allocation histogram", () => {
  const m = new MasterInstruments(new FakeClock());
  m.observeAllocation(0.002);
  m.observeAllocation(0.2);
  const [sample] = m.allocation.samples();
  assert.equal(sample!.count, 2);
  assert.equal(sample!.cumulative[sample!.bounds.indexOf(0.0025)], 1);
});
