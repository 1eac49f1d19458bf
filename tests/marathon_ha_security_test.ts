/**
 * Two Marathons on etcd serving HTTPS with `--credentials`: the standby authenticates requests
 * itself (401 without credentials, `/ping` open) and proxies authenticated ones to the leader
 * over HTTPS, trusting it by `--ca` and passing the caller's `Authorization` on — never its own.
 */
import assert from "node:assert/strict";
import { basicHeader } from "../security/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { Cluster, freePort, TenderProcess, waitFor } from "./support/cluster.ts";
import { EtcdCluster, hasEtcd } from "./support/etcd_cluster.ts";

Deno.test({
  name:
    "HA Marathons over https with credentials: a standby answers 401 itself and proxies the caller's credentials to the leader",
  ignore: !hasEtcd(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tender-marathon-ha-security-" });
    const certs = await makeCerts(dir);
    await Deno.writeTextFile(
      `${dir}/credentials.json`,
      JSON.stringify({ credentials: [{ principal: "ops", secret: "ops-secret" }] }),
    );
    const etcd = await EtcdCluster.start();
    const cluster = await Cluster.start();
    const https = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    const marathons: { process: TenderProcess; url: string }[] = [];
    const ops = { Authorization: basicHeader("ops", "ops-secret") };
    const get = async (url: string, headers: Record<string, string> = {}) => {
      const r = await fetch(url, { client: https, headers, signal: AbortSignal.timeout(10_000) });
      return { status: r.status, text: await r.text(), headers: r.headers };
    };
    try {
      for (const name of ["marathon-a", "marathon-b"]) {
        const port = freePort();
        const process = new TenderProcess(name, "frameworks/marathon/main.ts", [
          "--master",
          cluster.masterUrl,
          "--port",
          String(port),
          "--store",
          etcd.url("tender-ha-security"),
          "--credentials",
          `${dir}/credentials.json`,
          "--tls-cert",
          certs.cert,
          "--tls-key",
          certs.key,
          "--ca",
          certs.caCert,
        ]);
        process.start();
        marathons.push({ process, url: `https://127.0.0.1:${port}` });
      }
      for (const m of marathons) {
        await waitFor(
          `${m.process.name} over https`,
          async () => (await get(`${m.url}/ping`)).status === 200,
          60_000,
        );
      }
      const leaderOf = async (m: { url: string }) => {
        const r = await get(`${m.url}/v2/leader`, ops);
        return r.status === 200 ? JSON.parse(r.text).leader as string : undefined;
      };
      const leader = await waitFor("the Marathons to agree on a leader", async () => {
        const named = await Promise.all(marathons.map(leaderOf));
        return named[0] !== undefined && named.every((n) => n === named[0]) ? named[0] : false;
      }, 60_000);
      const standby = marathons.find((m) => new URL(m.url).host !== leader)!;
      assert.ok(standby, `a standby beside the leader ${leader}`);

      const none = await get(`${standby.url}/v2/apps`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm="Mesosphere"/);
      assert.equal(none.headers.get("x-marathon-via"), null, "answered by the standby itself");
      assert.equal((await get(`${standby.url}/v2/leader`)).status, 401);

      const proxied = await get(`${standby.url}/v2/apps`, ops);
      assert.equal(proxied.status, 200, proxied.text);
      assert.ok(proxied.headers.get("x-marathon-via"), "proxied to the leader");
      const created = await fetch(`${standby.url}/v2/apps`, {
        method: "POST",
        client: https,
        headers: { ...ops, "content-type": "application/json" },
        body: JSON.stringify({ id: "/web", cmd: "sleep 100", cpus: 0.1, mem: 16, instances: 0 }),
      });
      assert.equal(created.status, 201, await created.text());
      const metrics = await get(`${standby.url}/metrics`, ops);
      assert.match(metrics.text, /^tender_marathon_elected 0$/m);
      assert.match(metrics.text, /^tender_http_unauthenticated_total 2$/m);
    } finally {
      for (const m of marathons) await m.process.kill("SIGKILL");
      https.close();
      await cluster.stop();
      await etcd.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
