/**
 * Service discovery end to end, as a user meets it: Marathon apps of busybox httpd containers
 * on a real master and agent, found through the master's DNS (real `dig`) and reached through
 * the router's service port and HTTP virtual host.
 */
import assert from "node:assert/strict";
import { probeDocker } from "../agent/containerizer/docker.ts";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { startRouter } from "../router/mod.ts";
import { Cluster, freePort, waitFor } from "./support/cluster.ts";

const dockerUp = await probeDocker("/var/run/docker.sock");

// deno-lint-ignore no-explicit-any -- Marathon's JSON is read loosely by the test
type Json = any;

function httpdApp(id: string, servicePort: number, extra: Json = {}): Json {
  return {
    id,
    instances: 3,
    cpus: 0.05,
    mem: 16,
    // Each replica answers with its own task id.
    cmd: "echo -n $MESOS_TASK_ID > /www/index.html; exec httpd -f -p 8080 -h /www",
    container: {
      type: "DOCKER",
      docker: { image: "tender-busybox:latest" },
      portMappings: [{ containerPort: 8080, hostPort: 0, servicePort }],
    },
    networks: [{ mode: "container/bridge" }],
    healthChecks: [{
      protocol: "MESOS_HTTP",
      path: "/",
      portIndex: 0,
      gracePeriodSeconds: 10,
      intervalSeconds: 1,
      timeoutSeconds: 2,
      maxConsecutiveFailures: 3,
    }],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.34 },
    ...extra,
  };
}

async function dig(port: number, ...query: string[]): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+short", "+time=2", "+tries=1", ...query],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function digStatus(port: number, name: string): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", name],
    stdout: "piped",
  }).output();
  return /status: (\w+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? "";
}

/** A raw HTTP/1.1 GET on a new connection (fetch may not set Host). Returns a 200's body. */
async function getWithHost(port: number, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    const text = await new Response(conn.readable).text();
    const [head = "", body = ""] = text.split("\r\n\r\n", 2);
    if (!head.startsWith("HTTP/1.1 200")) throw new Error(head.split("\r\n")[0]);
    const chunked = /transfer-encoding: chunked/i.test(head);
    return chunked ? body.split("\r\n").filter((_, i) => i % 2 === 1).join("") : body;
  } catch (e) {
    try {
      conn.close();
    } catch { /* closed by the readable */ }
    throw e;
  }
}

const hasDig = await new Deno.Command("dig", { args: ["-v"], stderr: "null" }).output()
  .then((o) => o.success, () => false);

