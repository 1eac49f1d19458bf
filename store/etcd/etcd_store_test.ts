import assert from "node:assert/strict";
import { EtcdCluster, hasEtcd } from "../../tests/support/etcd_cluster.ts";
import { stateStoreConformance } from "../conformance.ts";
import { LeadershipLostError } from "../state_store.ts";
import { EtcdClient } from "./client.ts";
import { EtcdConnection } from "./etcd_connection.ts";
import { opPut } from "./wire.ts";

const ignore = !hasEtcd();

Deno.test({
  name: "EtcdStateStore passes the StateStore conformance suite on a 3-member etcd",
  ignore,
  async fn(t) {
    const cluster = await EtcdCluster.start();
    const opened: EtcdConnection[] = [];
    try {
      let n = 0;
      await stateStoreConformance(t, async () => {
        const connection = await EtcdConnection.open({
          endpoints: cluster.endpoints,
          prefix: `conformance${n++}`,
        });
        opened.push(connection);
        return connection.store("master");
      });
    } finally {
      for (const c of opened) c.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "EtcdStateStore refuses every write once its leadership's fence fails, and writes nothing",
  ignore,
  async fn() {
    const cluster = await EtcdCluster.start({ size: 1 });
    const connection = await EtcdConnection.open({ endpoints: cluster.endpoints, prefix: "t" });
    try {
      const leadership = await connection.election("master", { ttlSeconds: 2 }).campaign("a");
      const store = connection.store("master", leadership.fence);
      await store.set(["tasks", "1"], "running");
      await leadership.resign();
      await assert.rejects(store.set(["tasks", "1"], "lost"), LeadershipLostError);
      const current = await store.get(["tasks", "1"]);
      await assert.rejects(
        store.atomic().check(current).set(["tasks", "2"], "x").commit(),
        LeadershipLostError,
      );
      assert.equal((await connection.store("master").get(["tasks", "1"])).value, "running");
      assert.equal((await connection.store("master").get(["tasks", "2"])).value, null);
    } finally {
      connection.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "EtcdConnection.open() refuses a prefix holding other data, or a newer format",
  ignore,
  async fn() {
    const cluster = await EtcdCluster.start({ size: 1 });
    const client = await EtcdClient.connect(cluster.endpoints);
    try {
      await client.txn({ compare: [], success: [opPut("k8s/registry/pods/x", "{}")] });
      await assert.rejects(
        EtcdConnection.open({ endpoints: cluster.endpoints, prefix: "k8s" }),
        /holds keys that are not Tender's \(e\.g\. "k8s\/registry\/pods\/x"\)/,
      );
      await client.txn({ compare: [], success: [opPut("next/format", '{"tender":2}')] });
      await assert.rejects(
        EtcdConnection.open({ endpoints: cluster.endpoints, prefix: "next" }),
        /written by a newer Tender \(store format 2/,
      );
      // A fresh prefix is claimed, then opened again; processes claiming it at once all succeed.
      (await EtcdConnection.open({ endpoints: cluster.endpoints, prefix: "fresh" })).close();
      (await EtcdConnection.open({ endpoints: cluster.endpoints, prefix: "fresh" })).close();
      for (let round = 0; round < 5; round++) {
        const opened = await Promise.all(
          [0, 1, 2, 3].map(() =>
            EtcdConnection.open({ endpoints: cluster.endpoints, prefix: `race${round}` })
          ),
        );
        for (const c of opened) c.close();
      }
    } finally {
      client.close();
      await cluster.close();
    }
  },
});
