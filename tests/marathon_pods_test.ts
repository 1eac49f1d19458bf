/**
 * Marathon pods end to end: a real master and agent (process containerizer) as processes on
 * loopback, Marathon and a router in-process. A pod of two containers that reach each other on
 * localhost and share an ephemeral volume is created, shown in `::status`, found by its
 * endpoint's name (catalog, DNS SRV) and reached through the router (its endpoint's service
 * port and virtual host), scaled, rolled to a new version, has an instance killed (replaced)
 * and is deleted.
 */
import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { startRouter } from "../router/mod.ts";
import { Cluster, freePort, waitFor } from "./support/cluster.ts";
import { call, type Json } from "./support/marathon_api.ts";

/** GET / on a port with a Host header, one connection per request; the body. */
async function viaRouter(port: number, host = "127.0.0.1"): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
  );
  const text = await new Response(conn.readable).text();
  const [head = "", body = ""] = text.split("\r\n\r\n", 2);
  if (!head.startsWith("HTTP/1.1 200")) throw new Error(head.split("\r\n")[0]);
  return /transfer-encoding: chunked/i.test(head)
    ? body.split("\r\n").filter((_, i) => i % 2 === 1).join("")
    : body;
}

async function dig(port: number, ...query: string[]): Promise<string | undefined> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+short", "+time=2", "+tries=1", ...query],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  return out?.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
}

/**
 * The server serves the shared volume on its endpoint; the client fetches from it on localhost
 * into the shared volume; the server's health check asks for what the client fetched, so the
 * pod is healthy only when both halves work.
 */
function duo(generation: string, instances: number, servicePort: number): Json {
  return {
    id: "/duo",
    environment: { GEN: generation },
    containers: [
      {
        name: "server",
        exec: {
          command: {
            shell: 'echo "gen-$GEN" > shared/index.html; ' +
              "exec busybox httpd -f -p 127.0.0.1:$ENDPOINT_HTTP -h shared",
          },
        },
        resources: { cpus: 0.1, mem: 16 },
        // The endpoint's labels are its discovery port's: the router listens on its service
        // port and routes its virtual host.
        endpoints: [{
          name: "http",
          hostPort: 0,
          labels: { service_port: String(servicePort), TENDER_VHOST: "duo.test" },
        }],
        volumeMounts: [{ name: "shared", mountPath: "shared" }],
        healthCheck: {
          http: { endpoint: "http", path: "/fetched" },
          delaySeconds: 0,
          intervalSeconds: 1,
          timeoutSeconds: 1,
          gracePeriodSeconds: 30,
        },
        lifecycle: { killGracePeriodSeconds: 1 },
      },
      {
        name: "client",
        exec: {
          command: {
            shell: "until busybox wget -q -O shared/fetched " +
              "http://127.0.0.1:$ENDPOINT_HTTP/index.html; do sleep 0.2; done; exec sleep 1000",
          },
        },
        resources: { cpus: 0.1, mem: 16 },
        volumeMounts: [{ name: "shared", mountPath: "shared" }],
        lifecycle: { killGracePeriodSeconds: 1 },
      },
    ],
    volumes: [{ name: "shared" }],
    scaling: { kind: "fixed", instances },
  };
}

