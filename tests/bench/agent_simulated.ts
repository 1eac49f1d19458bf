/**
 * One agent with the simulated containerizer against a FakeMaster that acknowledges every
 * update: how fast it takes tasks through STARTING, RUNNING, FINISHED (three persisted,
 * acknowledged updates each) to released records. Prints `metric value unit` lines.
 */
import type { AgentEvent } from "../../protocol/mod.ts";
import { startAgent } from "../../agent/mod.ts";
import { FakeMaster, waitFor } from "../support/fake_master.ts";

const TASKS = Number(Deno.args[0] ?? 1000);
const master = new FakeMaster({ heartbeatIntervalSeconds: 5 });
const workDir = await Deno.makeTempDir({ prefix: "tender-bench-agent-" });
const agent = await startAgent({
  master: master.url,
  port: 0,
  workDir,
  containerizer: "simulated",
  resources: "cpus:1000;mem:1000000",
  log: () => {},
});
try {
  await waitFor(() => agent.agent.connected, { what: "subscription" });
  const started = performance.now();
  for (let i = 0; i < TASKS; i++) {
    const event: AgentEvent = {
      type: "LAUNCH",
      launch: {
        framework_id: { value: "fw-1" },
        framework_info: { user: "b", name: "bench" },
        task: {
          name: "t",
          task_id: { value: `t-${i}` },
          agent_id: { value: "agent-1" },
          resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 0.1 } }],
          command: { value: "exit 0" },
        },
      },
    };
    master.send(event);
  }
  await waitFor(() => agent.agent.tasks().length === 0 && master.updates.length >= TASKS * 3, {
    what: "every task to finish and be released",
    timeoutMs: 300_000,
    pollMs: 10,
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(`agent_simulated_tasks ${TASKS} tasks`);
  console.log(`agent_simulated_tasks_per_second ${(TASKS / seconds).toFixed(0)} tasks/s`);
  console.log(`agent_simulated_updates_per_second ${((TASKS * 3) / seconds).toFixed(0)} updates/s`);
} finally {
  await agent.stop();
  await master.close();
  await Deno.remove(workDir, { recursive: true });
}
