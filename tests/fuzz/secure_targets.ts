/**
 * The fuzz suite's targets served with security on: credentials, ACLs that refuse the principal
 * `mallory` everything, and every authentication switch. The master, Marathon, the registry,
 * the jobs API (`jobs_targets.ts`) and the router's admin endpoints are served over real TLS with
 * a CA made for the run (`tls_server.ts`; the agent API stays in memory), and the master's DNS
 * (`dns_secure_target.ts`) over real UDP and TCP. Each starts with state owned by an allowed
 * principal (a framework and agent at the master, an app in Marathon, a repository in the
 * registry, a job, a task at the agent), then takes only hostile callers
 * (`hostile_callers.ts`) — anonymous, a wrong secret, a malformed `Authorization`, or mallory —
 * whose requests must change nothing, get no 2xx outside the open routes, show nothing the ACLs
 * hide, and never bring a secret back in an answer or a log line (`SecureExpectations`).
 */
import fc from "fast-check";
import { agentApp } from "../../agent/http.ts";
import { lead } from "../../master/mod.ts";
import { MasterStore } from "../../master/store/master_store.ts";
import { DEFAULT_MASTER_OPTIONS } from "../../master/mod.ts";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { createApp as registryApp } from "../../registry/app.ts";
import { Authenticator } from "../../registry/auth.ts";
import { openRegistry } from "../../registry/server.ts";
import { CatalogStore } from "../../master/discovery/mod.ts";
import { startRouter } from "../../router/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { makeCerts } from "../support/certs.ts";
import { inMemoryMarathon } from "../support/marathon_in_memory.ts";
import { DNS_SECURE_TARGET } from "./dns_secure_target.ts";
import {
  AGENT,
  conn,
  expectations,
  FORBIDDEN,
  outcomeOf,
  OWNER,
  PRIVATE,
  security,
  withIdentity,
} from "./hostile_callers.ts";
import { type FuzzRequest, pathSegment } from "./inputs.ts";
import { JOBS_SECURE_TARGET } from "./jobs_targets.ts";
import {
  AGENT_CALLS,
  agentApi,
  JSON_TYPE,
  kvDigest,
  marathon,
  masterAgent,
  masterOperator,
  masterScheduler,
  registryInputs,
  router,
  type Running,
  type Target,
} from "./targets.ts";
import { serveOverTls } from "./tls_server.ts";

// ---- master ----------------------------------------------------------------------------------

const MASTER_OPEN = ["/health", "/master/health", "/master/redirect"];

const masterReads: fc.Arbitrary<FuzzRequest> = fc.tuple(
  fc.constantFrom("GET", "POST", "DELETE"),
  fc.constantFrom(
    "/master/state",
    "/master/tasks",
    "/master/frameworks",
    "/state.json",
    "/metrics",
    "/metrics/snapshot",
    "/",
    "/dashboard/api/summary",
    "/dashboard/events",
    "/dashboard/logs/agent-1/t1",
    "/api/v1/services",
    "/api/v1/services/events",
    "/api/v1/services/private",
    "/roles",
    "/flags",
    "/quota",
    "/maintenance/schedule",
    "/health",
    "/master/redirect",
  ),
  fc.array(pathSegment, { maxLength: 2 }),
).map(([method, base, rest]): FuzzRequest => ({
  method,
  path: [base, ...rest].join("/"),
  headers: {},
}));

