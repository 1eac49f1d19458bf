import assert from "node:assert/strict";
import { checkTasks } from "./check_tasks.ts";
import { agentStates, app, master, running, snapshot, task } from "./fixtures.ts";

const t1 = task("/a", 1, "agent-1"), t2 = task("/a", 2, "agent-2");
const agreed = () => snapshot([app("/a", [t1, t2])], { agents: agentStates([t1, t2]) });

Deno.test("checkTasks() finds nothing when agents, master and Marathon agree", () => {
  assert.deepEqual(checkTasks(agreed()), []);
});

Deno.test("checkTasks() finds an orphan: a task running that the master and Marathon lost", () => {
  const orphan = task("/a", 3, "agent-3");
  const s = {
    ...agreed(),
    running: [t1, t2, orphan].map((t) => running(t)),
    agents: agentStates([t1, t2, orphan]),
  };
  assert.deepEqual(checkTasks(s).map((v) => [v.check, v.message]), [
    ["orphans", "task a.3 runs on agent-3, unknown to the master, Marathon"],
    ["orphans", "agent-3 holds task a.3 (TASK_RUNNING), the master does not know it"],
  ]);
  // One its agent forgot too, which the master saw go: said, with when it was first seen.
  const forgotten = {
    ...agreed(),
    running: [t1, t2, orphan].map((t) => running(t)),
  };
  forgotten.master!.frameworks[0]!.completed_tasks.push({
    id: orphan.id,
    state: "TASK_GONE",
    slave_id: "S-agent-3",
    framework_id: "fw",
    statuses: [{ state: "TASK_STARTING" }, { state: "TASK_GONE" }],
  });
  assert.deepEqual(
    checkTasks(forgotten, new Map([[orphan.id, Date.UTC(2024, 0, 1)]])).map((v) => v.message),
    [
      "task a.3 runs on agent-3, unknown to its agent, the master, Marathon " +
      "(running since 2024-01-01T00:00:00.000Z or before) " +
      "(the master recorded it finished: TASK_STARTING → TASK_GONE)",
    ],
  );
});

Deno.test("checkTasks() finds a lost update: Marathon and the master believe a dead task runs", () => {
  const s = { ...agreed(), running: [running(t1)], agents: agentStates([t1]) };
  assert.deepEqual(checkTasks(s).map((v) => [v.check, v.message]), [
    [
      "status-updates",
      "the master has task a.2 as TASK_RUNNING on agent-2, which does not hold it",
    ],
  ]);
  const marathonOnly = { ...s, master: master([t1]) };
  assert.deepEqual(checkTasks(marathonOnly).map((v) => v.message), [
    "Marathon has task a.2 as TASK_RUNNING on agent-2; the master does not know it and nothing runs it",
  ]);
});

Deno.test("checkTasks() finds states that differ between agent, master and Marathon", () => {
  const s = {
    ...agreed(),
    master: master([t1, { ...t2, state: "TASK_STAGING" }]),
  };
  assert.deepEqual(checkTasks(s).map((v) => v.message), [
    "the master has task a.2 as TASK_STAGING, its agent agent-2 as TASK_RUNNING",
    "Marathon has task a.2 as TASK_RUNNING, the master as TASK_STAGING",
  ]);
  const noProcess = { ...agreed(), running: [running(t1)] };
  assert.deepEqual(checkTasks(noProcess).map((v) => v.message), [
    "agent-2 holds task a.2 as TASK_RUNNING, but no process runs it",
  ]);
});

Deno.test("checkTasks() says which view it could not read", () => {
  const agents = agentStates([t1, t2]);
  agents.set("agent-4", undefined);
  assert.deepEqual(checkTasks({ ...agreed(), agents }).map((v) => [v.check, v.message]), [
    ["availability", "agent-4 does not answer /state"],
  ]);
  assert.equal(checkTasks({ ...agreed(), master: undefined })[0]!.check, "availability");
});
