/**
 * The rest of the Mesos operator API on real processes over real HTTP: GET_ROLES, GET_FLAGS,
 * GET_MASTER, GET_METRICS and their legacy endpoints; the operator SUBSCRIBE event stream
 * following an agent, a framework and its task; MARK_AGENT_GONE surviving a master restart; and
 * the ACLs guarding the new calls.
 */
import assert from "node:assert/strict";
import { taskInfo } from "../mod.ts";
import { decodeRecords } from "../protocol/mod.ts";
import { startMaster } from "../master/mod.ts";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../security/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const AGENT = ["--containerizer", "simulated", "--resources", "cpus:4;mem:2048"];

// deno-lint-ignore no-explicit-any -- Mesos-shaped answers are read loosely by tests
type Json = any;

async function operator(url: string, body: unknown, auth?: string) {
  const r = await fetch(`${url}/api/v1`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(auth ? { Authorization: auth } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, text, json: (): Json => JSON.parse(text) };
}

/** An operator SUBSCRIBE stream: its events as they come, and a way to end it. */
async function subscribe(url: string, auth?: string) {
  const abort = new AbortController();
  const r = await fetch(`${url}/api/v1`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      ...(auth ? { Authorization: auth } : {}),
    },
    body: JSON.stringify({ type: "SUBSCRIBE" }),
    signal: abort.signal,
  });
  assert.equal(r.status, 200, await (r.ok ? Promise.resolve("") : r.text()));
  const events: Json[] = [];
  const reading = (async () => {
    for await (const record of decodeRecords(r.body!)) events.push(JSON.parse(record));
  })().catch(() => {});
  return {
    events,
    /** Waits for an event of `type` matching `match`, and returns it. */
    next: (type: string, match: (e: Json) => boolean = () => true, timeoutMs = 30_000) =>
      waitFor(`a ${type} event`, () => events.find((e) => e.type === type && match(e)), timeoutMs),
    async close() {
      abort.abort();
      await reading;
    },
  };
}

