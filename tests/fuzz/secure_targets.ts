/**
 * The fuzz suite's targets served with security on: credentials, ACLs that refuse the principal
 * `mallory` everything, and every authentication switch; the router's admin endpoints over TLS.
 * Each starts with state owned by an allowed principal (a framework and agent at the master, an
 * app in Marathon, a repository in the registry, a task at the agent), then takes only hostile
 * callers — anonymous, a wrong secret, a malformed `Authorization`, or mallory — whose requests
 * must change nothing, get no 2xx outside the open routes, show nothing the ACLs hide, and never
 * bring a secret back in an answer or a log line (`SecureExpectations`).
 */
import fc from "fast-check";
import { agentApp } from "../../agent/http.ts";
import { EventBus } from "../../frameworks/marathon/events/event_bus.ts";
import { marathonApi } from "../../frameworks/marathon/api/api.ts";
import { MarathonService } from "../../frameworks/marathon/service/marathon_service.ts";
import { MarathonStore } from "../../frameworks/marathon/store/store.ts";
import { lead } from "../../master/mod.ts";
import { MasterStore } from "../../master/store/master_store.ts";
import { DEFAULT_MASTER_OPTIONS } from "../../master/mod.ts";
import { FakeClock, SequentialIds } from "../../protocol/mod.ts";
import { createApp as registryApp } from "../../registry/app.ts";
import { Authenticator } from "../../registry/auth.ts";
import { openRegistry } from "../../registry/server.ts";
import { CatalogStore } from "../../master/discovery/mod.ts";
import { startRouter } from "../../router/mod.ts";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../../security/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { makeCerts } from "../support/certs.ts";
import { type FuzzRequest, type Identity, pathSegment } from "./inputs.ts";
import {
  AGENT_CALLS,
  agentApi,
  JSON_TYPE,
  kvDigest,
  marathon,
  masterAgent,
  masterOperator,
  masterScheduler,
  type Outcome,
  registryInputs,
  router,
  type Running,
  type Target,
} from "./targets.ts";

// Distinct, greppable secrets: none may come back in an answer or a log line.
const SECRETS = {
  owner: "s3cret-owner-4f9b1c",
  agent: "s3cret-agent-77d2e0",
  mallory: "s3cret-mallory-a81c3f",
  wrong: "s3cret-wrong-5e2d90",
};
const CREDENTIALS = parseCredentials(JSON.stringify({
  credentials: [
    { principal: "owner", secret: SECRETS.owner },
    { principal: "agent", secret: SECRETS.agent },
    { principal: "mallory", secret: SECRETS.mallory },
  ],
}));
const OWNER = basicHeader("owner", SECRETS.owner);
const AGENT = basicHeader("agent", SECRETS.agent);
const MALLORY = basicHeader("mallory", SECRETS.mallory);
const WRONG = basicHeader("owner", SECRETS.wrong);
/** The secrets, and the `Authorization` values that carry them (base64 hides nothing). */
const FORBIDDEN = [
  ...Object.values(SECRETS),
  ...[OWNER, AGENT, MALLORY, WRONG].map((h) => h.slice("Basic ".length)),
];

/** What mallory's view ACLs hide: the names the owner's state carries. */
const PRIVATE = { user: "private-user-x7", framework: "private-framework-x7", app: "private-x7" };

/** Every action the suite's servers check, allowed to owner (and agent), mallory to none. */
const ACLS = {
  permissive: false,
  register_frameworks: [{ principals: { values: ["owner"] }, roles: { type: "ANY" } }],
  run_tasks: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  register_agents: [{ principals: { values: ["agent"] }, agents: { type: "ANY" } }],
  view_frameworks: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  view_tasks: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  access_sandboxes: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  teardown_frameworks: [{
    principals: { values: ["owner"] },
    framework_principals: { type: "ANY" },
  }],
  drain_agents: [{ principals: { values: ["owner"] }, agents: { type: "ANY" } }],
  reactivate_agents: [{ principals: { values: ["owner"] }, agents: { type: "ANY" } }],
  view_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  create_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  update_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  delete_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  pull_images: [{ principals: { values: ["owner"] }, repositories: { type: "ANY" } }],
  push_images: [{ principals: { values: ["owner"] }, repositories: { type: "ANY" } }],
};

function security(): ServerSecurity {
  return new ServerSecurity({ credentials: CREDENTIALS, acls: parseAcls(JSON.stringify(ACLS)) });
}

/** Printable ASCII (what a header value may hold), for malformed `Authorization` values. */
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);

const malformed: fc.Arbitrary<string> = fc.oneof(
  headerText,
  headerText.map((t) => `Basic ${t}`),
  headerText.map((t) => `Bearer ${t}`),
  headerText.map((t) => `Basic ${btoa(t)}`),
  fc.constantFrom(
    "Basic",
    "Basic ",
    `Basic ${btoa("owner")}`,
    `Basic ${btoa(":")}`,
    `Basic ${btoa("owner:")}`,
    `Basic ${btoa(`:${SECRETS.owner}`)}`,
    `basic ${btoa(`mallory:${SECRETS.owner}`)}`,
    `Basic ${btoa(`owner:${"x".repeat(4000)}`)}`,
    `Bearer ${"a".repeat(3000)}`,
    "Digest username=owner",
    `Basic ${OWNER.slice(6)}, Basic ${MALLORY.slice(6)}`,
  ),
);

