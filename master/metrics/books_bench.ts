/** What a `/metrics` scrape and a dashboard tick cost on a big cluster's books. */
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { Master } from "../core/master.ts";
import type { AgentRecord, FrameworkRecord, TaskRecord } from "../core/records.ts";
import { dashboardSummary } from "../dashboard/summary.ts";
import { renderMasterMetrics } from "./master_metrics.ts";

function bigMaster(agents: number, tasksPerAgent: number): Master {
  const master = new Master(
    { clock: new FakeClock(), ids: new SequentialIds() },
    DEFAULT_MASTER_OPTIONS,
  );
  const agentRecords: AgentRecord[] = Array.from({ length: agents }, (_, i) => ({
    id: `a${i}`,
    info: {
      hostname: `node-${i}`,
      port: 5051,
      resources: Resources.parse("cpus:16;mem:65536;disk:100000;ports:[31000-32000]").toMesos(),
      attributes: [],
    },
    registeredTime: 0,
    deactivated: false,
  }));
  const frameworks: FrameworkRecord[] = Array.from({ length: 10 }, (_, i) => ({
    id: `f${i}`,
    info: { user: "u", name: `fw-${i}` },
    roles: ["*"],
    registeredTime: 0,
    suppressedRoles: [],
  }));
  const tasks: TaskRecord[] = [];
  for (let a = 0; a < agents; a++) {
    for (let t = 0; t < tasksPerAgent; t++) {
      const id = `t-${a}-${t}`;
      tasks.push({
        frameworkId: `f${(a + t) % 10}`,
        agentId: `a${a}`,
        role: "*",
        info: { name: id, task_id: { value: id }, agent_id: { value: `a${a}` }, resources: [] },
        resources: Resources.parse("cpus:0.5;mem:256").toMesos("*"),
        state: "TASK_RUNNING",
        statuses: [],
        killRequested: false,
      });
    }
  }
  master.recover({ agents: agentRecords, frameworks, tasks, removedFrameworks: [] });
  return master;
}

const master = bigMaster(1000, 10);

Deno.bench("renderMasterMetrics() over 1,000 agents and 10,000 tasks", () => {
  renderMasterMetrics(master.ctx);
});

Deno.bench("dashboardSummary() over 1,000 agents and 10,000 tasks", () => {
  dashboardSummary(master.ctx);
});
