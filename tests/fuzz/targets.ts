/**
 * What the fuzz suite attacks: each target starts one server part in memory (over its own work
 * dir), generates requests against it, and tells its durable state so a refused request can be
 * checked to have changed nothing.
 */
import fc from "fast-check";
import { resolve } from "node:path";
import { sandboxPath } from "../../agent/task_spec.ts";
import { agentApp } from "../../agent/http.ts";
import { CatalogStore } from "../../master/discovery/mod.ts";
import { decodeMessage } from "../../master/discovery/dns/message.ts";
import { respond } from "../../master/discovery/dns/server.ts";
import { masterApp } from "../../master/http/app.ts";
import { DEFAULT_MASTER_OPTIONS, MasterRuntime } from "../../master/mod.ts";
import { MasterStore } from "../../master/store/master_store.ts";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { createApp as registryApp } from "../../registry/app.ts";
import { openRegistry } from "../../registry/server.ts";
import { startRouter } from "../../router/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { inMemoryMarathon } from "../support/marathon_in_memory.ts";
import {
  type FuzzRequest,
  hostileString,
  jsonBodies,
  oversizedBody,
  pathSegment,
} from "./inputs.ts";

/** What a request got: its status, and its body where the target read it. */
export interface Outcome {
  status: number;
  body?: string;
}

/** A target, running. */
export interface Running {
  /** Sends one request; resolves with the HTTP status (DNS: 200 answered, 204 dropped). */
  send(req: FuzzRequest): Promise<number | Outcome>;
  /** A digest of the durable state, compared around refused requests. */
  state(): Promise<string>;
  /** Problems noticed besides statuses (a path outside the work dir). */
  violations: string[];
  stop(): Promise<void>;
}

/** One API under fuzz. */
export interface Target {
  name: string;
  inputs: fc.Arbitrary<FuzzRequest>;
  /** Statuses that count as failures; default every 5xx. */
  isFailure?: (status: number) => boolean;
  /** Set for targets served with credentials and ACLs: what their hostile callers must not get. */
  secure?: SecureExpectations;
  start(workDir: string): Promise<Running>;
}

/**
 * The promises of a server with security on, to callers that are anonymous, give a wrong secret
 * or a malformed `Authorization`, or are authenticated but refused by every ACL: they never get
 * a 2xx (outside the routes open by design) and change nothing; the refused caller's 2xx reads
 * hold nothing its view ACLs hide; no answer and no log line holds a secret.
 */
export interface SecureExpectations {
  /** Text no response body or log line may hold: secrets and the `Authorization` values sent. */
  secrets: string[];
  /** Text a refused caller's 2xx answers may not hold (what the view ACLs hide from it). */
  hidden: string[];
  /** Routes open to anyone by design (`/health`, `/ping`, `/master/redirect`). */
  open(req: FuzzRequest): boolean;
}

export const JSON_TYPE = { "Content-Type": "application/json" };
const CONN = { remoteAddr: { hostname: "127.0.0.1", port: 40000, transport: "tcp" } };

export async function answer(res: Response | Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel().catch(() => {});
  return r.status;
}

export async function kvDigest(kv: DenoKvStore, prefixes: string[][]): Promise<string> {
  const parts: string[] = [];
  for (const prefix of prefixes) {
    for await (const e of kv.list(prefix)) parts.push(`${JSON.stringify(e.key)}@${e.versionstamp}`);
  }
  return parts.join("\n");
}

