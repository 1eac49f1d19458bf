/**
 * The master's catalog HTTP API per caller, over real HTTP with a real (simulated-containerizer)
 * agent and scheduler: open without security; with `--authenticate-http-readonly`, 401 without
 * or with wrong credentials; filtered by `view_frameworks`/`view_tasks` as `/master/state` is.
 */
import assert from "node:assert/strict";
import type { TaskInfo, TaskStatus } from "../protocol/mod.ts";
import { Resources } from "../protocol/mod.ts";
import { type AuthenticationSwitches, type RunningMaster, startMaster } from "../master/mod.ts";
import { type RunningAgent, startAgent } from "../agent/mod.ts";
import { SchedulerDriver } from "../sdk/mod.ts";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../security/mod.ts";
import { waitFor } from "./support/cluster.ts";
import { type SseEvent, SseParser } from "./support/sse.ts";

const CREDENTIALS = {
  credentials: [
    { principal: "ops", secret: "ops-secret" },
    { principal: "alice", secret: "alice-secret" },
    { principal: "mallory", secret: "mallory-secret" },
  ],
};
const AUTH = {
  ops: basicHeader("ops", "ops-secret"),
  alice: basicHeader("alice", "alice-secret"),
  mallory: basicHeader("mallory", "mallory-secret"),
  wrong: basicHeader("alice", "not-her-secret"),
};
/** ops sees everything, alice the tasks of user web, mallory (and anonymous callers) nothing. */
const ACLS = {
  view_frameworks: [
    { principals: { values: ["ops", "alice"] }, users: { type: "ANY" } },
    { principals: { type: "ANY" }, users: { type: "NONE" } },
  ],
  view_tasks: [
    { principals: { values: ["ops"] }, users: { type: "ANY" } },
    { principals: { values: ["alice"] }, users: { values: ["web"] } },
    { principals: { type: "ANY" }, users: { type: "NONE" } },
  ],
};

/** A master, a simulated agent and a scheduler that launches `tasks` (name → user). */
async function withCluster(
  options: { secure: boolean; switches?: AuthenticationSwitches },
  tasks: Record<string, string>,
  body: (master: RunningMaster, launch: (name: string, user: string) => void) => Promise<void>,
): Promise<void> {
  const workDir = await Deno.makeTempDir({ prefix: "tender-catalog-security-" });
  const security = options.secure
    ? new ServerSecurity({
      credentials: parseCredentials(JSON.stringify(CREDENTIALS)),
      acls: parseAcls(JSON.stringify(ACLS)),
    })
    : undefined;
  const master = await startMaster({
    port: 0,
    workDir: `${workDir}/master`,
    security,
    authenticate: options.switches,
    heartbeatIntervalMs: 1000,
  });
  let agent: RunningAgent | undefined;
  let driver: SchedulerDriver | undefined;
  try {
    agent = await startAgent({
      master: master.url,
      port: 0,
      workDir: `${workDir}/agent`,
      containerizer: "simulated",
      resources: "cpus:4;mem:2048;ports:[31000-31010]",
      advertiseIp: "127.0.0.1",
      log: () => {},
    });
    const queue = Object.entries(tasks);
    const statuses: TaskStatus[] = [];
    driver = new SchedulerDriver({
      async offers(d, offers) {
        for (const offer of offers) {
          const next = queue.shift();
          if (!next) {
            await d.decline([offer.id.value], { refuse_seconds: 1 });
            continue;
          }
          const [name, user] = next;
          const ports = offer.resources.find((r) => r.name === "ports")!.ranges!.range[0]!;
          const task: TaskInfo = {
            name,
            task_id: { value: `${name}.1` },
            agent_id: offer.agent_id,
            resources: [
              ...Resources.parse("cpus:0.1;mem:32").toMesos(),
              {
                name: "ports",
                type: "RANGES",
                ranges: { range: [{ begin: ports.begin, end: ports.begin }] },
              },
            ],
            command: { value: "sleep 1000", user },
          };
          await d.launch([offer.id.value], [task]);
        }
      },
      update: (_d, status) => void statuses.push(status),
    }, { master: master.url, framework: { user: "sched", name: "svc", failover_timeout: 0 } });
    await driver.start();
    await waitFor(
      "every task running",
      () =>
        Object.keys(tasks).every((n) =>
          statuses.some((s) => s.task_id.value === `${n}.1` && s.state === "TASK_RUNNING")
        ),
      30_000,
    );
    await body(master, (name, user) => queue.push([name, user]));
  } finally {
    await driver?.stop();
    await agent?.stop();
    await master.stop();
    await Deno.remove(workDir, { recursive: true });
  }
}

async function services(master: RunningMaster, authorization?: string) {
  const res = await fetch(`${master.url}/api/v1/services`, {
    headers: authorization ? { Authorization: authorization } : {},
  });
  const text = await res.text();
  return {
    status: res.status,
    challenge: res.headers.get("WWW-Authenticate"),
    text,
    ids: res.ok
      ? (JSON.parse(text).services as { id: string; endpoints: unknown[] }[]).map((s) =>
        `${s.id}:${s.endpoints.length}`
      )
      : [],
  };
}

/** Waits until the catalog (as ops or anyone) lists `want`. */
function catalogShows(master: RunningMaster, want: string[], authorization?: string) {
  return waitFor(`the catalog to list ${want}`, async () => {
    const { ids } = await services(master, authorization);
    return JSON.stringify(ids) === JSON.stringify(want) ? ids : undefined;
  }, 30_000);
}

