/**
 * The router in front of real Docker containers (busybox httpd from `tender-busybox:latest`):
 * an even spread over 3 replicas, and a rolling upgrade with zero failed requests.
 */
import assert from "node:assert/strict";
import { startRouter } from "../router/mod.ts";
import {
  freePort,
  getOnce,
  HttpConnection,
  startCatalogServer,
  task,
  waitFor,
} from "./discovery_harness.ts";

const IMAGE = "tender-busybox:latest";
const LABEL = "tender.test=discovery-containers";

const hasDocker = (() => {
  try {
    return Deno.statSync("/var/run/docker.sock").isSocket ?? true;
  } catch {
    return false;
  }
})();

async function docker(...args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`docker ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function ensureImage(): Promise<void> {
  try {
    await docker("image", "inspect", IMAGE);
  } catch {
    const script = new URL("../scripts/build-test-image.sh", import.meta.url).pathname;
    const out = await new Deno.Command("sh", { args: [script] }).output();
    if (!out.success) throw new Error("scripts/build-test-image.sh failed");
  }
}

interface Container {
  id: string;
  name: string;
  port: number;
}

/** Runs busybox httpd serving `name` on a random 127.0.0.1 port; waits until it answers. */
async function startHttpd(name: string): Promise<Container> {
  const id = await docker(
    "run",
    "-d",
    "--label",
    LABEL,
    "-p",
    "127.0.0.1::8000",
    IMAGE,
    "sh",
    "-c",
    `mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 8000 -h /www`,
  );
  const mapped = await docker("port", id, "8000/tcp");
  const port = Number(mapped.split("\n")[0]?.split(":").pop());
  await waitFor(`httpd ${name}`, async () => {
    try {
      return (await getOnce(port)).status === 200;
    } catch {
      return false;
    }
  }, 10_000);
  return { id, name, port };
}

async function removeAll(): Promise<void> {
  const ids = await docker("ps", "-aq", "--filter", `label=${LABEL}`);
  if (ids !== "") await docker("rm", "-f", ...ids.split("\n"));
}

Deno.test({
  name: "Router over Docker containers spreads 300 requests and upgrades with zero failures",
  ignore: !hasDocker,
  async fn(t) {
    await ensureImage();
    await removeAll();
    const catalog = startCatalogServer();
    const router = await startRouter({ master: catalog.url, httpPort: 0 });
    const servicePort = freePort();
    const labels = { TENDER_SERVICE_PORTS: String(servicePort), HAPROXY_0_VHOST: "web.test" };
    try {
      let live = await Promise.all(["v1-a", "v1-b", "v1-c"].map(startHttpd));
      const publish = () => catalog.store.update(live.map((c) => task("/prod/web", c, labels)));
      publish();
      await waitFor("3 endpoints", () => router.state().tcp[0]?.backends.length === 3);

      await t.step("300 requests over the service port reach all 3 evenly", async () => {
        const counts = new Map<string, number>();
        for (let i = 0; i < 300; i++) {
          const res = await getOnce(servicePort);
          assert.equal(res.status, 200);
          counts.set(res.body.trim(), (counts.get(res.body.trim()) ?? 0) + 1);
        }
        assert.deepEqual([...counts.keys()].sort(), ["v1-a", "v1-b", "v1-c"]);
        for (const n of counts.values()) assert.ok(n >= 80 && n <= 120, `${n}`);
      });

      await t.step("a rolling upgrade fails no request", async () => {
        let running = true;
        const failures: string[] = [];
        const seen = new Set<string>();
        let requests = 0;
        const tcpClient = (async () => {
          while (running) {
            try {
              const res = await getOnce(servicePort);
              requests += 1;
              if (res.status !== 200) failures.push(`tcp ${res.status}`);
              else seen.add(res.body.trim());
            } catch (e) {
              failures.push(`tcp ${e}`);
            }
          }
        })();
        const httpClient = (async () => {
          while (running) {
            const conn = await HttpConnection.open(router.httpPort);
            try {
              for (let i = 0; i < 20 && running; i++) {
                const res = await conn.request("web.test");
                requests += 1;
                if (res.status !== 200) failures.push(`http ${res.status}`);
              }
            } catch (e) {
              failures.push(`http ${e}`);
            } finally {
              conn.close();
            }
          }
        })();
        for (const [i, next] of ["v2-a", "v2-b", "v2-c"].entries()) {
          const fresh = await startHttpd(next);
          live = [...live, fresh];
          publish();
          const old = live[0]!;
          live = live.filter((c) => c !== old);
          publish(); // the old task leaves the catalog before its container is killed
          await waitFor(
            `${old.name} drained`,
            () =>
              !router.state().tcp[0]?.backends.some((b) => b.port === old.port) &&
              !router.state().vhosts[0]?.backends.some((b) => b.port === old.port),
          );
          await docker("rm", "-f", old.id);
          assert.equal(live.length, 3, `step ${i}`);
        }
        await waitFor("traffic on the new version", () => requests > 50 && seen.has("v2-c"));
        running = false;
        await Promise.all([tcpClient, httpClient]);
        assert.deepEqual(failures, []);
        assert.ok(requests > 50, `${requests} requests`);
        const after = await getOnce(servicePort);
        assert.match(after.body, /^v2-/);
      });
    } finally {
      await router.close();
      await catalog.close();
      await removeAll();
    }
  },
});