function post(path: string, bodies: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> {
  return bodies.map((body) => ({ method: "POST", path, headers: JSON_TYPE, body }));
}

const oversized = (path: string) =>
  oversizedBody.map((body): FuzzRequest => ({ method: "POST", path, headers: JSON_TYPE, body }));

// ---- master: scheduler, agent and operator APIs ----------------------------------------------

export const RESOURCES = Resources.parse("cpus:2;mem:512;ports:[31000-31010]").toMesos();
export const AGENT_CALLS = [
  {
    type: "SUBSCRIBE",
    subscribe: { agent_info: { hostname: "h1", port: 5051, resources: RESOURCES }, tasks: [] },
  },
  {
    type: "UPDATE",
    agent_id: { value: "agent-1" },
    update: {
      framework_id: { value: "fw-1" },
      status: { task_id: { value: "t1" }, state: "TASK_RUNNING", uuid: "dXVpZA==" },
    },
  },
  { type: "HEARTBEAT", agent_id: { value: "agent-1" } },
];
export const SCHEDULER_CALLS = [
  { type: "SUBSCRIBE", subscribe: { framework_info: { user: "u", name: "fuzz", roles: ["*"] } } },
  {
    type: "ACCEPT",
    framework_id: { value: "fw-1" },
    accept: {
      offer_ids: [{ value: "o-1" }],
      operations: [{
        type: "LAUNCH",
        launch: {
          task_infos: [{
            name: "t",
            task_id: { value: "t1" },
            agent_id: { value: "agent-1" },
            resources: RESOURCES,
            command: { value: "true" },
          }],
        },
      }],
    },
  },
  { type: "DECLINE", framework_id: { value: "fw-1" }, decline: { offer_ids: [{ value: "o" }] } },
  { type: "KILL", framework_id: { value: "fw-1" }, kill: { task_id: { value: "t1" } } },
  { type: "RECONCILE", framework_id: { value: "fw-1" }, reconcile: { tasks: [] } },
  { type: "TEARDOWN", framework_id: { value: "fw-1" } },
  { type: "REVIVE", framework_id: { value: "fw-1" }, revive: { roles: ["*"] } },
];
export const OPERATOR_CALLS = [
  { type: "GET_STATE" },
  { type: "GET_AGENTS" },
  { type: "DRAIN_AGENT", drain_agent: { agent_id: { value: "agent-1" } } },
  { type: "REACTIVATE_AGENT", reactivate_agent: { agent_id: { value: "agent-1" } } },
];

async function startMasterTarget(): Promise<Running & { streams: ReadableStream[] }> {
  const kv = await DenoKvStore.open(":memory:");
  const runtime = await MasterRuntime.start(
    { store: new MasterStore(kv), clock: new FakeClock(), ids: new SequentialIds() },
    DEFAULT_MASTER_OPTIONS,
  );
  const app = masterApp(runtime);
  const streams: ReadableStream[] = [];
  return {
    streams,
    violations: [],
    async send(req) {
      const res = await app.request(req.path, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      }, CONN);
      // A successful SUBSCRIBE answers a stream: keep reading it, as a connected client would
      // (a client that left would let the master's timers remove its framework meanwhile).
      if (res.ok && res.body) void res.body.pipeTo(new WritableStream()).catch(() => {});
      else await res.body?.cancel().catch(() => {});
      return res.status;
    },
    async state() {
      // Settle first: a stream ended by an earlier input disconnects its owner a moment later.
      const digest = () =>
        kvDigest(kv, [["agents"], ["frameworks"], ["tasks"], ["removed_frameworks"]]);
      let last = "";
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 1));
        await runtime.read(() => {});
        const now = await digest();
        if (now === last) return now;
        last = now;
      }
      return last;
    },
    async stop() {
      await runtime.stop();
      kv.close();
    },
  };
}

export const masterScheduler: Target = {
  name: "master scheduler API",
  inputs: fc.oneof(
    { weight: 30, arbitrary: post("/api/v1/scheduler", jsonBodies(SCHEDULER_CALLS)) },
    { weight: 1, arbitrary: oversized("/api/v1/scheduler") },
  ),
  start: startMasterTarget,
};

export const masterAgent: Target = {
  name: "master agent API",
  inputs: fc.oneof(
    { weight: 30, arbitrary: post("/api/v1/agent", jsonBodies(AGENT_CALLS)) },
    { weight: 1, arbitrary: oversized("/api/v1/agent") },
  ),
  start: startMasterTarget,
};