Deno.test("catalog API: without security, anyone sees every service", async () => {
  await withCluster({ secure: false }, { web: "web", db: "db" }, async (master) => {
    await catalogShows(master, ["db.svc:1", "web.svc:1"]);
  });
});

Deno.test("catalog API: --authenticate-http-readonly needs credentials; view ACLs filter the list, one service, the stream and per-framework metrics", async () => {
  await withCluster(
    { secure: true, switches: { httpReadonly: true } },
    { web: "web", db: "db" },
    async (master, launch) => {
      await catalogShows(master, ["db.svc:1", "web.svc:1"], AUTH.ops);
      for (const [who, auth] of [["nobody", undefined], ["wrong", AUTH.wrong]] as const) {
        for (
          const path of ["/api/v1/services", "/api/v1/services/web", "/api/v1/services/events"]
        ) {
          const res = await fetch(`${master.url}${path}`, {
            headers: auth ? { Authorization: auth } : {},
          });
          const text = await res.text();
          assert.equal(res.status, 401, `${who} ${path}`);
          assert.match(res.headers.get("WWW-Authenticate") ?? "", /^Basic realm="mesos"/);
          assert.doesNotMatch(text, /web|db|secret/);
        }
      }
      // Filtered: alice sees web's service only, mallory none; filtering is no 403.
      assert.deepEqual((await services(master, AUTH.alice)).ids, ["web.svc:1"]);
      const mallory = await services(master, AUTH.mallory);
      assert.equal(mallory.status, 200);
      assert.deepEqual(mallory.ids, []);
      const one = (name: string, auth: string) =>
        fetch(`${master.url}/api/v1/services/${name}`, { headers: { Authorization: auth } })
          .then(async (r) => ({ status: r.status, text: await r.text() }));
      assert.equal((await one("web", AUTH.alice)).status, 200);
      const hidden = await one("db", AUTH.alice);
      assert.equal(hidden.status, 404, "a hidden service is answered as a missing one");
      assert.equal(hidden.text, 'Service "db" is not in the catalog');
      assert.equal((await one("db", AUTH.ops)).status, 200);
      const metrics = async (auth: string) =>
        await (await fetch(`${master.url}/metrics`, { headers: { Authorization: auth } })).text();
      assert.doesNotMatch(
        await metrics(AUTH.ops),
        /tender_http_forbidden_total\{action="view_tasks"\}/,
      );
      // Series labelled with a framework follow view_frameworks too (found by the fuzz suite).
      assert.match(await metrics(AUTH.ops), /tender_framework_dominant_share\{[^}]*name="svc"\}/);
      assert.doesNotMatch(await metrics(AUTH.mallory), /name="svc"/);

      // alice's stream: a snapshot of web only; a db task launched then a web one: only web's.
      const res = await fetch(`${master.url}/api/v1/services/events`, {
        headers: { Authorization: AUTH.alice },
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const next = sseEvents(reader);
      try {
        const snapshot = await next();
        assert.equal(snapshot.event, "snapshot");
        assert.deepEqual(serviceIds(snapshot.data), ["web.svc"]);
        launch("cache", "db");
        await catalogShows(master, ["cache.svc:1", "db.svc:1", "web.svc:1"], AUTH.ops);
        launch("api", "web");
        await catalogShows(master, ["api.svc:1", "cache.svc:1", "db.svc:1", "web.svc:1"], AUTH.ops);
        const seen = new Set<string>();
        while (!seen.has("api.svc")) {
          const { data } = await next();
          const { changes } = data as { changes: { service?: { id: string } }[] };
          for (const c of changes) seen.add(c.service?.id ?? "");
        }
        assert.deepEqual([...seen], ["api.svc"], "nothing of cache (user db) reached alice");
      } finally {
        await reader.cancel();
      }
      assert.deepEqual((await services(master, AUTH.alice)).ids, ["api.svc:1", "web.svc:1"]);
    },
  );
});

function serviceIds(data: unknown): string[] {
  return (data as { services: { id: string }[] }).services.map((s) => s.id);
}

/** The SSE events of a stream, one at a time (comments skipped); each waits at most 30 s. */
function sseEvents(reader: ReadableStreamDefaultReader<Uint8Array>) {
  const queue: SseEvent[] = [];
  const parser = new SseParser();
  return async () => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reader.cancel().catch(() => {});
    }, 30_000);
    try {
      while (queue.length === 0) {
        const { value, done } = await reader.read();
        if (done) throw new Error(late ? "no event within 30 s" : "the stream ended");
        queue.push(...parser.push(value));
      }
      return queue.shift()!;
    } finally {
      clearTimeout(timer);
    }
  };
}

Deno.test("master: --dns-host binds DNS apart from the API (DNS answers anyone who reaches it)", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-dns-host-" });
  const master = await startMaster({
    port: 0,
    workDir,
    host: "127.0.0.1",
    dnsPort: 0,
    dnsHost: "127.0.0.2",
  });
  try {
    const port = master.dnsPort!;
    const conn = await Deno.connect({ hostname: "127.0.0.2", port });
    conn.close();
    await assert.rejects(
      () => Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    await master.stop();
    await Deno.remove(workDir, { recursive: true });
  }
});
