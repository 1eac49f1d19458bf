/**
 * Two masters on etcd, both serving TLS with authentication on: the standby authenticates as
 * the leader does and redirects to the leader's https URL; an SDK framework given both masters
 * and the CA follows the redirect with its credentials and subscribes at the leader.
 */
import assert from "node:assert/strict";
import type { SubscribedInfo } from "../sdk/mod.ts";
import { SchedulerDriver } from "../sdk/mod.ts";
import { type HaMaster, startHaMaster } from "../master/ha_master.ts";
import { parseStoreSpec } from "../store/mod.ts";
import { ClientSecurity, parseCredentials, ServerSecurity } from "../security/mod.ts";
import { waitFor } from "./support/cluster.ts";
import { makeCerts } from "./support/certs.ts";
import { EtcdCluster, hasEtcd } from "./support/etcd_cluster.ts";

const CREDENTIALS = {
  credentials: [
    { principal: "framework", secret: "framework-secret" },
    { principal: "ops", secret: "ops-secret" },
  ],
};

Deno.test({
  name:
    "HA masters over TLS: the standby authenticates and redirects to the https leader; the SDK follows with its credentials",
  ignore: !hasEtcd(),
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "tender-ha-tls-" });
    const etcd = await EtcdCluster.start({ size: 1 });
    const masters: HaMaster[] = [];
    let driver: SchedulerDriver | undefined;
    const clients: ClientSecurity[] = [];
    try {
      const certs = await makeCerts(`${root}/certs`);
      const ca = await Deno.readTextFile(certs.caCert);
      const tls = {
        cert: await Deno.readTextFile(certs.cert),
        key: await Deno.readTextFile(certs.key),
      };
      const store = parseStoreSpec(etcd.url("tender-ha-tls"));
      assert.equal(store.kind, "etcd");
      for (const name of ["m1", "m2"]) {
        masters.push(
          await startHaMaster({
            port: 0,
            workDir: `${root}/${name}`,
            etcd: store.kind === "etcd" ? store : { endpoints: [], prefix: "" },
            security: new ServerSecurity({
              credentials: parseCredentials(JSON.stringify(CREDENTIALS)),
            }),
            authenticate: { frameworks: true, httpReadonly: true },
            tls,
          }),
        );
      }
      for (const m of masters) assert.match(m.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const leading = await Promise.race(masters.map((m) => m.elected().then(() => m)));
      const standby = masters.find((m) => m !== leading)!;
      await waitFor("the standby to know the leader", () => standby.leader() === leading.url);

      const ops = new ClientSecurity({ principal: "ops", secret: "ops-secret", caCerts: [ca] });
      const anonymous = new ClientSecurity({ caCerts: [ca] });
      clients.push(ops, anonymous);
      const refused = await anonymous.fetch(`${standby.url}/master/state`);
      await refused.body?.cancel();
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get("WWW-Authenticate") ?? "", /realm="mesos"/);
      const state = await (await ops.fetch(`${standby.url}/master/state`)).json();
      assert.equal(state.leader_info.port, Number(new URL(leading.url).port));
      const redirect = await anonymous.fetch(`${standby.url}/master/redirect`, {
        redirect: "manual",
      });
      await redirect.body?.cancel();
      assert.equal(redirect.status, 307, "the redirect stays open");
      assert.equal(redirect.headers.get("Location"), leading.url);
      const metrics = await (await ops.fetch(`${standby.url}/metrics`)).text();
      assert.match(metrics, /tender_http_unauthenticated_total 1/);

      let subscribed: SubscribedInfo | undefined;
      driver = new SchedulerDriver({ subscribed: (_d, info) => void (subscribed = info) }, {
        master: `${standby.url},${leading.url}`,
        framework: { user: "web", name: "ha-tls", failover_timeout: 0 },
        security: new ClientSecurity({
          principal: "framework",
          secret: "framework-secret",
          caCerts: [ca],
        }),
      });
      await driver.start();
      await waitFor("SUBSCRIBED", () => subscribed);
      const leaderState = await (await ops.fetch(`${leading.url}/master/state`)).json();
      assert.equal(leaderState.frameworks[0]?.principal, "framework");
    } finally {
      await driver?.stop();
      for (const c of clients) c.close();
      for (const m of masters) await m.stop();
      await etcd.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
