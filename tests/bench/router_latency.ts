/**
 * Router benchmark: the same keep-alive HTTP load straight to a backend, through the router's
 * HTTP virtual host, and through its TCP service port, in one run. The backend and the router
 * each run in their own process (as in a cluster); this process is the client.
 * Prints `metric value unit` lines: p50/p99 latency, throughput, and router/direct ratios.
 *
 *   deno run -A tests/bench/router_latency.ts [--requests 20000] [--connections 8] [--rounds 5]
 */
import { parseArgs } from "node:util";
import { CatalogStore } from "../../master/discovery/mod.ts";
import { startRouter } from "../../router/mod.ts";
import { HttpConnection } from "../discovery_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    role: { type: "string" },
    backend: { type: "string" },
    "service-port": { type: "string" },
    requests: { type: "string", default: "20000" },
    connections: { type: "string", default: "8" },
    rounds: { type: "string", default: "5" },
  },
});

/** Child role: a backend answering a small body. */
function serveBackend(): void {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hello from the backend"),
  );
  console.log(JSON.stringify({ port: server.addr.port }));
}

/** Child role: a router whose catalog holds the one backend, on a vhost and a service port. */
async function serveRouter(backendPort: number, servicePort: number): Promise<void> {
  const store = new CatalogStore();
  store.update([{
    frameworkName: "marathon",
    taskId: "bench.1",
    taskName: "bench",
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: "localhost",
    agentIp: "127.0.0.1",
    hostPorts: [backendPort],
    labels: {
      MARATHON_APP_ID: "/bench",
      TENDER_VHOST: "bench.test",
      TENDER_SERVICE_PORTS: String(servicePort),
    },
  }]);
  const router = await startRouter({ source: store, httpPort: 0 });
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

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

interface Result {
  p50: number;
  p99: number;
  throughput: number;
}

async function load(port: number, host: string, total: number, connections: number) {
  const conns = await Promise.all(
    Array.from({ length: connections }, () => HttpConnection.open(port)),
  );
  // Warm up each connection (and the router's upstream pool).
  for (const c of conns) for (let i = 0; i < 50; i++) await c.request(host);
  const latencies: number[] = [];
  let left = total;
  const started = performance.now();
  await Promise.all(conns.map(async (c) => {
    while (left-- > 0) {
      const t0 = performance.now();
      const res = await c.request(host);
      latencies.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`status ${res.status} from port ${port}`);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  for (const c of conns) c.close();
  latencies.sort((a, b) => a - b);
  const result: Result = {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    throughput: latencies.length / seconds,
  };
  return result;
}

async function main(): Promise<void> {
  const total = Number(values.requests);
  const connections = Number(values.connections);
  const backend = await spawn(["--role", "backend"]);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const servicePort = probe.addr.port;
  probe.close();
  const router = await spawn([
    "--role",
    "router",
    "--backend",
    String(backend.port),
    "--service-port",
    String(servicePort),
  ]);
  try {
    // Interleaved rounds, so a burst of load from elsewhere on the machine hits all three
    // targets alike; each figure is the median over the rounds.
    const rounds = Number(values.rounds);
    const targets: [string, number, string][] = [
      ["direct", backend.port, "127.0.0.1"],
      ["router_http", router.port, "bench.test"],
      ["router_tcp", servicePort, "127.0.0.1"],
    ];
    const samples = new Map<string, Result[]>(targets.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, port, host] of targets) {
        samples.get(name)!.push(await load(port, host, Math.ceil(total / rounds), connections));
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const runs: [string, Result][] = targets.map(([name]) => {
      const rs = samples.get(name)!;
      return [name, {
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        throughput: median(rs.map((r) => r.throughput)),
      }];
    });
    const direct = runs[0]![1];
    console.log(`requests ${total} count`);
    console.log(`connections ${connections} count`);
    console.log(`rounds ${rounds} count`);
    for (const [name, r] of runs) {
      console.log(`${name}_p50 ${r.p50.toFixed(3)} ms`);
      console.log(`${name}_p99 ${r.p99.toFixed(3)} ms`);
      console.log(`${name}_throughput ${r.throughput.toFixed(0)} req/s`);
    }
    for (const [name, r] of runs.slice(1)) {
      console.log(`${name}_vs_direct_p50 ${(r.p50 / direct.p50).toFixed(2)} ratio`);
      console.log(`${name}_vs_direct_p99 ${(r.p99 / direct.p99).toFixed(2)} ratio`);
      console.log(
        `${name}_vs_direct_throughput ${(r.throughput / direct.throughput).toFixed(2)} ratio`,
      );
    }
  } finally {
    for (const { child } of [router, backend]) {
      child.kill("SIGTERM");
      await child.status;
    }
  }
}

if (values.role === "backend") serveBackend();
else if (values.role === "router") {
  await serveRouter(Number(values.backend), Number(values["service-port"]));
} else await main();