/** Gives each request a hostile caller: its `Authorization`, its kind and its address. */
function withIdentity(requests: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(
    requests,
    fc.constantFrom<Identity>("anonymous", "wrong secret", "malformed", "denied"),
    malformed,
    fc.integer({ min: 1, max: 254 }),
  ).map(([req, as, garbage, host]) => {
    const authorization = as === "anonymous"
      ? undefined
      : as === "wrong secret"
      ? WRONG
      : as === "malformed"
      ? garbage
      : MALLORY;
    const headers = { ...req.headers };
    delete headers["Authorization"];
    if (authorization !== undefined) headers["Authorization"] = authorization;
    return { ...req, headers, as, from: `10.0.0.${host}` };
  });
}

const conn = (req: FuzzRequest) => ({
  remoteAddr: { hostname: req.from ?? "127.0.0.1", port: 40000, transport: "tcp" },
});

/** The answer's status and body; a stream (SSE, RecordIO) is cancelled unread. */
async function outcomeOf(res: Response): Promise<Outcome> {
  const type = res.headers.get("Content-Type") ?? "";
  if (res.headers.has("Mesos-Stream-Id") || type.startsWith("text/event-stream")) {
    await res.body?.cancel().catch(() => {});
    return { status: res.status };
  }
  // The operator SUBSCRIBE stream is JSON too, and never ends: read a bounded part of any body.
  return { status: res.status, body: await readSome(res, 4 << 20) };
}

/** Reads a body up to `limit` bytes (a stream that does not end is cut there, or after 2 s). */
async function readSome(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 2000);
  try {
    while (size < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // cancelled: what was read is the answer
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c.subarray(0, Math.min(c.length, size - at)), at);
    at += c.length;
    if (at >= size) break;
  }
  return new TextDecoder().decode(all);
}

// ---- master ----------------------------------------------------------------------------------

const MASTER_OPEN = new Set(["/health", "/master/health", "/master/redirect"]);

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
  name: "master (security on)",
  secure: {
    secrets: FORBIDDEN,
    hidden: [PRIVATE.framework, PRIVATE.user],
    open: (req) => MASTER_OPEN.has(req.path.split("?")[0]!),
  },
  inputs: withIdentity(fc.oneof(
    { weight: 4, arbitrary: masterScheduler.inputs },
    { weight: 3, arbitrary: masterAgent.inputs },
    { weight: 4, arbitrary: masterOperator.inputs },
    { weight: 4, arbitrary: masterReads },
  )),
  async start(): Promise<Running> {
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
    const owned: ReadableStream[] = [];
    const call = (path: string, init: RequestInit, from?: FuzzRequest) =>
      app.request(path, init, conn(from ?? { method: "", path: "", headers: {} }));
    // The owner's agent and framework, whose streams stay open as connected clients' would.
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
      const res = await call(path, {
        method: "POST",
        headers: { ...JSON_TYPE, Authorization: authorization },
        body: JSON.stringify(body),
      });
      if (res.status !== 200 || !res.body) {
        throw new Error(`seeding ${path} answered ${res.status}: ${await res.text()}`);
      }
      owned.push(res.body);
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
        const res = await call(
          aim(req.path),
          { method: req.method, headers: req.headers, body },
          req,
        );
        return await outcomeOf(res);
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
            [
              "removed_frameworks",
            ],
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
        for (const s of owned) await s.cancel().catch(() => {});
        await leading.stop();
        kv.close();
      },
    };
  },
};

// ---- agent API -------------------------------------------------------------------------------

const agentSecure: Target = {
  name: "agent API (security on)",
  secure: {
    secrets: FORBIDDEN,
    hidden: [PRIVATE.user, "private-task"],
    open: (req) => req.path.split("?")[0] === "/health",
  },
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
  name: "Marathon v2 (security on)",
  secure: {
    secrets: FORBIDDEN,
    hidden: [PRIVATE.app],
    open: (req) => req.path.split("?")[0] === "/ping",
  },
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
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const events = new EventBus(clock);
    const store = new MarathonStore(kv);
    const service = new MarathonService({ store, clock, ids: new SequentialIds(), events });
    const api = marathonApi({
      service,
      events,
      clock,
      security: security(),
      info: { leader: "127.0.0.1:8080", master: "http://m", frameworkId: () => "fw", httpPort: 1 },
    });
    const call = (req: FuzzRequest) =>
      api.request(`http://localhost${req.path}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      }, conn(req));
    const seeded = await call({
      method: "POST",
      path: "/v2/apps",
      headers: { ...JSON_TYPE, Authorization: OWNER },
      body: JSON.stringify({ id: `/${PRIVATE.app}`, cmd: "serve", instances: 1, cpus: 0.1 }),
    });
    if (seeded.status !== 201) {
      throw new Error(`seeding Marathon answered ${seeded.status}: ${await seeded.text()}`);
    }
    return {
      violations: [],
      send: async (req) => await outcomeOf(await call(req)),
      state: () => kvDigest(kv, [["marathon"]]),
      stop() {
        events.close();
        kv.close();
        return Promise.resolve();
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
  name: "registry v2 (security on)",
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
    const call = (req: FuzzRequest) =>
      app.request(`http://localhost${req.path}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      }, conn(req));
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
      stop() {
        kv.close();
        opened.close();
        return Promise.resolve();
      },
    };
  },
};

// ---- router admin, over TLS ------------------------------------------------------------------

const routerSecure: Target = {
  name: "router admin (TLS, security on)",
  secure: { secrets: FORBIDDEN, hidden: [], open: () => false },
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
];
