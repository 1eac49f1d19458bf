/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core.
 * Loads the page, sees the agent and an app, follows a task to its logs, saves screenshots
 * under test-output/.
 */
import assert from "node:assert/strict";
import axe from "npm:axe-core@^4.14.1";
import { chromium } from "npm:playwright-core@^1.65.1";
import { mountDashboard } from "../master/dashboard/mod.ts";
import { OpsCluster } from "./metrics_cluster.ts";
import { waitFor } from "./support/cluster.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const OUTPUT = new URL("../test-output/", import.meta.url);

Deno.test({
  name: "dashboard in chromium shows agents, frameworks and an app, and follows a task to its logs",
  ignore: !hasChromium, // install with: apt-get install -y chromium
  sanitizeResources: false, // playwright's pipes to the browser outlive a step
  sanitizeOps: false,
  fn: async (t) => {
    const stop = new AbortController();
    const cluster = await OpsCluster.start((app, runtime) => {
      mountDashboard(app, runtime, {
        signal: stop.signal,
        intervalMs: 500,
        // A stand-in for Marathon until it is attached: one app made of the "web" tasks.
        apps: () => {
          const tasks = [...runtime.view.tasks.values()].filter((x) =>
            x.info.name.startsWith("web")
          );
          const running = tasks.filter((x) => x.state === "TASK_RUNNING").length;
          return [{
            id: "/web",
            instances: 2,
            running,
            healthy: running,
            deployment: running < 2 ? { progress: running / 2, step: "scale" } : undefined,
          }];
        },
      });
    });
    const profile = await Deno.makeTempDir({ prefix: "tender-chromium-" });
    await Deno.mkdir(OUTPUT, { recursive: true });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      await cluster.subscribe("browser-fw");
      await cluster.startAgent();
      await cluster.launch(
        "web-1",
        "echo serving web-1; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
      );
      const page = context.pages()[0] ?? await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));

      await t.step("the page loads and goes live", async () => {
        await page.goto(`${cluster.master.url}/`);
        assert.equal(await page.title(), "Tender");
        await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout: 10_000 });
        for (const name of ["Cluster capacity", "Agents", "Frameworks", "Apps", "Tasks"]) {
          await page.getByRole("heading", { name, exact: true, level: 2 }).waitFor();
        }
        await page.getByRole("main").waitFor();
        await page.getByRole("navigation", { name: "Sections" }).waitFor();
      });

      await t.step("it shows the agent, the framework and its share, and the app", async () => {
        const agents = page.locator("#agents table");
        await agents.getByRole("rowheader", { name: /^127\.0\.0\.1:\d+$/ }).waitFor();
        await agents.getByRole("cell", { name: "active", exact: true }).waitFor();
        const fw = page.locator("#frameworks table").getByRole("row", { name: /browser-fw/ });
        await fw.waitFor();
        assert.match(await fw.innerText(), /yes\s+1\s+0\.5\s+64 MiB\s+\d+%/);
        const app = page.locator("#apps table").getByRole("row", { name: /\/web/ });
        await app.waitFor();
        assert.match(await app.innerText(), /\/web\s+2\s+1\s+1 \/ 2\s+50% scale/);
        await page.locator("#chart-cpus svg polygon.used").waitFor();
        await page.screenshot({
          path: new URL("dashboard-overview.png", OUTPUT).pathname,
          fullPage: true,
        });
      });

      await t.step("a task's Logs button opens its output, and follows it", async () => {
        const row = page.locator("#tasks table").getByRole("row", { name: /web-1/ });
        await row.getByRole("cell", { name: "TASK_RUNNING" }).waitFor();
        await page.getByRole("button", { name: "Logs of task web-1" }).click();
        await page.getByRole("heading", { name: "Logs of task web-1" }).waitFor();
        const output = page.getByLabel("Task output");
        await output.filter({ hasText: "serving web-1" }).waitFor({ timeout: 10_000 });
        const lastTick = async () =>
          Number(/tick (\d+)\s*$/.exec(await output.innerText())?.[1] ?? 0);
        const first = await lastTick();
        await waitFor("the log to follow", async () => await lastTick() > first + 3, 10_000);
        await page.screenshot({
          path: new URL("dashboard-logs.png", OUTPUT).pathname,
          fullPage: true,
        });
      });

      await t.step("axe-core finds no WCAG 2 A/AA violations", async () => {
        await page.addScriptTag({ content: axe.source });
        const result = await page.evaluate(
          `axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] })
            .then((r) => ({
              passes: r.passes.length,
              violations: r.violations.map((v) => v.id + " (" + v.impact + "): " + v.help +
                " at " + v.nodes.map((n) => n.target.join(" ")).join(", ")),
            }))`,
        ) as { passes: number; violations: string[] };
        assert.deepEqual(result.violations, []);
        assert.ok(result.passes > 10, `axe ran ${result.passes} passing rules`);
      });

      await t.step("the filter narrows the task table", async () => {
        await page.getByLabel("Filter", { exact: true }).fill("no-such-task");
        await page.locator("#tasks table").getByRole("cell", { name: "No tasks." }).waitFor();
        await page.getByLabel("Filter", { exact: true }).fill("");
      });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      stop.abort();
      await cluster.stop();
    }
  },
});
