import assert from "node:assert/strict";
import { terminalStatus, vanishedState } from "./task_record.ts";

Deno.test("terminalStatus() maps exits to FINISHED and FAILED with Mesos' messages", () => {
  assert.deepEqual(
    terminalStatus({ exitCode: 0, reason: "exited", message: "exited with status 0" }),
    {
      state: "TASK_FINISHED",
      message: "Command exited with status 0",
    },
  );
  assert.deepEqual(terminalStatus({ exitCode: 2, reason: "exited", message: "x" }), {
    state: "TASK_FAILED",
    message: "Command exited with status 2",
    reason: "REASON_COMMAND_EXECUTOR_FAILED",
  });
  assert.equal(
    terminalStatus({ exitCode: null, reason: "exited", message: "terminated by SIGSEGV" }).message,
    "Command terminated by SIGSEGV",
  );
});

Deno.test("terminalStatus() names OOM and launch failures by their Mesos reasons", () => {
  assert.equal(
    terminalStatus({ exitCode: 137, reason: "oom", message: "oom" }).reason,
    "REASON_CONTAINER_LIMITATION_MEMORY",
  );
  assert.equal(
    terminalStatus({ exitCode: null, reason: "launch_failed", message: "no image" }).reason,
    "REASON_CONTAINER_LAUNCH_FAILED",
  );
});

Deno.test("terminalStatus() makes any end of a task being killed TASK_KILLED, with the cause", () => {
  const killed = terminalStatus(
    { exitCode: 0, reason: "exited", message: "exited with status 0" },
    {
      message: "Task failed its health check",
      reason: "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
      healthy: false,
    },
  );
  assert.deepEqual(killed, {
    state: "TASK_KILLED",
    message: "Task failed its health check",
    reason: "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
    healthy: false,
  });
  assert.equal(
    terminalStatus({ exitCode: null, reason: "killed", message: "killed by SIGKILL" }, {}).message,
    "Killed: killed by SIGKILL",
  );
});

Deno.test("vanishedState() is TASK_GONE for partition-aware frameworks, TASK_LOST otherwise", () => {
  assert.equal(vanishedState(true), "TASK_GONE");
  assert.equal(vanishedState(false), "TASK_LOST");
});
