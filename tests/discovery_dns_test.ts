/** The DNS server answers real `dig` queries over UDP and TCP. */
import assert from "node:assert/strict";
import { CatalogStore, type CatalogTask, startDnsServer } from "../master/discovery/mod.ts";
import { dig, hasDig } from "./support/dig.ts";

function task(id: string, ip: string, port: number, appId = "/prod/web"): CatalogTask {
  return {
    frameworkName: "marathon",
    taskId: id,
    taskName: "web.prod",
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: "localhost",
    agentIp: ip,
    hostPorts: [port],
    labels: { MARATHON_APP_ID: appId },
  };
}

Deno.test({
  name: "DnsServer answers dig with A, SRV (UDP and TCP), NXDOMAIN and REFUSED",
  ignore: !hasDig,
  async fn(t) {
    const store = new CatalogStore();
    store.update([
      task("web.1", "127.0.0.11", 31001),
      task("web.2", "127.0.0.12", 31002),
      task("web.3", "127.0.0.11", 31003),
    ]);
    const dns = await startDnsServer({ source: store, port: 0, ttl: 17 });
    try {
      await t.step("A records list each agent IP once, with the configured TTL", async () => {
        const out = await dig(dns.port, "+noall", "+answer", "web-prod.marathon.tender", "A");
        const lines = out.trim().split("\n").map((l) => l.split(/\s+/));
        assert.deepEqual(lines.map((l) => [l[0], l[1], l[3], l[4]]), [
          ["web-prod.marathon.tender.", "17", "A", "127.0.0.11"],
          ["web-prod.marathon.tender.", "17", "A", "127.0.0.12"],
        ]);
      });
      await t.step("SRV records give one target per task with its host port", async () => {
        for (const transport of ["+notcp", "+tcp"]) {
          const out = await dig(
            dns.port,
            transport,
            "+noall",
            "+answer",
            "+additional",
            "_web-prod._tcp.marathon.tender",
            "SRV",
          );
          const srv = out.split("\n").filter((l) => /\sSRV\s/.test(l)).map((l) => l.split(/\s+/));
          assert.deepEqual(srv.map((l) => l[6]).sort(), ["31001", "31002", "31003"], out);
          const glue = out.split("\n").filter((l) => /\sA\s/.test(l)).map((l) => l.split(/\s+/));
          assert.deepEqual(
            new Set(glue.map((l) => l[0])),
            new Set(srv.map((l) => l[7])),
            `every SRV target has an A record:\n${out}`,
          );
        }
      });
      await t.step("unknown names under the domain answer NXDOMAIN, others REFUSED", async () => {
        assert.match(await dig(dns.port, "nope.marathon.tender", "A"), /status: NXDOMAIN/);
        assert.match(await dig(dns.port, "+tcp", "nope.marathon.tender"), /status: NXDOMAIN/);
        assert.match(await dig(dns.port, "example.com", "A"), /status: REFUSED/);
      });
      await t.step("answers follow the catalog", async () => {
        store.update([task("web.2", "127.0.0.12", 31002)]);
        const out = await dig(dns.port, "+short", "web-prod.marathon.tender");
        assert.equal(out.trim(), "127.0.0.12");
      });
      await t.step("a large SRV answer is truncated over UDP and complete over TCP", async () => {
        store.update(
          Array.from({ length: 60 }, (_, i) => task(`big.${i}`, "127.0.0.20", 31100 + i, "/big")),
        );
        const udp = await dig(dns.port, "+noedns", "+ignore", "_big._tcp.marathon.tender", "SRV");
        assert.match(udp, /flags: qr aa tc/);
        const tcp = await dig(dns.port, "+tcp", "+short", "_big._tcp.marathon.tender", "SRV");
        assert.equal(tcp.trim().split("\n").length, 60);
      });
    } finally {
      await dns.close();
    }
  },
});
