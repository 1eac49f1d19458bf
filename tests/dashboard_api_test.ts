import assert from "node:assert/strict";
import { type DashboardSummary, mountDashboard } from "../master/dashboard/mod.ts";
import { OpsCluster } from "./metrics_cluster.ts";
import { waitFor } from "./support/cluster.ts";
import { type SseEvent, SseParser } from "./support/sse.ts";

/** Reads Server-Sent Events from a response until `until` says stop. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  until: (events: SseEvent[]) => boolean,
): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const parser = new SseParser();
  const reader = body.getReader();
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      events.push(...parser.push(value));
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

Deno.test("dashboard serves its page, a live summary over SSE and task logs through the master", async (t) => {
  const stop = new AbortController();
  const cluster = await OpsCluster.start((app, runtime) => {
    mountDashboard(app, runtime, { signal: stop.signal, intervalMs: 200 });
  });
  const url = cluster.master.url;
  try {
    await cluster.subscribe("dash-fw");
    // A hostname that does not resolve: the log proxy must fall back to the advertised IP.
    await cluster.startAgent("agent-without-dns.invalid");
    await cluster.launch("dash-1", "echo hello from dash-1; echo oops >&2; sleep 60");

    await t.step("the page, script and style sheet, without a build step", async () => {
      for (const path of ["/", "/dashboard/"]) {
        const r = await fetch(`${url}${path}`);
        assert.equal(r.status, 200);
        assert.match(r.headers.get("Content-Type")!, /^text\/html/);
        const html = await r.text();
        for (const landmark of ["<header", "<nav", "<main", "<footer", 'scope="col"', "<caption"]) {
          assert.ok(html.includes(landmark), `page lacks ${landmark}`);
        }
        assert.match(html, /<script type="module" src="\/dashboard\/app.js"><\/script>/);
      }
      const js = await fetch(`${url}/dashboard/app.js`);
      assert.match(js.headers.get("Content-Type")!, /^text\/javascript/);
      assert.match(await js.text(), /new EventSource\("\/dashboard\/events"\)/);
      const css = await fetch(`${url}/dashboard/style.css`);
      assert.match(css.headers.get("Content-Type")!, /^text\/css/);
      await css.body?.cancel();
    });

    await t.step(
      "SSE pushes history, then a summary with agents, frameworks and tasks",
      async () => {
        const r = await fetch(`${url}/dashboard/events`);
        assert.match(r.headers.get("Content-Type")!, /^text\/event-stream/);
        const events = await readEvents(
          r.body!,
          (e) => e.filter((x) => x.event === "summary").length >= 3,
        );
        assert.equal(events[0]!.event, "history");
        const summaries = events.filter((e) => e.event === "summary");
        const last = summaries.at(-1)!.data as DashboardSummary & { point: { cpusTotal: number } };
        assert.equal(last.agents.length, 1);
        assert.equal(last.agents[0]!.hostname, "agent-without-dns.invalid");
        assert.equal(last.agents[0]!.status, "active");
        assert.equal(last.cluster.cpus.total, 2);
        assert.equal(last.cluster.cpus.used, 0.5);
        assert.equal(last.frameworks[0]!.name, "dash-fw");
        assert.ok(last.frameworks[0]!.share > 0);
        const task = last.tasks.find((x) => x.id === "dash-1")!;
        assert.equal(task.state, "TASK_RUNNING");
        assert.equal(last.point.cpusTotal, 2);
        assert.equal(last.apps, null);
      },
    );

    await t.step("the capacity history keeps a sample a tick", async () => {
      const body = await waitFor("history samples", async () => {
        const r = await fetch(`${url}/dashboard/api/summary`);
        const body = await r.json() as { history: { cpusUsed: number }[] };
        return body.history.length >= 3 && body;
      });
      assert.equal(body.history.at(-1)!.cpusUsed, 0.5);
    });

    await t.step("task logs are proxied from the agent, by advertised IP", async () => {
      const agentId = cluster.agent!.agent.state().id!;
      const out = await waitFor("stdout", async () => {
        const r = await fetch(`${url}/dashboard/logs/${agentId}/dash-1?stream=stdout&tail=200`);
        const text = await r.text();
        return r.status === 200 && text.includes("hello from dash-1") && r;
      });
      assert.match(out.headers.get("X-Tender-Agent-Url")!, /^http:\/\/127\.0\.0\.1:/);
      const err = await fetch(`${url}/dashboard/logs/${agentId}/dash-1?stream=stderr`);
      assert.equal((await err.text()).trim(), "oops");
    });

    await t.step("log errors say what is wrong", async () => {
      const agentId = cluster.agent!.agent.state().id!;
      const unknownAgent = await fetch(`${url}/dashboard/logs/nope/dash-1`);
      assert.equal(unknownAgent.status, 404);
      assert.match(await unknownAgent.text(), /Agent "nope" is unknown/);
      const badStream = await fetch(`${url}/dashboard/logs/${agentId}/dash-1?stream=stdin`);
      assert.equal(badStream.status, 400);
      assert.match(await badStream.text(), /"stream"/);
      const unknownTask = await fetch(`${url}/dashboard/logs/${agentId}/no-such-task`);
      assert.equal(unknownTask.status, 404);
      await unknownTask.body?.cancel();
    });

    await t.step(
      "aborting the dashboard's signal ends open event streams (so shutdown is quick)",
      async () => {
        const r = await fetch(`${url}/dashboard/events`);
        const reader = r.body!.getReader();
        await reader.read();
        stop.abort();
        const ended = await waitFor(
          "the stream to end",
          async () => (await reader.read()).done,
          5_000,
        );
        assert.equal(ended, true);
      },
    );
  } finally {
    stop.abort();
    await cluster.stop();
  }
});