Deno.test("Marathon pods: create, status, scale, roll, kill an instance and delete on a real cluster", async () => {
  const dnsPort = freePort();
  const servicePort = freePort();
  const cluster = await Cluster.start(["--dns-port", String(dnsPort)]);
  const router = await startRouter({ master: cluster.masterUrl, httpPort: 0 });
  const workDir = await Deno.makeTempDir({ prefix: "marathon-pods-" });
  const marathon = await startMarathon({
    master: cluster.masterUrl,
    port: 0,
    workDir,
    tickMs: 200,
  });
  try {
    await cluster.addAgent([
      "--containerizer",
      "process",
      "--resources",
      "cpus:4;mem:2048;disk:1024;ports:[31100-31199]",
    ]);
    const api = marathon.url;
    const fwId = await waitFor("marathon to subscribe", () => marathon.driver.frameworkId, 60_000);
    const status = async () => (await call(`${api}/v2/pods/duo::status`)).json;
    const stable = (n: number, version?: string) =>
      waitFor(`the pod to be STABLE with ${n} instances`, async () => {
        const s = await status();
        const ok = s.status === "STABLE" && s.instances.length === n &&
          s.instances.every((i: Json) =>
            i.status === "STABLE" && (!version || i.specReference.endsWith(version))
          );
        return ok ? s : false;
      }, 60_000);

    const created = await call(`${api}/v2/pods`, "POST", duo("1", 2, servicePort));
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const first = await stable(2);
    const instance = first.instances[0];
    assert.deepEqual(instance.containers.map((c: Json) => c.name), ["server", "client"]);
    assert.ok(instance.containers.every((c: Json) => c.status === "TASK_RUNNING"));
    const server = instance.containers[0];
    assert.deepEqual(server.conditions.map((c: Json) => [c.name, c.value]), [["healthy", "true"]]);
    const port = server.endpoints[0].allocatedHostPort;
    assert.ok(port >= 31100 && port < 31200);
    // Both containers wrote into the one shared volume, reached over localhost.
    const served = await fetch(`http://127.0.0.1:${port}/fetched`);
    assert.equal(await served.text(), "gen-1\n");

    // Each instance is one task group on the master; its endpoints are in the catalog by name.
    const tasks = (await cluster.state()).frameworks.find((f: Json) => f.id === fwId).tasks;
    assert.equal(tasks.filter((t: Json) => t.state === "TASK_RUNNING").length, 4);
    const service = await waitFor("the pod in the catalog", async () => {
      const { services } = (await call(`${cluster.masterUrl}/api/v1/services`)).json;
      const svc = services.find((x: Json) => x.appId === "/duo");
      return svc && svc.endpoints.length === 2 ? svc : false;
    });
    assert.equal(service.name, "duo");
    assert.ok(service.endpoints.every((e: Json) => e.portName === "http"));
    assert.ok(service.endpoints.every((e: Json) => e.servicePort === servicePort));
    const srv = await dig(dnsPort, "SRV", "_http._duo._tcp.marathon.tender");
    if (srv !== undefined) assert.equal(srv.split("\n").length, 2, srv); // dig may be missing
    const routed = await waitFor(
      "the router to serve the endpoint's service port",
      () => viaRouter(servicePort).catch(() => false),
      20_000,
    );
    assert.equal(routed, "gen-1\n");
    assert.equal(await viaRouter(router.httpPort, "duo.test"), "gen-1\n");

    // Scale to three: a deployment that only adds an instance.
    const scaled = await call(`${api}/v2/pods/duo`, "PUT", duo("1", 3, servicePort));
    assert.equal(scaled.status, 200);
    const third = await stable(3);
    const kept = new Set(first.instances.map((i: Json) => i.id));
    assert.equal(third.instances.filter((i: Json) => kept.has(i.id)).length, 2);

    // A new version rolls every instance over.
    const rolled = await call(`${api}/v2/pods/duo`, "PUT", duo("2", 3, servicePort));
    assert.equal(rolled.status, 200);
    const fourth = await stable(3, rolled.json.version);
    const before = new Set(third.instances.map((i: Json) => i.id));
    assert.ok(fourth.instances.every((i: Json) => !before.has(i.id)), "all replaced");
    const again = fourth.instances[0].containers[0].endpoints[0].allocatedHostPort;
    assert.equal(await (await fetch(`http://127.0.0.1:${again}/fetched`)).text(), "gen-2\n");

    // An instance killed through the API is replaced.
    const victim = fourth.instances[0].id;
    const killed = await call(`${api}/v2/pods/duo::instances/${victim}`, "DELETE");
    assert.equal(killed.status, 200);
    assert.equal(killed.json.id, victim);
    await waitFor("a replacement", async () => {
      const s = await status();
      return s.status === "STABLE" && s.instances.length === 3 &&
        s.instances.every((i: Json) => i.id !== victim);
    }, 60_000);

    // Deleting the pod kills every task group.
    const deleted = await call(`${api}/v2/pods/duo`, "DELETE");
    assert.equal(deleted.status, 202);
    await waitFor("the tasks to be killed", async () => {
      const fw = (await cluster.state()).frameworks.find((f: Json) => f.id === fwId);
      return (fw?.tasks ?? []).every((t: Json) => t.state !== "TASK_RUNNING");
    }, 30_000);
    await waitFor("the deployments to finish", async () => {
      return (await call(`${api}/v2/deployments`)).json.length === 0;
    });
    assert.equal((await call(`${api}/v2/pods/duo`)).status, 404);
  } finally {
    await marathon.stop();
    await router.close();
    await cluster.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