Deno.test("operator API: SUBSCRIBE follows agents, frameworks and tasks; GET_ROLES/FLAGS/MASTER/METRICS answer; MARK_AGENT_GONE is final, also after a master restart", async () => {
  const cluster = await Cluster.start([
    "--allocation-interval",
    "0.2",
    "--heartbeat-interval",
    "1",
  ]);
  const fw = new RecordingFramework(cluster.masterUrl, {
    role: "web",
    failover_timeout: 3600,
    capabilities: [{ type: "PARTITION_AWARE" }],
  });
  const stream = await subscribe(cluster.masterUrl);
  try {
    const subscribed = await stream.next("SUBSCRIBED");
    assert.equal(stream.events[0].type, "SUBSCRIBED", "SUBSCRIBED comes first");
    assert.equal(subscribed.subscribed.heartbeat_interval_seconds, 1);
    assert.deepEqual(subscribed.subscribed.get_state.get_agents.agents, []);
    assert.ok(subscribed.subscribed.get_state.get_tasks);

    await cluster.addAgent(AGENT);
    const added = await stream.next("AGENT_ADDED");
    assert.equal(added.agent_added.agent.agent_info.hostname, "agent-0.test");
    const agentId = added.agent_added.agent.agent_info.id.value;

    await fw.driver.start();
    const fwAdded = await stream.next("FRAMEWORK_ADDED");
    assert.equal(fwAdded.framework_added.framework.framework_info.name, "recording");
    const offer = await fw.takeOffer(agentId);
    await fw.driver.launch([offer.id.value], [
      taskInfo({ name: "t", taskId: "t-1", agentId, cpus: 1, mem: 64, command: "sleep 1000" }),
    ]);
    await fw.waitForState("t-1", "TASK_RUNNING");
    const taskAdded = await stream.next("TASK_ADDED");
    assert.equal(taskAdded.task_added.task.task_id.value, "t-1");
    const running = await stream.next(
      "TASK_UPDATED",
      (e) => e.task_updated.state === "TASK_RUNNING",
    );
    assert.equal(running.task_updated.framework_id.value, fw.driver.frameworkId);
    assert.equal(running.task_updated.status.task_id.value, "t-1");
    assert.ok(
      stream.events.indexOf(taskAdded) < stream.events.indexOf(running),
      "TASK_ADDED before TASK_UPDATED",
    );
    await stream.next("HEARTBEAT");

    // The views.
    const roles = (await operator(cluster.masterUrl, { type: "GET_ROLES" })).json();
    const web = roles.get_roles.roles.find((r: Json) => r.name === "web");
    assert.equal(web.weight, 1);
    assert.deepEqual(web.frameworks, [{ value: fw.driver.frameworkId }]);
    assert.equal(web.allocated.find((r: Json) => r.name === "cpus").scalar.value, 1);
    const legacyRoles = await (await fetch(`${cluster.masterUrl}/roles`)).json();
    assert.deepEqual(legacyRoles.roles.find((r: Json) => r.name === "web").frameworks, [
      fw.driver.frameworkId,
    ]);
    assert.equal(legacyRoles.roles.find((r: Json) => r.name === "web").resources.cpus, 1);

    const flags = (await operator(cluster.masterUrl, { type: "GET_FLAGS" })).json();
    const flag = (name: string) => flags.get_flags.flags.find((f: Json) => f.name === name)?.value;
    assert.equal(flag("allocation_interval"), "0.2secs");
    assert.equal(flag("port"), String(cluster.masterPort));
    const legacyFlags = await (await fetch(`${cluster.masterUrl}/flags`)).json();
    assert.equal(legacyFlags.flags.heartbeat_interval, "1secs");

    const master = (await operator(cluster.masterUrl, { type: "GET_MASTER" })).json();
    assert.equal(master.get_master.master_info.port, cluster.masterPort);
    assert.equal(master.get_master.master_info.address.ip, "127.0.0.1");
    assert.ok(master.get_master.master_info.id);
    assert.ok(master.get_master.start_time > 1e9 && master.get_master.elected_time > 1e9);

    const metrics = (await operator(cluster.masterUrl, {
      type: "GET_METRICS",
      get_metrics: { timeout: { nanoseconds: 5e9 } },
    })).json();
    const metric = (name: string) =>
      metrics.get_metrics.metrics.find((m: Json) => m.name === name)?.value;
    assert.equal(metric("master/tasks_running"), 1);
    assert.equal(metric("master/slaves_active"), 1);
    assert.equal(metric("master/cpus_total"), 4);
    assert.equal(metric("master/cpus_used"), 1);
    const snapshot = await (await fetch(`${cluster.masterUrl}/metrics/snapshot`)).json();
    assert.equal(snapshot["master/tasks_running"], 1);
    assert.equal(snapshot["master/frameworks_active"], 1);
    const negative = await operator(cluster.masterUrl, {
      type: "GET_METRICS",
      get_metrics: { timeout: { nanoseconds: -1 } },
    });
    assert.equal(negative.status, 400);
    assert.match(negative.text, /get_metrics\.timeout/);

    // MARK_AGENT_GONE: the task is gone (the framework is partition-aware), the agent removed.
    const unknown = await operator(cluster.masterUrl, {
      type: "MARK_AGENT_GONE",
      mark_agent_gone: { agent_id: { value: "no-such-agent" } },
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /no-such-agent/);
    const gone = await operator(cluster.masterUrl, {
      type: "MARK_AGENT_GONE",
      mark_agent_gone: { agent_id: { value: agentId } },
    });
    assert.equal(gone.status, 200, gone.text);
    const status = await fw.waitForState("t-1", "TASK_GONE_BY_OPERATOR");
    assert.equal(status.reason, "REASON_AGENT_REMOVED_BY_OPERATOR");
    await stream.next("AGENT_REMOVED", (e) => e.agent_removed.agent_id.value === agentId);
    await stream.next("TASK_UPDATED", (e) => e.task_updated.state === "TASK_GONE_BY_OPERATOR");

    // The agent process itself tries to come back with its id and is refused.
    const agentSubscribe = async () =>
      await fetch(`${cluster.masterUrl}/api/v1/agent`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          type: "SUBSCRIBE",
          subscribe: {
            agent_info: {
              id: { value: agentId },
              hostname: "agent-0.test",
              port: 1,
              resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }],
            },
          },
        }),
        signal: AbortSignal.timeout(10_000),
      });
    const refused = await agentSubscribe();
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /marked gone/);
    await new Promise((r) => setTimeout(r, 1000)); // the agent's own retries meanwhile
    const agents = async () =>
      (await operator(cluster.masterUrl, { type: "GET_AGENTS" })).json().get_agents.agents;
    assert.deepEqual(await agents(), []);

    // TEARDOWN: FRAMEWORK_REMOVED.
    const teardown = await operator(cluster.masterUrl, {
      type: "TEARDOWN",
      teardown: { framework_id: { value: fw.driver.frameworkId } },
    });
    assert.equal(teardown.status, 200, teardown.text);
    const removed = await stream.next("FRAMEWORK_REMOVED");
    assert.equal(removed.framework_removed.framework_info.id.value, fw.driver.frameworkId);

    // Still gone after a master restart.
    await cluster.master.kill("SIGKILL");
    cluster.master.start();
    await cluster.waitForMaster();
    const again = await agentSubscribe();
    assert.equal(again.status, 403);
    assert.match(await again.text(), /marked gone/);
    assert.deepEqual(await agents(), []);
    const after = (await operator(cluster.masterUrl, { type: "GET_METRICS" })).json();
    assert.equal(
      after.get_metrics.metrics.find((m: Json) => m.name === "master/slave_removals").value,
      1,
    );
  } finally {
    await stream.close();
    await fw.driver.stop().catch(() => {});
    await cluster.stop();
  }
});