Deno.test({
  name:
    "discovery through Marathon: dig, even spread, zero failures on upgrade and kill, 90/10 canary (needs Docker)",
  ignore: !dockerUp || !hasDig,
  fn: async (t) => {
    const dnsPort = freePort();
    const cluster = await Cluster.start(["--dns-port", String(dnsPort)]);
    const workDir = await Deno.makeTempDir({ prefix: "tender-discovery-" });
    const marathon = await startMarathon({
      master: cluster.masterUrl,
      port: 0,
      workDir,
      tickMs: 200,
    });
    const router = await startRouter({ master: cluster.masterUrl, httpPort: 0 });
    const servicePort = freePort();
    const api = (path: string, init?: RequestInit) => fetch(`${marathon.url}${path}`, init);
    const post = async (body: Json) => {
      const r = await api("/v2/apps", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 201, await r.text());
    };
    const healthy = (id: string, n: number) =>
      waitFor(`${id} to be ${n} healthy with no deployment`, async () => {
        const a = (await (await api(`/v2/apps${id}?embed=app.tasks`)).json()).app;
        return a.tasksHealthy === n && a.deployments.length === 0 ? a : false;
      }, 90_000);
    // A new connection per request, as most clients of a TCP service port: a kept-alive
    // connection is pinned to one backend by a TCP balancer (HAProxy's mode tcp does the same).
    const viaRouter = (port: number, host = "127.0.0.1") => getWithHost(port, host);
    try {
      await cluster.addAgent([
        "--containerizer",
        "docker",
        "--resources",
        "cpus:2;mem:2048;ports:[31000-31199]",
      ]);
      await post(httpdApp("/prod/web", servicePort));
      const app = await healthy("/prod/web", 3);
      const ids: string[] = app.tasks.map((x: Json) => x.id).sort();
      await waitFor(
        "the router to open the service port",
        () => viaRouter(servicePort).then(() => true),
        20_000,
      );

      await t.step("dig answers A and SRV for the app, NXDOMAIN for an unknown name", async () => {
        assert.equal(await dig(dnsPort, "web-prod.marathon.tender"), "127.0.0.1");
        const srv = (await dig(dnsPort, "SRV", "_web-prod._tcp.marathon.tender")).split("\n");
        assert.equal(srv.length, 3);
        const ports = srv.map((line) => Number(line.split(" ")[2])).sort();
        assert.deepEqual(ports, app.tasks.map((x: Json) => x.ports[0]).sort());
        assert.equal(await digStatus(dnsPort, "nope.marathon.tender"), "NXDOMAIN");
      });

      await t.step(
        "300 requests through the service port reach all 3 replicas evenly",
        async () => {
          const counts = new Map<string, number>();
          for (let i = 0; i < 300; i++) {
            const body = await viaRouter(servicePort);
            counts.set(body, (counts.get(body) ?? 0) + 1);
          }
          assert.deepEqual([...counts.keys()].sort(), ids);
          for (const n of counts.values()) {
            assert.ok(n >= 70 && n <= 130, `uneven: ${[...counts.values()]}`);
          }
        },
      );

      await t.step("a rolling upgrade and a killed replica lose no request", async () => {
        let failures = 0, requests = 0;
        const errors: string[] = [];
        let loading = true;
        const load = (async () => {
          const deadline = Date.now() + 120_000;
          while (loading && Date.now() < deadline) {
            requests++;
            await viaRouter(servicePort).catch((e) => {
              failures++;
              errors.push(String(e));
            });
          }
        })();
        const put = await api("/prod/web".replace(/^/, "/v2/apps"), {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ ...httpdApp("/prod/web", servicePort), env: { VERSION: "2" } }),
        });
        assert.equal(put.status, 200, await put.text());
        const upgraded = await waitFor("the upgrade to finish", async () => {
          const a = (await (await api("/v2/apps/prod/web?embed=app.tasks")).json()).app;
          const fresh = a.tasks.every((x: Json) => !ids.includes(x.id));
          return a.deployments.length === 0 && a.tasksHealthy === 3 && fresh ? a : false;
        }, 120_000);
        const victim = upgraded.tasks[0].id;
        const killed = await api(`/v2/apps/prod/web/tasks/${victim}`, { method: "DELETE" });
        assert.equal(killed.status, 200, await killed.text());
        await waitFor("the killed replica to be replaced", async () => {
          const a = (await (await api("/v2/apps/prod/web?embed=app.tasks")).json()).app;
          return a.tasksHealthy === 3 && !a.tasks.some((x: Json) => x.id === victim);
        }, 90_000);
        loading = false;
        await load;
        assert.ok(requests > 50, `only ${requests} requests were made`);
        assert.equal(
          failures,
          0,
          `${failures} of ${requests} failed: ${errors.slice(0, 3).join("; ")}`,
        );
      });

      await t.step("two apps on one vhost split 90/10 by weight over 1,000 requests", async () => {
        const vhost = { HAPROXY_0_VHOST: "shop.test" };
        await post({
          ...httpdApp("/shop/blue", freePort()),
          instances: 1,
          labels: { ...vhost, TENDER_WEIGHT: "9" },
        });
        await post({
          ...httpdApp("/shop/green", freePort()),
          instances: 1,
          labels: { ...vhost, TENDER_WEIGHT: "1" },
        });
        const blue = (await healthy("/shop/blue", 1)).tasks[0].id;
        await healthy("/shop/green", 1);
        await waitFor("both apps behind the vhost", async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 40; i++) seen.add(await viaRouter(router.httpPort, "shop.test"));
          return seen.size === 2;
        }, 20_000);
        let toBlue = 0;
        for (
          let i = 0;
          i < 1000;
          i++
        ) if (await viaRouter(router.httpPort, "shop.test") === blue) toBlue++;
        assert.ok(toBlue >= 860 && toBlue <= 940, `blue got ${toBlue} of 1000`);
      });
    } finally {
      for (const id of ["/prod/web", "/shop/blue", "/shop/green"]) {
        await api(`/v2/apps${id}?force=true`, { method: "DELETE" }).then(
          (r) => r.body?.cancel(),
          () => {},
        );
      }
      await waitFor("every task to go", async () => {
        const s = await cluster.state();
        return s.frameworks.every((f: Json) => f.tasks.length === 0);
      }, 60_000).catch(() => {});
      await router.close();
      await marathon.stop();
      await cluster.stop();
      await Deno.remove(workDir, { recursive: true });
    }
  },
});