export const masterOperator: Target = {
  name: "master operator API",
  inputs: fc.oneof(
    { weight: 10, arbitrary: post("/api/v1", jsonBodies(OPERATOR_CALLS)) },
    {
      weight: 5,
      arbitrary: fc.tuple(
        fc.constantFrom("GET", "POST", "PUT", "DELETE"),
        fc.constantFrom("/master/state", "/state.json", "/health", "/master/redirect", "/api/v1"),
        fc.array(pathSegment, { maxLength: 3 }),
      ).map(([method, base, rest]): FuzzRequest => ({
        method,
        path: [base, ...rest].join("/"),
        headers: {},
      })),
    },
  ),
  start: startMasterTarget,
};

// ---- agent API -------------------------------------------------------------------------------

export const agentApi: Target = {
  name: "agent API",
  inputs: fc.tuple(
    fc.constantFrom("GET", "POST", "DELETE"),
    pathSegment,
    fc.dictionary(fc.constantFrom("stream", "tail", "follow"), hostileString, { maxKeys: 3 }),
    fc.constantFrom("/tasks/$/logs", "/state", "/health", "/metrics", "/$"),
  ).map(([method, segment, query, shape]): FuzzRequest => ({
    method,
    path: `${shape.replace("$", segment)}?${new URLSearchParams(query)}`,
    headers: {},
  })),
  start(workDir) {
    const violations: string[] = [];
    const app = agentApp({
      state: () => ({ id: "a", tasks: [] }) as never,
      logs: (taskId) => {
        const path = resolve(sandboxPath(workDir, "fw", taskId));
        if (!path.startsWith(resolve(workDir) + "/")) violations.push(`sandbox path ${path}`);
        return Promise.resolve(undefined);
      },
    });
    return Promise.resolve({
      violations,
      send: (req) => answer(app.request(req.path, { method: req.method, headers: req.headers })),
      state: () => Promise.resolve(""),
      stop: () => Promise.resolve(),
    });
  },
};

// ---- Marathon v2 -----------------------------------------------------------------------------

export const APPS = [
  { id: "/shop/web", cmd: "serve", instances: 2, cpus: 0.1, mem: 32 },
  {
    id: "db",
    container: { docker: { image: "busybox" } },
    constraints: [["hostname", "LIKE", "h[0-9]+"]],
    labels: { HAPROXY_0_VHOST: "db.example" },
    portDefinitions: [{ port: 0, name: "http" }],
    healthChecks: [{ protocol: "HTTP", path: "/" }],
  },
];
export const PODS = [
  {
    id: "/shop/duo",
    containers: [
      {
        name: "web",
        exec: { command: { shell: "serve" } },
        resources: { cpus: 0.1, mem: 32 },
        endpoints: [{ name: "http", hostPort: 0, labels: { service_port: "10001" } }],
        volumeMounts: [{ name: "shared", mountPath: "shared" }],
        healthCheck: { http: { endpoint: "http", path: "/" } },
      },
      { name: "side", image: { id: "busybox" }, resources: { cpus: 0.1, mem: 16 } },
    ],
    volumes: [{ name: "shared" }],
    scaling: { instances: 2 },
    scheduling: { placement: { constraints: [{ fieldName: "hostname", operator: "UNIQUE" }] } },
  },
];
export const GROUPS = [
  { id: "/shop", apps: [{ id: "api", cmd: "serve" }], groups: [{ id: "inner" }] },
  { id: "../x", dependencies: ["/db"] },
];

