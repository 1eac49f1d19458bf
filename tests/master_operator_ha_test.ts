/**
 * The operator SUBSCRIBE stream and MARK_AGENT_GONE on masters sharing a real etcd: a leader that
 * loses leadership (paused past its lease) ends its operator streams; a standby sends the calls
 * on to the leader.
 */
import assert from "node:assert/strict";
import { decodeRecords } from "../protocol/mod.ts";
import { waitFor } from "./support/cluster.ts";
import { hasEtcd } from "./support/etcd_cluster.ts";
import { HaCluster } from "./support/ha_cluster.ts";

Deno.test({
  name:
    "operator SUBSCRIBE streams end when their master loses leadership; a standby redirects MARK_AGENT_GONE and SUBSCRIBE",
  ignore: !hasEtcd(),
  async fn() {
    const cluster = await HaCluster.start();
    const abort = new AbortController();
    try {
      const old = await cluster.waitForLeader();
      const standby = cluster.masterUrls[(old + 1) % cluster.masterUrls.length]!;
      await waitFor("the standby to know the leader", async () => {
        const h = await cluster.health((old + 1) % cluster.masterUrls.length);
        return h?.leader !== undefined && h?.leader !== null;
      });
      for (
        const call of [
          { type: "SUBSCRIBE" },
          { type: "MARK_AGENT_GONE", mark_agent_gone: { agent_id: { value: "a" } } },
        ]
      ) {
        const r = await fetch(`${standby}/api/v1`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(call),
          redirect: "manual",
          signal: AbortSignal.timeout(10_000),
        });
        await r.body?.cancel();
        assert.equal(r.status, 307, `${call.type} on a standby`);
        assert.equal(r.headers.get("Location"), `${cluster.masterUrls[old]}/api/v1`);
      }

      const r = await fetch(`${cluster.masterUrls[old]}/api/v1`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ type: "SUBSCRIBE" }),
        signal: abort.signal,
      });
      assert.equal(r.status, 200);
      const events: string[] = [];
      let ended = false;
      const reading = (async () => {
        for await (const record of decodeRecords(r.body!)) events.push(JSON.parse(record).type);
        ended = true;
      })().catch(() => {
        ended = true;
      });
      await waitFor("SUBSCRIBED", () => events[0] === "SUBSCRIBED");

      cluster.masters[old]!.signal("SIGSTOP");
      await cluster.waitForLeader({ not: old, timeoutMs: 60_000 });
      cluster.masters[old]!.signal("SIGCONT");
      await waitFor("the paused master to stand by", async () => {
        const h = await cluster.health(old);
        return h?.role === "standby";
      }, 60_000);
      await waitFor("the operator stream to end", () => ended, 30_000);
      abort.abort();
      await reading;
    } finally {
      abort.abort();
      await cluster.stop();
    }
  },
});
