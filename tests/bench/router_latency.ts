/**
 * Router benchmark, in one run: the same HTTP load straight to a backend, through the router's
 * HTTP virtual host, and through its TCP service port, for two backends:
 * - `container`: a real container of the test image (busybox httpd, as the discovery tests and
 *   examples/apps/web.json run it) on its published port 127.0.0.1:<hostPort>, which is how a
 *   client reaches a container straight and how the router reaches it (agent IP, host port).
 *   This is the comparison (target: p50 through the router ≤ 1.3 × direct).
 *   busybox httpd answers `Connection: close`, so every request opens a connection to it, as
 *   it would for any client.
 * - `deno`: a keep-alive Deno.serve backend process, to show the router's own hop cost against
 *   a backend far cheaper than a container behind docker-proxy.
 * A second router process terminates TLS on its virtual-host port (`--tls-cert/--tls-key`, as
 * `deno task dev --tls` runs it): `*_router_https` is the same load through it, over kept-alive
 * TLS connections trusting a throwaway dev CA, and `*_router_https_vs_router_http` what TLS adds
 * to a proxied request (p50, same run).
 * The backends and the routers each run in their own process; this process is the client.
 * Targets take turns in many short rounds, so a burst of load from elsewhere on the machine
 * hits all of them alike; each target's percentiles are over all its requests, its
 * throughput is its requests over the time it was loaded. Prints `metric value unit` lines.
 *
 *   deno run -A tests/bench/router_latency.ts [--requests 4000] [--connections 4] [--rounds 20]
 */
import { parseArgs } from "node:util";
import { CatalogStore } from "../../master/discovery/mod.ts";
import { startRouter } from "../../router/mod.ts";
import { HttpConnection, type RawResponse } from "../discovery_harness.ts";
import { makeCerts } from "../support/certs.ts";
import { loadTls } from "../../security/mod.ts";

const IMAGE = "tender-busybox:latest";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    role: { type: "string" },
    backends: { type: "string" },
    requests: { type: "string", default: "4000" },
    connections: { type: "string", default: "4" },
    rounds: { type: "string", default: "20" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
  },
});

/** A backend the router routes to: its port, the vhost and the service port for it. */
interface BenchBackend {
  name: string;
  port: number;
  vhost: string;
  /** None: the router gives it no service port. */
  servicePort?: number;
}

/** Child role: a backend answering a small body. */
function serveBackend(): void {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hello from the backend"),
  );
  console.log(JSON.stringify({ port: server.addr.port }));
}

/** Child role: a router whose catalog holds each backend, on a vhost and a service port. */
async function serveRouter(backends: BenchBackend[]): Promise<void> {
  const store = new CatalogStore();
  store.update(backends.map((b) => ({
    frameworkName: "marathon",
    taskId: `${b.name}.1`,
    taskName: b.name,
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: "localhost",
    agentIp: "127.0.0.1",
    hostPorts: [b.port],
    labels: {
      MARATHON_APP_ID: `/${b.name}`,
      TENDER_VHOST: b.vhost,
      ...(b.servicePort ? { TENDER_SERVICE_PORTS: String(b.servicePort) } : {}),
    },
  })));
  const tls = await loadTls(values["tls-cert"], values["tls-key"]);
  const router = await startRouter({ source: store, httpPort: 0, tls });
  console.log(JSON.stringify({ port: router.httpPort }));
}

async function spawn(args: string[]): Promise<{ port: number; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`child ${args.join(" ")} exited early`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { port: JSON.parse(text.split("\n")[0] ?? "{}").port, child };
}

