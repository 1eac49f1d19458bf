import assert from "node:assert/strict";
import { Cluster, freePort, waitFor } from "./support/cluster.ts";
import { call } from "./support/marathon_api.ts";
import { JobsProcess } from "./support/jobs_process.ts";
import { MarathonProcess } from "./support/marathon_process.ts";

Deno.test("deno task master --marathon-url --jobs-url: the dashboard of a standalone master shows Marathon's apps and the jobs", async () => {
  const marathonPort = freePort();
  const jobsPort = freePort();
  const cluster = await Cluster.start([
    "--marathon-url",
    `http://127.0.0.1:${marathonPort}/`,
    "--jobs-url",
    `http://127.0.0.1:${jobsPort}`,
  ]);
  const marathon = new MarathonProcess("marathon", [
    "--master",
    cluster.masterUrl,
    "--work-dir",
    `${cluster.root}/marathon`,
  ], { port: marathonPort });
  const jobs = new JobsProcess("jobs", [
    "--master",
    cluster.masterUrl,
    "--work-dir",
    `${cluster.root}/jobs`,
  ], { port: jobsPort });
  try {
    await marathon.start();
    await jobs.start();
    const job = await call(`${jobs.url}/v1/jobs`, "POST", {
      id: "nightly",
      run: { cmd: "true", cpus: 0.1, mem: 32, disk: 0 },
    });
    assert.equal(job.status, 201, JSON.stringify(job.json));
    const created = await call(`${marathon.url}/v2/apps`, "POST", {
      id: "/shop/web",
      cmd: "sleep 1000",
      cpus: 0.1,
      mem: 16,
      instances: 1,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const apps = await waitFor("the dashboard to list the app", async () => {
      const r = await fetch(`${cluster.masterUrl}/dashboard/api/summary`);
      const summary = await r.json();
      return summary.apps?.some((a: { id: string }) => a.id === "/shop/web") &&
        summary.jobs?.some((j: { id: string }) => j.id === "nightly") && summary.apps;
    }, 30_000);
    assert.equal(apps.find((a: { id: string }) => a.id === "/shop/web").instances, 1);
  } finally {
    await jobs.kill("SIGKILL");
    await marathon.kill("SIGKILL");
    await cluster.stop();
  }
});

Deno.test("deno task master refuses a --marathon-url that is not an http(s) URL, naming the flag", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "master/main.ts", "--marathon-url", "marathon:8080"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--marathon-url must be an http\(s\) URL/);
});
