/**
 * The job examples are valid Metronome jobs, the flaky batch job really succeeds on its third
 * attempt (its command run here, as the agent would), and the autoscaled web app is a valid
 * Marathon app with a valid autoscaling policy.
 */
import assert from "node:assert/strict";
import { policyOf } from "../autoscaler/mod.ts";
import { parseJob } from "../frameworks/jobs/mod.ts";
import { checkApp } from "../frameworks/marathon/mod.ts";

const read = async (path: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../examples/${path}`, import.meta.url)));

Deno.test("examples/jobs are valid jobs: a cron job with a time zone, a retrying batch job", async () => {
  const cron = parseJob(await read("jobs/nightly-report.json"));
  assert.equal(cron.schedules[0]?.timezone, "Europe/Berlin");
  assert.equal(cron.schedules[0]?.concurrencyPolicy, "FORBID");
  const batch = parseJob(await read("jobs/flaky-batch.json"));
  assert.deepEqual(batch.run.restart, { policy: "ON_FAILURE", activeDeadlineSeconds: 120 });
  // Its command fails twice, then succeeds.
  const dir = await Deno.makeTempDir();
  const codes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { code } = await new Deno.Command("/bin/sh", {
      args: ["-c", batch.run.cmd!.replaceAll("/tmp/tender-example-flaky-import", "$MARKER")],
      env: { MARKER: `${dir}/marker` },
      stdout: "null",
    }).output();
    codes.push(code);
  }
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(codes, [1, 1, 0]);
});

Deno.test("examples/apps/autoscaled-web.json is a Marathon app with a valid autoscaling policy", async () => {
  const app = await read("apps/autoscaled-web.json");
  checkApp(app);
  const policy = policyOf(app.labels);
  assert.equal(policy?.ok, true);
  assert.equal(policy?.ok && policy.policy.max, 6);
});