async function docker(...args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`docker ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

/** A busybox httpd container published on 127.0.0.1; resolves once it answers. */
async function startContainer(): Promise<{ id: string; port: number }> {
  const id = await docker(
    "run",
    "-d",
    "--rm",
    "-p",
    "127.0.0.1::8080",
    "--label",
    "tender.bench=router_latency",
    IMAGE,
    "sh",
    "-c",
    "echo 'hello from the container' > /www/index.html; exec httpd -f -p 8080 -h /www",
  );
  const port = Number((await docker("port", id, "8080/tcp")).split("\n")[0]!.split(":").pop());
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await new Client(port, "127.0.0.1").request();
      if (res.status === 200) return { id, port };
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`container ${id} never answered: ${e}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One client connection slot: keeps its connection while the server allows, reopens after a
 * `Connection: close`. The time of a reconnect is part of the request's latency. */
class Client {
  #conn: HttpConnection | undefined;
  constructor(
    readonly port: number,
    readonly host: string,
    readonly tls?: { caCerts: string[]; hostname: string },
  ) {}

  async request(): Promise<RawResponse> {
    this.#conn ??= await HttpConnection.open(this.port, this.tls);
    const res = await this.#conn.request(this.host);
    if (/close/i.test(res.headers.get("connection") ?? "")) this.close();
    return res;
  }

  close(): void {
    this.#conn?.close();
    this.#conn = undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

interface Result {
  p50: number;
  p99: number;
  throughput: number;
}

/** Latencies (ms) and busy time (ms) gathered for one target over every round. */
interface Samples {
  latencies: number[];
  ms: number;
}

/** `total` requests over `connections` client slots; adds to `into`. */
async function load(
  target: { port: number; host: string; tls?: { caCerts: string[]; hostname: string } },
  options: { total: number; connections: number; warmup: number },
  into: Samples,
): Promise<void> {
  const clients = Array.from(
    { length: options.connections },
    () => new Client(target.port, target.host, target.tls),
  );
  // Warm up each connection (and the router's upstream pool).
  for (const c of clients) for (let i = 0; i < options.warmup; i++) await c.request();
  let left = options.total;
  const started = performance.now();
  await Promise.all(clients.map(async (c) => {
    while (left-- > 0) {
      const t0 = performance.now();
      const res = await c.request();
      into.latencies.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`status ${res.status} from port ${target.port}`);
    }
  }));
  into.ms += performance.now() - started;
  for (const c of clients) c.close();
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

async function main(): Promise<void> {
  const total = Number(values.requests);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const deno = await spawn(["--role", "backend"]);
  const container = await startContainer().catch((e) => {
    console.log(`# router_latency: no container backend (${e.message})`);
    return undefined;
  });
  const backends: BenchBackend[] = [
    ...(container
      ? [{ name: "container", port: container.port, vhost: "box.test", servicePort: freePort() }]
      : []),
    { name: "deno", port: deno.port, vhost: "deno.test", servicePort: freePort() },
  ];
  const router = await spawn(["--role", "router", "--backends", JSON.stringify(backends)]);
  const certDir = await Deno.makeTempDir({ prefix: "tender-bench-router-" });
  const certs = await makeCerts(certDir);
  // The TLS router's service ports would clash with the first router's: it has none.
  const tlsRouter = await spawn([
    "--role",
    "router",
    "--backends",
    JSON.stringify(backends.map((b) => ({ ...b, servicePort: undefined }))),
    "--tls-cert",
    certs.cert,
    "--tls-key",
    certs.key,
  ]);
  const trust = { caCerts: [await Deno.readTextFile(certs.caCert)], hostname: "localhost" };
  try {
    type Target = [string, number, string, typeof trust?];
    const targets: Target[] = backends.flatMap((b) =>
      [
        [`${b.name}_direct`, b.port, "127.0.0.1"],
        [`${b.name}_router_http`, router.port, b.vhost],
        [`${b.name}_router_https`, tlsRouter.port, b.vhost, trust],
        [`${b.name}_router_tcp`, b.servicePort, "127.0.0.1"],
      ] as Target[]
    );
    const samples = new Map<string, Samples>(
      targets.map(([name]) => [name, { latencies: [], ms: 0 }]),
    );
    for (let round = 0; round < rounds; round++) {
      for (const [name, port, host, tls] of targets) {
        await load({ port, host, tls }, {
          total: Math.ceil(total / rounds),
          connections,
          warmup: round === 0 ? 20 : 2,
        }, samples.get(name)!);
      }
    }
    const result = (name: string): Result => {
      const { latencies, ms } = samples.get(name)!;
      latencies.sort((a, b) => a - b);
      return {
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        throughput: latencies.length / (ms / 1000),
      };
    };
    console.log(`requests ${total} count`);
    console.log(`connections ${connections} count`);
    console.log(`rounds ${rounds} count`);
    for (const [name] of targets) {
      const r = result(name);
      console.log(`${name}_p50 ${r.p50.toFixed(3)} ms`);
      console.log(`${name}_p99 ${r.p99.toFixed(3)} ms`);
      console.log(`${name}_throughput ${r.throughput.toFixed(0)} req/s`);
    }
    for (const b of backends) {
      const direct = result(`${b.name}_direct`);
      for (const via of ["router_http", "router_tcp"]) {
        const r = result(`${b.name}_${via}`);
        const name = `${b.name}_${via}_vs_direct`;
        console.log(`${name}_p50 ${(r.p50 / direct.p50).toFixed(2)} ratio`);
        console.log(`${name}_p99 ${(r.p99 / direct.p99).toFixed(2)} ratio`);
        console.log(`${name}_throughput ${(r.throughput / direct.throughput).toFixed(2)} ratio`);
      }
      const http = result(`${b.name}_router_http`), https = result(`${b.name}_router_https`);
      const name = `${b.name}_router_https_vs_router_http`;
      console.log(`${name}_p50 ${(https.p50 / http.p50).toFixed(2)} ratio`);
      console.log(`${name}_p50_added ${(https.p50 - http.p50).toFixed(3)} ms`);
    }
  } finally {
    for (const { child } of [router, tlsRouter, deno]) {
      child.kill("SIGTERM");
      await child.status;
    }
    await Deno.remove(certDir, { recursive: true }).catch(() => {});
    if (container) await docker("rm", "-f", container.id).catch(() => {});
  }
}

if (values.role === "backend") serveBackend();
else if (values.role === "router") await serveRouter(JSON.parse(values.backends ?? "[]"));
else await main();