const masterSecure: Target = {
  name: "master (TLS, security on)",
  secure: expectations([PRIVATE.framework, PRIVATE.user], MASTER_OPEN),
  inputs: withIdentity(fc.oneof(
    { weight: 4, arbitrary: masterScheduler.inputs },
    { weight: 3, arbitrary: masterAgent.inputs },
    { weight: 4, arbitrary: masterOperator.inputs },
    { weight: 4, arbitrary: masterReads },
  )),
  async start(workDir): Promise<Running> {
    const kv = await DenoKvStore.open(":memory:");
    const store = new MasterStore(kv);
    const guard = security();
    const leading = await lead(store, { ...DEFAULT_MASTER_OPTIONS }, {
      workDir: "unused",
      clock: new FakeClock(Date.UTC(2026, 0, 1)),
      ids: new SequentialIds(),
      security: guard,
      authenticate: { frameworks: true, agents: true, httpReadonly: true, httpReadwrite: true },
    });
    const { app, runtime } = leading;
    const served = await serveOverTls(workDir, app);
    // The owner's agent and framework, whose streams stay open as connected clients' would.
    const owned = new AbortController();
    for (
      const [path, authorization, body] of [
        ["/api/v1/agent", AGENT, AGENT_CALLS[0]],
        ["/api/v1/scheduler", OWNER, {
          type: "SUBSCRIBE",
          subscribe: {
            framework_info: { user: PRIVATE.user, name: PRIVATE.framework, roles: ["*"] },
          },
        }],
      ] as const
    ) {
      const res = await served.request({
        method: "POST",
        path,
        headers: { ...JSON_TYPE, Authorization: authorization },
        body: JSON.stringify(body),
      }, owned.signal);
      if (res.status !== 200 || !res.body) {
        throw new Error(`seeding ${path} answered ${res.status}: ${await res.text()}`);
      }
      void res.body.pipeTo(new WritableStream()).catch(() => {});
    }
    const ids = await runtime.read((m) => ({
      framework: [...m.frameworks.keys()][0]!,
      agent: [...m.agents.keys()][0]!,
    }));
    // The templates name fw-1 and agent-1: aim them at the owner's framework and agent.
    const aim = (text: string) =>
      text.replaceAll("fw-1", ids.framework).replaceAll("agent-1", ids.agent);
    return {
      violations: [],
      async send(req) {
        const body = typeof req.body === "string" ? aim(req.body) : req.body;
        return await outcomeOf(await served.request({ ...req, path: aim(req.path), body }));
      },
      async state() {
        let last = "";
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setTimeout(r, 1));
          await runtime.read(() => {});
          const now = await kvDigest(kv, [
            ["agents"],
            ["frameworks"],
            ["tasks"],
            ["removed_frameworks"],
            ["quota"],
            ["weights"],
            ["maintenance"],
          ]);
          if (now === last) return now;
          last = now;
        }
        return last;
      },
      async stop() {
        owned.abort();
        await leading.stop();
        await served.stop();
        kv.close();
      },
    };
  },
};

// ---- agent API -------------------------------------------------------------------------------

const agentSecure: Target = {
  name: "agent API (security on)",
  secure: expectations([PRIVATE.user, "private-task"], ["/health"]),
  inputs: withIdentity(fc.oneof(
    agentApi.inputs,
    fc.constantFrom("/state", "/tasks/private-task/logs", "/monitor/statistics").map((
      path,
    ): FuzzRequest => ({ method: "GET", path, headers: {} })),
  )),
  start() {
    const task = { id: "private-task", user: PRIVATE.user, state: "TASK_RUNNING" };
    const app = agentApp(
      {
        state: () => ({ id: "a", tasks: [task] }) as never,
        logs: () => Promise.resolve(new Response(`output of ${PRIVATE.user}`).body!),
      },
      undefined,
      { security: security(), readonly: true },
    );
    return Promise.resolve({
      violations: [],
      send: async (req) =>
        await outcomeOf(
          await app.request(req.path, { method: req.method, headers: req.headers }, conn(req)),
        ),
      state: () => Promise.resolve(""),
      stop: () => Promise.resolve(),
    });
  },
};

// ---- Marathon v2 -----------------------------------------------------------------------------

const marathonSecure: Target = {
  name: "Marathon v2 (TLS, security on)",
  secure: expectations([PRIVATE.app], ["/ping"]),
  inputs: withIdentity(fc.oneof(
    { weight: 6, arbitrary: marathon.inputs },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "/v2/apps",
        `/v2/apps/${PRIVATE.app}`,
        `/v2/apps/${PRIVATE.app}/tasks`,
        "/v2/groups",
        "/v2/deployments",
        "/v2/queue",
        "/v2/tasks",
        "/v2/info",
        "/v2/pods",
        "/v2/events",
        "/ping",
      ).map((path): FuzzRequest => ({ method: "GET", path, headers: {} })),
    },
  )),
  async start(workDir) {
    const kv = await DenoKvStore.open(`${workDir}/marathon.kv`);
    const m = inMemoryMarathon(kv, { security: security() });
    const served = await serveOverTls(workDir, m.api);
    const seeded = await served.request({
      method: "POST",
      path: "/v2/apps",
      headers: { ...JSON_TYPE, Authorization: OWNER },
      body: JSON.stringify({ id: `/${PRIVATE.app}`, cmd: "serve", instances: 1, cpus: 0.1 }),
    });
    if (seeded.status !== 201) {
      throw new Error(`seeding Marathon answered ${seeded.status}: ${await seeded.text()}`);
    }
    await seeded.body?.cancel();
    return {
      violations: [],
      send: async (req) => await outcomeOf(await served.request(req)),
      state: () => kvDigest(kv, [["marathon"]]),
      async stop() {
        m.close();
        await served.stop();
        kv.close();
      },
    };
  },
};

// ---- registry v2 -----------------------------------------------------------------------------

async function treeDigest(dir: string, skip: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (skip(e.name)) continue;
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(`${path}/`, ...await treeDigest(path, skip));
    else out.push(`${path} ${(await Deno.stat(path)).size}`);
  }
  return out.sort();
}

