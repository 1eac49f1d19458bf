import assert from "node:assert/strict";
import { groupTasks, parseEnviron, parseStat } from "./ground_truth.ts";

Deno.test("parseEnviron() reads NUL-separated NAME=value pairs, values with '='", () => {
  const env = parseEnviron("PATH=/bin\0MESOS_TASK_ID=web.1\0X=a=b\0\0");
  assert.equal(env.get("MESOS_TASK_ID"), "web.1");
  assert.equal(env.get("X"), "a=b");
  assert.equal(env.size, 3);
});

Deno.test("parseStat() reads the state and process group past a command with spaces", () => {
  assert.deepEqual(parseStat("123 (sleep) S 1 120 120 0 -1"), { state: "S", pgid: 120 });
  assert.deepEqual(parseStat("9 (a (b) c) Z 1 9 9 0"), { state: "Z", pgid: 9 });
  assert.equal(parseStat("garbage"), undefined);
});

Deno.test("groupTasks() groups a task's processes per host and skips processes of no task", () => {
  const env = (task?: string, app?: string) =>
    new Map([
      ...(task ? [["MESOS_TASK_ID", task] as const] : []),
      ...(app ? [["MARATHON_APP_ID", app] as const] : []),
    ]);
  const tasks = groupTasks([
    { host: "agent-1", env: env("a.1", "/a"), pgid: 10 },
    { host: "agent-1", env: env("a.1", "/a"), pgid: 10 },
    { host: "agent-1", env: env(), pgid: 1 },
    { host: "agent-2", env: env("a.1", "/a"), pgid: 20 },
    { host: "agent-2", env: env("raw"), pgid: 30 },
  ]);
  assert.deepEqual(tasks, [
    { taskId: "a.1", appId: "/a", host: "agent-1", pgids: [10] },
    { taskId: "a.1", appId: "/a", host: "agent-2", pgids: [20] },
    { taskId: "raw", host: "agent-2", pgids: [30] },
  ]);
});
