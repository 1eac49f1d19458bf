import assert from "node:assert/strict";
import type { Offer } from "../../../protocol/mod.ts";
import { parseJob } from "../model/job.ts";
import { runTaskInfo } from "./placement.ts";

const OFFER: Offer = {
  id: { value: "o1" },
  framework_id: { value: "fw" },
  agent_id: { value: "agent-1" },
  hostname: "h",
  resources: [],
  attributes: [],
  executor_ids: [],
};

Deno.test("runTaskInfo() gives a run's artifacts to the agent's fetcher and its docker parameters to Docker", () => {
  const job = parseJob({
    id: "nightly",
    run: {
      cmd: "./report.sh",
      cpus: 0.1,
      mem: 32,
      disk: 0,
      artifacts: [{ uri: "https://example.com/report.sh", executable: true }],
      docker: { image: "busybox", parameters: [{ key: "env", value: "MODE=nightly" }] },
    },
  });
  const info = runTaskInfo(job.run, {
    taskId: "t1",
    name: "nightly",
    offer: OFFER,
    labels: {},
    env: {},
  });
  assert.deepEqual(info.command?.uris, [{
    value: "https://example.com/report.sh",
    executable: true,
    extract: true,
    cache: false,
  }]);
  assert.deepEqual(info.container?.docker?.parameters, [{ key: "env", value: "MODE=nightly" }]);
});

Deno.test("parseJob() refuses a docker parameter the agents do not map, naming it", () => {
  assert.throws(
    () =>
      parseJob({
        id: "nightly",
        run: {
          cmd: "true",
          cpus: 0.1,
          mem: 32,
          disk: 0,
          docker: { image: "busybox", parameters: [{ key: "oom-kill-disable", value: "true" }] },
        },
      }),
    (e: unknown) => {
      const details = (e as { details?: { path: string; errors: string[] }[] }).details ?? [];
      assert.equal(details[0]?.path, "/run/docker/parameters(0)/key");
      assert.match(details[0]?.errors[0] ?? "", /not a docker parameter Tender supports/);
      return true;
    },
  );
});