export const marathon: Target = {
  name: "Marathon v2",
  inputs: fc.oneof(
    {
      weight: 10,
      arbitrary: fc.tuple(
        fc.constantFrom("POST", "PUT"),
        fc.constantFrom("/v2/apps", "/v2/apps/shop/web", "/v2/apps?force=true"),
        jsonBodies(APPS),
      ).map(([method, path, body]): FuzzRequest => ({ method, path, headers: JSON_TYPE, body })),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(
        fc.constantFrom("POST", "PUT"),
        fc.constantFrom("/v2/pods", "/v2/pods/shop/duo", "/v2/pods/shop/duo?force=true"),
        jsonBodies(PODS),
      ).map(([method, path, body]): FuzzRequest => ({ method, path, headers: JSON_TYPE, body })),
    },
    {
      weight: 6,
      arbitrary: fc.tuple(
        fc.constantFrom("POST", "PUT", "PATCH"),
        fc.constantFrom("/v2/groups", "/v2/groups/shop", "/v2/groups?force=true"),
        jsonBodies(GROUPS),
      ).map(([method, path, body]): FuzzRequest => ({ method, path, headers: JSON_TYPE, body })),
    },
    {
      weight: 6,
      arbitrary: fc.tuple(
        fc.constantFrom("GET", "DELETE", "POST", "PUT"),
        fc.constantFrom(
          "/v2/apps",
          "/v2/groups",
          "/v2/deployments",
          "/v2/queue",
          "/v2/tasks",
          "/v2/info",
          "/v2/apps/x/versions",
          "/v2/apps/x/tasks",
          "/v2/pods",
          "/v2/pods/::status",
          "/v2/pods/x::status",
          "/v2/pods/x::versions",
          "/v2/pods/x::instances",
        ),
        fc.array(pathSegment, { maxLength: 3 }),
      ).map(([method, base, rest]): FuzzRequest => ({
        method,
        path: [base, ...rest].join("/"),
        headers: {},
      })),
    },
    {
      weight: 1,
      arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }).map((yaml): FuzzRequest => ({
        method: "POST",
        path: "/v2/apps",
        headers: { "Content-Type": "application/yaml" },
        body: yaml,
      })),
    },
    { weight: 1, arbitrary: oversized("/v2/apps") },
  ),
  async start(workDir) {
    const kv = await DenoKvStore.open(`${workDir}/marathon.kv`);
    const m = inMemoryMarathon(kv);
    return {
      violations: [],
      send: (req) =>
        answer(m.request(req.path, { method: req.method, headers: req.headers, body: req.body })),
      state: () => kvDigest(kv, [["marathon"]]),
      stop() {
        m.close();
        kv.close();
        return Promise.resolve();
      },
    };
  },
};

// ---- registry v2 -----------------------------------------------------------------------------

const digestOf = async (bytes: Uint8Array) =>
  `sha256:${
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("")
  }`;

/** A registry request, or an upload sequence (POST, a truncated PATCH, PUT with a digest). */
export type RegistryInput = FuzzRequest | {
  upload: { content: Uint8Array; cut: number; digest: "right" | "wrong" | "garbage" };
};

export const registryInputs: fc.Arbitrary<RegistryInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      upload: fc.record({
        content: fc.uint8Array({ maxLength: 2048 }),
        cut: fc.nat(),
        digest: fc.constantFrom("right" as const, "wrong" as const, "garbage" as const),
      }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constantFrom("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"),
      fc.array(pathSegment, { minLength: 1, maxLength: 3 }),
      fc.constantFrom("manifests/latest", "blobs/uploads/", "tags/list", "blobs/sha256:00"),
      fc.option(jsonBodies([{ schemaVersion: 2, config: {}, layers: [] }])),
    ).map(([method, name, suffix, body]): FuzzRequest => ({
      method,
      path: `/v2/${name.join("/")}/${suffix}`,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      ...(body === null || method === "GET" || method === "HEAD" ? {} : { body }),
    })),
  },
);