const registrySecure: Target = {
  name: "registry v2 (TLS, security on)",
  secure: {
    secrets: FORBIDDEN,
    hidden: [PRIVATE.app],
    // Docker's token endpoint gives anyone a token, holding only the scopes the ACLs grant the
    // caller (none here): that is the token flow, not a breach; what the token buys is fuzzed
    // with the rest.
    open: (req) => req.path.startsWith("/auth/token"),
  },
  inputs: withIdentity(fc.oneof(
    { weight: 5, arbitrary: registryInputs.filter((r): r is FuzzRequest => !("upload" in r)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "/v2/",
        "/v2/_catalog",
        `/v2/${PRIVATE.app}/tags/list`,
        `/v2/${PRIVATE.app}/manifests/latest`,
        `/auth/token?service=tender-registry&scope=repository:${PRIVATE.app}:pull,push`,
      ).map((path): FuzzRequest => ({ method: "GET", path, headers: {} })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        [`/v2/${PRIVATE.app}/blobs/uploads/`, "POST"],
        [`/v2/${PRIVATE.app}/manifests/latest`, "DELETE"],
        [`/v2/${PRIVATE.app}/blobs/uploads/?mount=sha256:00&from=${PRIVATE.app}`, "POST"],
        ["/admin/gc", "POST"],
      ).map(([path, method]): FuzzRequest => ({ method: method!, path: path!, headers: {} })),
    },
  )),
  async start(workDir) {
    const dir = `${workDir}/registry`;
    const opened = await openRegistry({ workDir: dir });
    const auth = new Authenticator({ security: security(), anonymousPull: false }, Date.now);
    const app = registryApp({ registry: opened.registry, auth });
    const served = await serveOverTls(workDir, app);
    const call = (req: FuzzRequest) => served.request(req);
    // The owner's repository: one blob pushed in a single POST.
    const blob = new TextEncoder().encode(`layer of ${PRIVATE.app}`);
    const digest = `sha256:${
      Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", blob)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("")
    }`;
    const pushed = await call({
      method: "POST",
      path: `/v2/${PRIVATE.app}/blobs/uploads/?digest=${digest}`,
      headers: { Authorization: OWNER, "Content-Type": "application/octet-stream" },
      body: blob,
    });
    if (pushed.status !== 201) {
      throw new Error(`seeding the registry answered ${pushed.status}: ${await pushed.text()}`);
    }
    await pushed.body?.cancel();
    const kv = await Deno.openKv(`${dir}/registry.kv`);
    return {
      violations: [],
      send: async (req) => await outcomeOf(await call(req)),
      async state() {
        const entries: string[] = [];
        for await (const e of kv.list({ prefix: [] })) {
          entries.push(`${JSON.stringify(e.key)}@${e.versionstamp}`);
        }
        const files = await treeDigest(dir, (name) => name.startsWith("registry.kv"));
        return [...entries, ...files].join("\n");
      },
      async stop() {
        await served.stop();
        kv.close();
        opened.close();
      },
    };
  },
};

// ---- router admin, over TLS ------------------------------------------------------------------

const routerSecure: Target = {
  name: "router admin (TLS, security on)",
  secure: expectations([], []),
  // Past the admin routes (GET only) a request is app traffic: no backend is a 502/503/504.
  isFailure: router.isFailure,
  inputs: withIdentity(
    fc.tuple(
      fc.constantFrom("GET", "GET", "GET", "POST", "DELETE"),
      fc.constantFrom("/_router/state", "/metrics"),
      fc.array(pathSegment, { maxLength: 1 }),
    ).map(([method, path, rest]): FuzzRequest => ({
      method,
      path: rest.length === 0 ? path : `${path}?x=${rest[0]}`,
      headers: {},
    })),
  ),
  async start(workDir) {
    const certs = await makeCerts(`${workDir}/certs`);
    const r = await startRouter({
      source: new CatalogStore(),
      httpPort: 0,
      security: security(),
      tls: { cert: await Deno.readTextFile(certs.cert), key: await Deno.readTextFile(certs.key) },
    });
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    return {
      violations: [],
      async send(req) {
        const res = await fetch(`https://127.0.0.1:${r.httpPort}${req.path}`, {
          method: req.method,
          headers: req.headers,
          client,
        });
        return { status: res.status, body: await res.text() };
      },
      state: () => Promise.resolve(""),
      async stop() {
        client.close();
        await r.close();
      },
    };
  },
};

/** The targets served with security on, run after the open ones. */
export const SECURE_TARGETS: Target[] = [
  masterSecure,
  agentSecure,
  marathonSecure,
  registrySecure,
  routerSecure,
  JOBS_SECURE_TARGET,
  DNS_SECURE_TARGET,
];
