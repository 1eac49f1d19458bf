/**
 * Quota, weights and maintenance schedules on a real master with real agents (simulated
 * containerizer) and a framework on the real SDK, over real HTTP.
 */
import assert from "node:assert/strict";
import { type Offer, taskInfo } from "../mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { RecordingFramework } from "./support/recording_framework.ts";

const AGENT = ["--containerizer", "simulated", "--resources", "cpus:4;mem:2048"];

async function operator(
  cluster: Cluster,
  body: unknown,
): Promise<{ status: number; text: string; json: () => unknown }> {
  const r = await fetch(`${cluster.masterUrl}/api/v1`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) };
}

async function getJson(cluster: Cluster, path: string): Promise<unknown> {
  const r = await fetch(`${cluster.masterUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200, path);
  return await r.json();
}

function cpus(offers: Iterable<Offer>): number {
  let total = 0;
  for (const o of offers) {
    for (const r of o.resources) if (r.name === "cpus") total += r.scalar?.value ?? 0;
  }
  return total;
}

Deno.test("UPDATE_QUOTA caps a role's offers at its limit; quota and weights survive a master restart", async () => {
  const cluster = await Cluster.start(["--allocation-interval", "0.2"]);
  const fw = new RecordingFramework(cluster.masterUrl, { role: "web", failover_timeout: 3600 });
  try {
    await cluster.addAgent(AGENT);
    await cluster.addAgent(AGENT);

    // Refused, naming the field, and nothing changes.
    const over = await operator(cluster, {
      type: "UPDATE_QUOTA",
      update_quota: {
        quota_configs: [{ role: "web", guarantees: { cpus: 4 }, limits: { cpus: 2 } }],
      },
    });
    assert.equal(over.status, 400);
    assert.match(over.text, /quota_configs\[0\]\.guarantees\.cpus/);
    const tooBig = await operator(cluster, {
      type: "UPDATE_QUOTA",
      update_quota: { quota_configs: [{ role: "web", guarantees: { cpus: 100 } }] },
    });
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.text, /exceed the cluster's capacity.*force/);
    const badRole = await operator(cluster, {
      type: "UPDATE_QUOTA",
      update_quota: { quota_configs: [{ role: "../x", limits: { cpus: 1 } }] },
    });
    assert.equal(badRole.status, 400);
    assert.match(badRole.text, /quota_configs\[0\]\.role/);
    assert.deepEqual(await getJson(cluster, "/quota"), { infos: [], configs: [] });

    const set = await operator(cluster, {
      type: "UPDATE_QUOTA",
      update_quota: {
        force: false,
        quota_configs: [{
          role: "web",
          guarantees: { cpus: { value: 1 } },
          limits: { cpus: { value: 3 } },
        }],
      },
    });
    assert.equal(set.status, 200, set.text);
    await fw.driver.start();
    await waitFor("offers to web", () => cpus(fw.offers.values()) > 0);
    // Allocation runs every 0.2 s: give several a chance to offer past the limit.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(cpus(fw.offers.values()), 3, "web is offered 3 of the 8 cpus");

    const weights = await operator(cluster, {
      type: "UPDATE_WEIGHTS",
      update_weights: { weight_infos: [{ role: "web", weight: 2.5 }] },
    });
    assert.equal(weights.status, 200, weights.text);
    const badWeight = await operator(cluster, {
      type: "UPDATE_WEIGHTS",
      update_weights: { weight_infos: [{ role: "db", weight: 0 }] },
    });
    assert.equal(badWeight.status, 400);
    assert.match(badWeight.text, /weight_infos\[0\]\.weight/);

    await cluster.master.kill("SIGKILL");
    cluster.master.start();
    await cluster.waitForMaster();
    const quota = (await operator(cluster, { type: "GET_QUOTA" })).json();
    assert.deepEqual(quota, {
      type: "GET_QUOTA",
      get_quota: {
        status: {
          infos: [{
            role: "web",
            guarantee: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }],
          }],
          configs: [{
            role: "web",
            guarantees: { cpus: { value: 1 } },
            limits: { cpus: { value: 3 } },
          }],
        },
      },
    });
    assert.deepEqual((await operator(cluster, { type: "GET_WEIGHTS" })).json(), {
      type: "GET_WEIGHTS",
      get_weights: { weight_infos: [{ role: "web", weight: 2.5 }] },
    });
    assert.deepEqual(await getJson(cluster, "/weights"), [{ role: "web", weight: 2.5 }]);
    // After the restart the limit still holds once the framework and agents are back.
    await waitFor("offers to web again", () => cpus(fw.offers.values()) > 0, 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(cpus(fw.offers.values()), 3);

    // The legacy endpoint removes it.
    const del = await fetch(`${cluster.masterUrl}/quota/web`, { method: "DELETE" });
    assert.equal(del.status, 200, await del.text());
    assert.deepEqual(await getJson(cluster, "/quota"), { infos: [], configs: [] });
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    await cluster.stop();
  }
});

Deno.test("a maintenance window: the SDK framework accepts its inverse offer; START_MAINTENANCE kills and blocks the machine; STOP brings it back", async () => {
  const cluster = await Cluster.start(["--allocation-interval", "0.2"]);
  const fw = new RecordingFramework(cluster.masterUrl, { failover_timeout: 3600 });
  try {
    await cluster.addAgent(AGENT);
    await cluster.addAgent(AGENT);
    await fw.driver.start();
    const state = await cluster.state();
    const agentId = state.slaves.find((s: { hostname: string }) => s.hostname === "agent-0.test")
      .id;
    const offer = await fw.takeOffer(agentId);
    await fw.driver.launch([offer.id.value], [
      taskInfo({ name: "t", taskId: "t-1", agentId, cpus: 1, mem: 64, command: "sleep 1000" }),
    ]);
    await fw.waitForState("t-1", "TASK_RUNNING");

    const start = (Date.now() + 3_600_000) * 1_000_000;
    const machine = { hostname: "agent-0.test" };
    const schedule = {
      windows: [{
        machine_ids: [machine],
        unavailability: { start: { nanoseconds: start }, duration: { nanoseconds: 6e11 } },
      }],
    };
    const update = await operator(cluster, {
      type: "UPDATE_MAINTENANCE_SCHEDULE",
      update_maintenance_schedule: { schedule },
    });
    assert.equal(update.status, 200, update.text);

    // The framework (no inverse-offer hook: the SDK's default) accepts.
    const frameworkId = fw.driver.frameworkId;
    await waitFor("the inverse offer to be accepted", async () => {
      // deno-lint-ignore no-explicit-any -- the Mesos-shaped answer is read loosely
      const status: any = (await operator(cluster, { type: "GET_MAINTENANCE_STATUS" })).json();
      const draining = status.get_maintenance_status.status.draining_machines;
      return draining.length === 1 &&
        draining[0].statuses.some((s: { status: string; framework_id: { value: string } }) =>
          s.status === "ACCEPT" && s.framework_id.value === frameworkId
        );
    });
    // Offers of the machine now say when it goes away.
    const marked = await waitFor(
      "an offer of agent-0 with its unavailability",
      () =>
        [...fw.offers.values()].find((o) =>
          o.agent_id.value === agentId && o.unavailability !== undefined
        ),
    );
    assert.equal(marked.unavailability?.start.nanoseconds, start);
    const legacy = await getJson(cluster, "/maintenance/schedule");
    assert.deepEqual(legacy, schedule);

    // DOWN: its task is killed, it is offered to nobody, it may not register again.
    const down = await operator(cluster, {
      type: "START_MAINTENANCE",
      start_maintenance: { machines: [machine] },
    });
    assert.equal(down.status, 200, down.text);
    await fw.waitForState("t-1", "TASK_KILLED");
    await waitFor(
      "agent-0's offers to go",
      () => ![...fw.offers.values()].some((o) => o.agent_id.value === agentId),
    );
    const agent0 = cluster.agents[0]!;
    await agent0.kill("SIGKILL");
    agent0.start();
    await waitFor(
      "agent-0 to be refused",
      () => agent0.log.some((l) => l.includes("DOWN for maintenance")),
      30_000,
    );
    // Durable: a restarted master still has the machine down.
    await cluster.master.kill("SIGKILL");
    cluster.master.start();
    await cluster.waitForMaster();
    const after = (await operator(cluster, { type: "GET_MAINTENANCE_STATUS" })).json();
    assert.deepEqual(after, {
      type: "GET_MAINTENANCE_STATUS",
      get_maintenance_status: { status: { draining_machines: [], down_machines: [machine] } },
    });
    const again = await waitFor(
      "an offer after the restart",
      () => [...fw.offers.values()][0],
      60_000,
    );
    assert.notEqual(again.agent_id.value, agentId);

    // UP: the agent registers and is offered again, without an unavailability.
    const up = await operator(cluster, {
      type: "STOP_MAINTENANCE",
      stop_maintenance: { machines: [machine] },
    });
    assert.equal(up.status, 200, up.text);
    const back = await waitFor(
      "an offer of agent-0 again",
      () => [...fw.offers.values()].find((o) => o.agent_id.value === agentId),
      60_000,
    );
    assert.equal(back.unavailability, undefined);
    assert.deepEqual(await getJson(cluster, "/maintenance/schedule"), { windows: [] });
  } finally {
    await fw.driver.stop({ teardown: true }).catch(() => {});
    await cluster.stop();
  }
});
