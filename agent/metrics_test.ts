import assert from "node:assert/strict";
import { FakeClock, findSample, HttpMetrics, parsePrometheus } from "../base/mod.ts";
import type { TaskStatus } from "../protocol/mod.ts";
import { AgentInstruments, renderAgentMetrics } from "./metrics.ts";

const status = (id: string, state: TaskStatus["state"], healthy?: boolean): TaskStatus => ({
  task_id: { value: id },
  state,
  ...(healthy === undefined ? {} : { healthy }),
});

Deno.test("AgentInstruments times launch to TASK_RUNNING once and counts statuses and verdicts", () => {
  const clock = new FakeClock();
  const i = new AgentInstruments(clock);
  i.launched("a");
  i.launched("b");
  clock.advance(1500);
  i.status(status("a", "TASK_STARTING"));
  i.status(status("a", "TASK_RUNNING"));
  i.status(status("b", "TASK_FAILED")); // ended before running: no observation
  clock.advance(10_000);
  i.status(status("a", "TASK_RUNNING", true)); // a health verdict, not a second start
  i.status(status("a", "TASK_RUNNING", false));
  i.acknowledged();

  const m = parsePrometheus(renderAgentMetrics({
    tasks: [{
      id: "a",
      name: "a",
      framework_id: "f",
      state: "TASK_RUNNING",
      container_id: "c",
      ports: [],
      user: "u",
    }],
    pendingUpdates: 4,
    connected: true,
    instruments: i,
    http: new HttpMetrics(),
  }));
  assert.equal(findSample(m, "tender_agent_containers_launched_total"), 2);
  assert.equal(findSample(m, "tender_agent_task_launch_to_running_seconds_count"), 1);
  assert.equal(findSample(m, "tender_agent_task_launch_to_running_seconds_sum"), 1.5);
  assert.equal(findSample(m, "tender_agent_task_launch_to_running_seconds_bucket", { le: "1" }), 0);
  assert.equal(
    findSample(m, "tender_agent_task_launch_to_running_seconds_bucket", { le: "2.5" }),
    1,
  );
  assert.equal(findSample(m, "tender_agent_status_updates_total", { state: "TASK_RUNNING" }), 3);
  assert.equal(findSample(m, "tender_agent_status_updates_total", { state: "TASK_FAILED" }), 1);
  assert.equal(findSample(m, "tender_agent_health_checks_total", { result: "healthy" }), 1);
  assert.equal(findSample(m, "tender_agent_health_checks_total", { result: "unhealthy" }), 1);
  assert.equal(findSample(m, "tender_agent_status_updates_acknowledged_total"), 1);
  assert.equal(findSample(m, "tender_agent_status_updates_pending"), 4);
  assert.equal(findSample(m, "tender_agent_tasks", { state: "TASK_RUNNING" }), 1);
  assert.equal(findSample(m, "tender_agent_connected"), 1);
});
