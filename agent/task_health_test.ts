import assert from "node:assert/strict";
import type { TaskRecord } from "./task_record.ts";
import { checkPort } from "./task_health.ts";

Deno.test("checkPort() maps a published container port to its host port", () => {
  const record: TaskRecord = {
    framework_id: { value: "fw" },
    framework_info: { user: "u", name: "n" },
    container_id: "c",
    status: { task_id: { value: "t" }, state: "TASK_RUNNING" },
    task: {
      name: "t",
      task_id: { value: "t" },
      agent_id: { value: "a" },
      resources: [],
      container: {
        type: "DOCKER",
        docker: {
          image: "i",
          network: "BRIDGE",
          port_mappings: [{ container_port: 80, host_port: 31001 }],
        },
      },
    },
  };
  assert.equal(checkPort(record, 80), 31001);
  assert.equal(checkPort(record, 31500), 31500);
});
