/**
 * `tender apps`, `deployments` and `logs --app` against a real Marathon on a real master and
 * agent, the CLI run as a subprocess; the dashboard reads the same apps from Marathon.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { marathonApps, mountDashboard } from "../master/dashboard/mod.ts";
import { OpsCluster } from "./metrics_cluster.ts";
import { freePort, waitFor } from "./support/cluster.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

async function tender(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("tender apps and deployments drive a real Marathon; logs --app reads every replica", async (t) => {
  const stop = new AbortController();
  let marathonUrl = "";
  const cluster = await OpsCluster.start((app, runtime) => {
    mountDashboard(app, runtime, {
      signal: stop.signal,
      apps: () => marathonApps(marathonUrl)(),
    });
  });
  const dir = await Deno.makeTempDir({ prefix: "tender-cli-marathon-" });
  await cluster.startAgent();
  const marathon = await startMarathon({
    master: cluster.master.url,
    port: 0,
    workDir: `${dir}/marathon`,
    tickMs: 200,
  });
  marathonUrl = marathon.url;
  const env = { TENDER_MASTER: cluster.master.url, TENDER_MARATHON: marathon.url, NO_COLOR: "1" };
  try {
    await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 30_000);

    await t.step("no apps yet", async () => {
      const r = await tender(env, "apps");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "No apps. Add one with `tender apps add app.json`.\n");
    });

    await t.step("apps add from YAML --wait shows progress and returns when deployed", async () => {
      await Deno.writeTextFile(
        `${dir}/web.yaml`,
        [
          "id: /web",
          "cmd: echo up $MESOS_TASK_ID; while true; do echo beat; sleep 0.3; done",
          "instances: 2",
          "cpus: 0.1",
          "mem: 16",
          "",
        ].join("\n"),
      );
      const r = await tender(env, "apps", "add", `${dir}/web.yaml`, "--wait");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^App \/web submitted; deployment [0-9a-f-]+ done\.$/m);
      // One line per change of the bar (stderr is no terminal), e.g.
      // "1a2b3c4d [############------------]  50% step 2/2 ScaleApplication /web 0/2 running"
      assert.match(
        r.stderr,
        /^[0-9a-f]{8} \[[#-]{24}\]\s+\d+% step [12]\/2 (Start|Scale)Application \/web [0-2]\/2 running$/m,
      );
      const status = await tender(env, "status");
      assert.match(status.stdout, /^Apps:\s+1 \(1 running, 0 deploying, 0 waiting\)$/m);
      const list = await tender(env, "apps", "list");
      assert.match(list.stdout, /^\/web\s+running\s+2\/2\s+-\s+0\.1\s+16MiB\s+-$/m);
    });

    await t.step("apps show lists the tasks", async () => {
      const r = await tender(env, "apps", "show", "web");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Instances:\s+2 running of 2$/m);
      assert.equal(r.stdout.match(/^web\.\S+\s+127\.0\.0\.1\s+\d+\s+TASK_RUNNING/gm)?.length, 2);
    });

    await t.step("logs --app prefixes each replica's lines with its task id", async () => {
      const r = await waitFor("both replicas' output", async () => {
        const r = await tender(env, "logs", "--app", "/web");
        const ids = new Set([...r.stdout.matchAll(/^(\S+)\s+\| up /gm)].map((m) => m[1]));
        return r.code === 0 && ids.size === 2 && r;
      });
      assert.match(r.stdout, /^web\.\S+\s+\| beat$/m);
    });

    await t.step("the dashboard shows the app from Marathon", async () => {
      const summary = await (await fetch(`${cluster.master.url}/dashboard/api/summary`)).json();
      assert.deepEqual(summary.apps, [{ id: "/web", instances: 2, running: 2, healthy: 2 }]);
    });

    await t.step("apps scale --wait, then restart and deployments watch", async () => {
      const scaled = await tender(env, "apps", "scale", "web", "3", "--wait", "--json");
      assert.equal(scaled.code, 0, scaled.stderr);
      assert.equal(JSON.parse(scaled.stdout).done, true);
      const app = await (await fetch(`${marathon.url}/v2/apps/web`)).json();
      assert.equal(app.app.tasksRunning, 3);
      const restarted = await tender(env, "apps", "restart", "web");
      assert.match(restarted.stdout, /^App \/web restarting; deployment [0-9a-f-]+\.$/m);
      const watched = await tender(env, "deployments", "watch", "--timeout", "60s");
      assert.equal(watched.code, 0, watched.stderr);
      assert.equal(watched.stdout, "All deployments done.\n");
      const none = await tender(env, "deployments", "list");
      assert.equal(none.stdout, "No deployments in progress.\n");
    });

    await t.step("errors from Marathon say what is wrong", async () => {
      await Deno.writeTextFile(
        `${dir}/bad.json`,
        JSON.stringify({ id: "/bad", cmd: "true", cpus: -1 }),
      );
      const bad = await tender(env, "apps", "add", `${dir}/bad.json`);
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /^tender: the marathon refused \/v2\/apps\/bad.* \(422\): Object is not valid: \/cpus /m,
      );
      const missing = await tender(env, "apps", "show", "nope");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /\(404\): App '\/nope' does not exist/);
      const cancel = await tender(env, "deployments", "cancel", "nope");
      assert.equal(cancel.code, 1);
      assert.match(cancel.stderr, /no deployment "nope"/);
      const usage = await tender(env, "apps", "scale", "web", "many");
      assert.equal(usage.code, 2);
      const down = await tender({ NO_COLOR: "1" }, "apps", "--marathon", `127.0.0.1:${freePort()}`);
      assert.equal(down.code, 1);
      assert.match(down.stderr, /cannot reach the marathon at .* TENDER_MARATHON\./);
    });

    await t.step("apps remove --wait stops every instance", async () => {
      const r = await tender(env, "apps", "remove", "/web", "--wait");
      assert.equal(r.code, 0, r.stderr);
      const tasks = await tender(
        env,
        "tasks",
        "list",
        "--framework",
        "marathon",
        "--state",
        "running",
      );
      assert.equal(tasks.stdout, "No tasks.\n");
    });
  } finally {
    await marathon.driver.teardown().catch(() => {});
    await cluster.tasksEnded();
    await marathon.stop();
    stop.abort();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
