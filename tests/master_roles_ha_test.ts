/**
 * Quota, weights and the maintenance schedule on masters sharing a real etcd: what the leader
 * was told survives its SIGKILL, read back from the new leader; a standby sends the calls on.
 */
import assert from "node:assert/strict";
import { waitFor } from "./support/cluster.ts";
import { hasEtcd } from "./support/etcd_cluster.ts";
import { HaCluster } from "./support/ha_cluster.ts";

async function operator(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}/api/v1`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, text: await r.text() };
}

const SCHEDULE = {
  windows: [{
    machine_ids: [{ hostname: "rack1-node7" }],
    unavailability: { start: { nanoseconds: 2e18 } },
  }],
};

Deno.test({
  name: "quota, weights and the maintenance schedule survive a failover to another master",
  ignore: !hasEtcd(),
  async fn() {
    const cluster = await HaCluster.start();
    try {
      const old = await cluster.waitForLeader();
      const leaderUrl = cluster.masterUrls[old]!;
      const other = (old + 1) % cluster.masterUrls.length;
      const standby = cluster.masterUrls[other]!;
      // A leader can be elected before every other master listens.
      // Until a standby has read who leads it answers 503 (as Mesos' "no leader elected").
      await waitFor("the standby to know the leader", async () => {
        const h = await cluster.health(other);
        return h?.leader !== undefined && h?.leader !== null;
      }, 60_000);
      const redirected = await operator(standby, { type: "GET_QUOTA" });
      assert.equal(redirected.status, 307, "a standby sends operator calls to the leader");
      for (
        const call of [
          {
            type: "UPDATE_QUOTA",
            update_quota: {
              force: true,
              quota_configs: [{ role: "web", guarantees: { cpus: 2 }, limits: { cpus: 4 } }],
            },
          },
          {
            type: "UPDATE_WEIGHTS",
            update_weights: { weight_infos: [{ role: "web", weight: 3 }] },
          },
          {
            type: "UPDATE_MAINTENANCE_SCHEDULE",
            update_maintenance_schedule: { schedule: SCHEDULE },
          },
        ]
      ) {
        const res = await operator(leaderUrl, call);
        assert.equal(res.status, 200, `${call.type}: ${res.text}`);
      }
      await cluster.masters[old]!.kill("SIGKILL");
      const next = await cluster.waitForLeader({ not: old, timeoutMs: 60_000 });
      const url = cluster.masterUrls[next]!;
      const read = async (type: string) => {
        const res = await operator(url, { type });
        assert.equal(res.status, 200, res.text);
        return JSON.parse(res.text);
      };
      const quota = await waitFor("the new leader to serve", () => read("GET_QUOTA"));
      assert.deepEqual(quota.get_quota.status.configs, [{
        role: "web",
        guarantees: { cpus: { value: 2 } },
        limits: { cpus: { value: 4 } },
      }]);
      assert.deepEqual((await read("GET_WEIGHTS")).get_weights.weight_infos, [
        { role: "web", weight: 3 },
      ]);
      assert.deepEqual(
        (await read("GET_MAINTENANCE_SCHEDULE")).get_maintenance_schedule.schedule,
        SCHEDULE,
      );
    } finally {
      await cluster.stop();
    }
  },
});