Deno.test("operator API: the new calls are authorized by Mesos' ACLs (view_flags, view_roles, mark_agents_gone)", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-operator-acls-" });
  const security = new ServerSecurity({
    credentials: parseCredentials(JSON.stringify({
      credentials: [
        { principal: "ops", secret: "ops-secret" },
        { principal: "mallory", secret: "mallory-secret" },
      ],
    })),
    acls: parseAcls(JSON.stringify({
      permissive: false,
      register_agents: [{ principals: { type: "ANY" }, agents: { type: "ANY" } }],
      view_flags: [{ principals: { values: ["ops"] }, flags: { type: "ANY" } }],
      view_roles: [{ principals: { values: ["ops"] }, roles: { type: "ANY" } }],
      mark_agents_gone: [{ principals: { values: ["ops"] }, agents: { type: "ANY" } }],
    })),
  });
  const master = await startMaster({
    port: 0,
    workDir,
    security,
    weights: { web: 2 },
    heartbeatIntervalMs: 1000,
  });
  const ops = basicHeader("ops", "ops-secret");
  const mallory = basicHeader("mallory", "mallory-secret");
  let agentStream: ReadableStream<Uint8Array> | undefined;
  try {
    const agent = await fetch(`${master.url}/api/v1/agent`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: {
            hostname: "127.0.0.1",
            port: 5051,
            resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }],
          },
        },
      }),
    });
    assert.equal(agent.status, 200);
    agentStream = agent.body!;
    const agentId = (await operator(master.url, { type: "GET_AGENTS" }, ops)).json()
      .get_agents.agents[0].agent_info.id.value;

    const flags = await operator(master.url, { type: "GET_FLAGS" }, mallory);
    assert.equal(flags.status, 403);
    assert.match(flags.text, /view_flags/);
    assert.equal(
      (await fetch(`${master.url}/flags`, { headers: { Authorization: mallory } })).status,
      403,
    );
    assert.equal((await operator(master.url, { type: "GET_FLAGS" }, ops)).status, 200);

    // Roles are filtered, as GET_WEIGHTS is.
    const hidden = (await operator(master.url, { type: "GET_ROLES" }, mallory)).json();
    assert.deepEqual(hidden.get_roles.roles, []);
    const shown = (await operator(master.url, { type: "GET_ROLES" }, ops)).json();
    assert.deepEqual(shown.get_roles.roles.map((r: Json) => [r.name, r.weight]), [["web", 2]]);

    const denied = await operator(master.url, {
      type: "MARK_AGENT_GONE",
      mark_agent_gone: { agent_id: { value: agentId } },
    }, mallory);
    assert.equal(denied.status, 403);
    assert.match(denied.text, /mark_agents_gone/);
    assert.equal(
      (await operator(master.url, { type: "GET_AGENTS" }, ops)).json().get_agents.agents.length,
      1,
      "a refused MARK_AGENT_GONE changes nothing",
    );
    const allowed = await operator(master.url, {
      type: "MARK_AGENT_GONE",
      mark_agent_gone: { agent_id: { value: agentId } },
    }, ops);
    assert.equal(allowed.status, 200, allowed.text);
  } finally {
    await agentStream?.cancel().catch(() => {});
    await master.stop();
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("operator SUBSCRIBE: each subscriber sees what its view ACLs allow; a client holds at most 32 streams", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-operator-stream-" });
  const security = new ServerSecurity({
    credentials: parseCredentials(JSON.stringify({
      credentials: [
        { principal: "ops", secret: "ops-secret" },
        { principal: "mallory", secret: "mallory-secret" },
      ],
    })),
    acls: parseAcls(JSON.stringify({
      permissive: false,
      register_frameworks: [{ principals: { type: "ANY" }, roles: { type: "ANY" } }],
      view_frameworks: [{ principals: { values: ["ops"] }, users: { type: "ANY" } }],
      view_tasks: [{ principals: { values: ["ops"] }, users: { type: "ANY" } }],
    })),
  });
  const master = await startMaster({ port: 0, workDir, security, heartbeatIntervalMs: 500 });
  const streams: Awaited<ReturnType<typeof subscribe>>[] = [];
  let scheduler: ReadableStream<Uint8Array> | undefined;
  try {
    const ops = await subscribe(master.url, basicHeader("ops", "ops-secret"));
    const mallory = await subscribe(master.url, basicHeader("mallory", "mallory-secret"));
    streams.push(ops, mallory);
    const framework = await fetch(`${master.url}/api/v1/scheduler`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        type: "SUBSCRIBE",
        subscribe: { framework_info: { user: "web", name: "f" } },
      }),
    });
    assert.equal(framework.status, 200);
    scheduler = framework.body!;
    await ops.next(
      "FRAMEWORK_ADDED",
      (e) => e.framework_added.framework.framework_info.name === "f",
    );
    // Two heartbeats after it on mallory's stream: the event would have come before them.
    const seen = mallory.events.length;
    await waitFor(
      "two heartbeats for mallory",
      () => mallory.events.slice(seen).filter((e) => e.type === "HEARTBEAT").length >= 2,
    );
    assert.equal(mallory.events.some((e) => e.type.startsWith("FRAMEWORK_")), false);
    // The scheduler goes away: its framework is updated (disconnected), not removed.
    await scheduler.cancel();
    scheduler = undefined;
    await ops.next("FRAMEWORK_UPDATED", (e) => e.framework_updated.framework.connected === false);
    assert.equal(ops.events.some((e) => e.type === "FRAMEWORK_REMOVED"), false);

    // The per-client cap on long-lived streams counts operator subscribers.
    for (let i = streams.length; i < 32; i++) streams.push(await subscribe(master.url));
    const over = await fetch(`${master.url}/api/v1`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "SUBSCRIBE" }),
    });
    assert.equal(over.status, 429);
    assert.match(await over.text(), /32 event streams/);
    // A closed stream gives its slot back.
    await streams.pop()!.close();
    await waitFor("a slot to be free", async () => {
      const r = await fetch(`${master.url}/api/v1`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: "SUBSCRIBE" }),
      });
      if (r.status !== 200) return (await r.body?.cancel(), false);
      await r.body?.cancel();
      return true;
    });
  } finally {
    for (const s of streams) await s.close();
    await scheduler?.cancel().catch(() => {});
    await master.stop();
    await Deno.remove(workDir, { recursive: true });
  }
});