export const registry: Target & { inputs: fc.Arbitrary<FuzzRequest> } = {
  name: "registry v2",
  // Upload sequences are turned into requests by `send`; the cast keeps one Target shape.
  inputs: registryInputs as fc.Arbitrary<FuzzRequest>,
  async start(workDir) {
    const opened = await openRegistry({ workDir: `${workDir}/registry` });
    const app = registryApp({ registry: opened.registry });
    const call = (path: string, init: RequestInit) => app.request(`http://localhost${path}`, init);
    return {
      violations: [],
      async send(req) {
        const input = req as RegistryInput;
        if (!("upload" in input)) {
          return await answer(call(input.path, {
            method: input.method,
            headers: input.headers,
            body: input.body,
          }));
        }
        const { content, cut, digest } = input.upload;
        const started = await call("/v2/fuzz/blobs/uploads/", { method: "POST" });
        await started.body?.cancel();
        if (started.status >= 500) return started.status;
        const location = started.headers.get("Location") ?? "";
        const sent = new Uint8Array(content.subarray(0, cut % (content.length + 1)));
        const patched = await answer(call(location, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream" },
          body: sent,
        }));
        if (patched >= 500) return patched;
        const d = digest === "garbage"
          ? "sha256:zz"
          : await digestOf(digest === "right" ? content : new Uint8Array([1, ...content]));
        const sep = location.includes("?") ? "&" : "?";
        return await answer(call(`${location}${sep}digest=${encodeURIComponent(d)}`, {
          method: "PUT",
        }));
      },
      state: () => Promise.resolve(""),
      stop: () => Promise.resolve(opened.close()),
    };
  },
};

// ---- DNS -------------------------------------------------------------------------------------

/** A valid query for `name`, type A. */
export function query(name: string): Uint8Array<ArrayBuffer> {
  const labels = name.split(".").flatMap((l) => {
    const bytes = new TextEncoder().encode(l);
    return [bytes.length & 0xff, ...bytes];
  });
  return new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, 1, 0, 1]);
}

/** Random datagrams, and queries for hostile names with one byte changed. */
export const dnsPackets: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => new Uint8Array(b)),
  fc.tuple(hostileString, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([name, at, b]) => {
    const bytes = query(name.slice(0, 300) || "web.marathon.tender");
    bytes[at % bytes.length] = b;
    return new Uint8Array(bytes);
  }),
).map((bytes): FuzzRequest => ({ method: "DNS", path: "", headers: {}, body: bytes }));

const dns: Target = {
  name: "DNS packets",
  inputs: dnsPackets,
  start() {
    const source = new CatalogStore();
    return Promise.resolve({
      violations: [],
      send(req) {
        const out = respond(req.body as Uint8Array, {
          source,
          domain: "tender",
          ttl: 5,
          udp: true,
        });
        if (out === undefined) return Promise.resolve(204);
        if (out.length >= 12) {
          try {
            decodeMessage(out);
          } catch {
            return Promise.resolve(500); // an answer we cannot read back
          }
        }
        return Promise.resolve(200);
      },
      state: () => Promise.resolve(""),
      stop: () => Promise.resolve(),
    });
  },
};

// ---- router ----------------------------------------------------------------------------------

export const router: Target = {
  name: "router",
  // The router answers 502/503/504 when no backend serves a host: that is its job, not a fault.
  isFailure: (status) => status >= 500 && ![502, 503, 504].includes(status),
  inputs: fc.tuple(
    fc.constantFrom("GET", "POST", "DELETE", "OPTIONS"),
    fc.oneof(hostileString, fc.constantFrom("web.localhost", "localhost", "[::1]", "")),
    fc.array(pathSegment, { maxLength: 3 }),
  ).map(([method, host, rest]): FuzzRequest => ({
    method,
    path: "/" + rest.join("/"),
    headers: { "X-Fuzz-Host": host },
  })),
  async start() {
    const r = await startRouter({ source: new CatalogStore(), httpPort: 0 });
    return {
      violations: [],
      async send(req) {
        // Host is what the router routes on; fetch sets it from the URL, so a raw socket is used
        // for hosts fetch refuses, and fetch for the rest.
        const host = req.headers["X-Fuzz-Host"] ?? "";
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: r.httpPort });
        try {
          const line = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${
            host.replace(/[\r\n]/g, "")
          }\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
          await conn.write(new TextEncoder().encode(line));
          const buf = new Uint8Array(64);
          const n = await conn.read(buf);
          const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "400");
          return status;
        } finally {
          conn.close();
        }
      },
      state: () => Promise.resolve(""),
      stop: () => r.close(),
    };
  },
};

/** Every target, in the order the suite runs them. */
export const TARGETS: Target[] = [
  masterScheduler,
  masterAgent,
  masterOperator,
  agentApi,
  marathon,
  registry,
  dns,
  router,
];
