/**
 * What authentication and TLS add to request latency (issue 15's figure; target: p50 less than
 * 10 % more). Three small clusters of the same process kinds run side by side: a master with one
 * agent (process containerizer) and a Marathon. `off`: plain HTTP, no credentials. `auth`: a
 * credentials file of salted hashes, the master with all four `--authenticate-*` switches, the
 * agent and Marathon authenticating to it with their own principals, Marathon's API requiring
 * credentials. `tls`: the same, every server on HTTPS with a dev CA's certificate. The client
 * (this process) sends HTTP Basic with a hashed secret (verified once, then from the cache) over
 * one kept-alive connection per cluster, as the CLI or a dashboard does.
 *
 * The sides are measured request by request in turn, so the machine's load weighs on all alike;
 * separate processes still differ by ±10–25 % on their own (two identical "off" clusters: 0.98
 * against 0.90 ms reads). One run at load ~5, 300 requests a kind: read p50 1.28 ms off, 1.49
 * auth, 1.35 tls, 1.41 a second off cluster; write p50 12.0, 12.0, 12.7 ms. The layers alone, in
 * one process: 0.124, 0.145, 0.171 ms (node:https and node:crypto's hash made them 0.119, 0.168,
 * 0.429; docs/decisions.md). Before the servers used `serveHttp` (security/serve.ts), the tls
 * read took 45.5 ms: Deno.serve's TLS sockets keep Nagle, so every larger response waited for
 * the client's delayed ACK.
 *
 * `--control` adds a second `off` cluster: its `_added` figures are what separate processes
 * differ by with nothing switched on, the floor under which `auth` and `tls` cannot be told apart.
 *
 *   deno run -A --unstable-kv tests/bench/security_overhead.ts [--requests 300] [--rounds 10]
 *     [--control]
 */
import { parseArgs } from "node:util";
import { Hono } from "hono";
import {
  authenticate,
  basicHeader,
  hashPassword,
  parseCredentials,
  serveHttp,
  ServerSecurity,
} from "../../security/mod.ts";
import { makeCerts } from "../support/certs.ts";
import { freePort, killProcessTasks, TenderProcess, waitFor } from "../support/cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "300" },
    rounds: { type: "string", default: "10" },
    control: { type: "boolean", default: false },
  },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
if (!(REQUESTS > 0) || !(ROUNDS > 0)) {
  console.error("--requests and --rounds must be positive numbers");
  Deno.exit(2);
}

const SECRETS = {
  agent: "bench-agent-secret",
  marathon: "bench-marathon-secret",
  ops: "bench-ops-secret",
};

/** `control`: a second `off` cluster, whose difference from the first is the noise floor. */
type SideName = "off" | "auth" | "tls" | "control";

interface Side {
  name: SideName;
  master: string;
  marathon: string;
  client: Deno.HttpClient;
  headers: Record<string, string>;
  processes: TenderProcess[];
  read: number[];
  write: number[];
  next: number;
}

async function startSide(name: SideName, root: string): Promise<Side> {
  const dir = `${root}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const secure = name === "auth" || name === "tls";
  const certs = name === "tls" ? await makeCerts(`${dir}/certs`) : undefined;
  const scheme = certs ? "https" : "http";
  const serverFlags: string[] = [];
  if (secure) {
    await Deno.writeTextFile(
      `${dir}/credentials.json`,
      JSON.stringify({
        credentials: Object.entries(SECRETS).map(([principal, secret]) => ({
          principal,
          secret: hashPassword(secret),
        })),
      }),
    );
    for (const [principal, secret] of Object.entries(SECRETS)) {
      await Deno.writeTextFile(`${dir}/${principal}.secret`, secret, { mode: 0o600 });
    }
    serverFlags.push("--credentials", `${dir}/credentials.json`);
    if (certs) serverFlags.push("--tls-cert", certs.cert, "--tls-key", certs.key);
  }
  const clientFlags = (principal: string) => [
    ...(certs ? ["--ca", certs.caCert] : []),
    ...(secure ? ["--principal", principal, "--secret-file", `${dir}/${principal}.secret`] : []),
  ];
  const masterPort = freePort(), marathonPort = freePort();
  const master = `${scheme}://127.0.0.1:${masterPort}`;
  const marathon = `${scheme}://127.0.0.1:${marathonPort}`;
  const processes = [
    new TenderProcess(`master-${name}`, "master/main.ts", [
      "--port",
      String(masterPort),
      "--work-dir",
      `${dir}/master`,
      "--dns-port",
      "off",
      "--registry-port",
      "off",
      ...serverFlags,
      ...(secure
        ? [
          "--authenticate-frameworks",
          "--authenticate-agents",
          "--authenticate-http-readwrite",
          "--authenticate-http-readonly",
        ]
        : []),
    ]),
    new TenderProcess(`agent-${name}`, "agent/main.ts", [
      "--master",
      master,
      "--port",
      String(freePort()),
      "--work-dir",
      `${dir}/agent`,
      "--containerizer",
      "process",
      "--resources",
      "cpus:2;mem:1024;ports:[31000-31009]",
      ...clientFlags("agent"),
    ]),
    new TenderProcess(`marathon-${name}`, "frameworks/marathon/main.ts", [
      "--master",
      master,
      "--port",
      String(marathonPort),
      "--work-dir",
      `${dir}/marathon`,
      ...serverFlags,
      ...clientFlags("marathon"),
    ]),
  ];
  const client = Deno.createHttpClient(
    certs ? { caCerts: [await Deno.readTextFile(certs.caCert)] } : {},
  );
  const headers: Record<string, string> = secure
    ? { Authorization: basicHeader("ops", SECRETS.ops) }
    : {};
  for (const p of processes) p.start();
  await waitFor(`the ${name} cluster (an agent and Marathon registered)`, async () => {
    const r = await fetch(`${master}/master/state`, { client, headers }).catch(() => undefined);
    if (!r?.ok) return undefined;
    const state = await r.json();
    return state.slaves?.length === 1 && state.frameworks?.length === 1 ? true : undefined;
  }, 120_000).catch((e) => {
    throw new Error(`${e}\n${processes.map((p) => p.log.join("")).join("\n")}`);
  });
  await waitFor(`the ${name} Marathon's API`, async () => {
    const r = await fetch(`${marathon}/v2/apps`, { client, headers }).catch(() => undefined);
    await r?.body?.cancel();
    return r?.ok;
  }, 60_000);
  return { name, master, marathon, client, headers, processes, read: [], write: [], next: 0 };
}

async function timed(side: Side, url: string, init: RequestInit): Promise<number> {
  const start = performance.now();
  const r = await fetch(url, { ...init, client: side.client });
  await r.arrayBuffer();
  const ms = performance.now() - start;
  if (!r.ok) throw new Error(`${side.name}: ${init.method ?? "GET"} ${url} answered ${r.status}`);
  return ms;
}

/**
 * `n` reads, then `n` writes, on every side, interleaved request by request (in an order that
 * alternates), so the machine's load changes between requests weigh on every side alike.
 */
async function round(sides: Side[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      side.read.push(await timed(side, `${side.master}/master/state`, { headers: side.headers }));
    }
  }
  for (let i = 0; i < n; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      const id = `/bench/app-${side.next++}`;
      side.write.push(
        await timed(side, `${side.marathon}/v2/apps${id}`, {
          method: "PUT",
          headers: { ...side.headers, "Content-Type": "application/json" },
          body: JSON.stringify({ id, cmd: "sleep 60", instances: 0, cpus: 0.01, mem: 8 }),
        }),
      );
    }
  }
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * What the security layers alone add, free of the ±10–25 % by which separate processes differ:
 * in this process, three servers answer the off master's own `/master/state` body through the
 * same authentication middleware the master runs (`off`: no credentials file; `auth`: the
 * hashed secret; `tls`: the same on HTTPS), interleaved request by request over kept-alive
 * connections. The client's share of TLS (it decrypts) is counted, as a user's would be.
 */
async function layers(body: string, dir: string): Promise<void> {
  const certs = await makeCerts(dir);
  const credentials = parseCredentials(JSON.stringify({
    credentials: [{ principal: "ops", secret: hashPassword(SECRETS.ops) }],
  }));
  const app = (security: ServerSecurity) =>
    new Hono()
      .use(authenticate(security, { realm: "mesos", required: () => true }))
      .get("/master/state", (c) => c.body(body, 200, { "Content-Type": "application/json" }));
  const tls = {
    cert: await Deno.readTextFile(certs.cert),
    key: await Deno.readTextFile(certs.key),
  };
  const on = new ServerSecurity({ credentials });
  const servers = {
    off: await serveHttp({ hostname: "127.0.0.1", port: 0 }, app(ServerSecurity.off()).fetch),
    auth: await serveHttp({ hostname: "127.0.0.1", port: 0 }, app(on).fetch),
    tls: await serveHttp({ hostname: "127.0.0.1", port: 0, tls }, app(on).fetch),
  };
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
  const headers = { Authorization: basicHeader("ops", SECRETS.ops) };
  const samples = { off: [] as number[], auth: [] as number[], tls: [] as number[] };
  try {
    const total = 200 + REQUESTS * 5;
    for (let i = 0; i < total; i++) {
      const order = i % 2 === 0
        ? (["off", "auth", "tls"] as const)
        : (["tls", "auth", "off"] as const);
      for (const name of order) {
        const url = `${name === "tls" ? "https" : "http"}://127.0.0.1:${
          servers[name].addr.port
        }/master/state`;
        const start = performance.now();
        const r = await fetch(url, { client, headers: name === "off" ? {} : headers });
        await r.arrayBuffer();
        if (!r.ok) throw new Error(`layers ${name}: ${r.status}`);
        if (i >= 200) samples[name].push(performance.now() - start);
      }
    }
  } finally {
    client.close();
    for (const server of Object.values(servers)) await server.shutdown();
  }
  console.log(`security_layers_body_bytes ${body.length} bytes`);
  const base = percentile(samples.off, 50);
  console.log(`security_layers_read_p50_off ${base.toFixed(3)} ms`);
  for (const name of ["auth", "tls"] as const) {
    const value = percentile(samples[name], 50);
    console.log(`security_layers_read_p50_${name} ${value.toFixed(3)} ms`);
    console.log(`security_layers_read_p50_${name}_added_ms ${(value - base).toFixed(3)} ms`);
  }
}

const root = await Deno.makeTempDir({ prefix: "tender-bench-security-" });
const sides: Side[] = [];
try {
  const names: SideName[] = ["off", "auth", "tls", ...(values.control ? ["control" as const] : [])];
  for (const name of names) sides.push(await startSide(name, root));
  // Warm-up: connections opened, the hashed secret verified once, code paths compiled.
  await round(sides, 20);
  for (const side of sides) side.read.length = side.write.length = 0;
  const perRound = Math.max(1, Math.ceil(REQUESTS / ROUNDS));
  for (let r = 0; r < ROUNDS; r++) await round(sides, perRound);
  const [off, ...secured] = sides as [Side, ...Side[]];
  const state = await fetch(`${off.master}/master/state`, { client: off.client });
  await layers(await state.text(), `${root}/layers`);
  console.log(`security_requests_per_kind ${off.read.length} requests`);
  for (const kind of ["read", "write"] as const) {
    for (const p of [50, 99]) {
      const base = percentile(off[kind], p);
      console.log(`security_${kind}_p${p}_off ${base.toFixed(2)} ms`);
      for (const side of secured) {
        const value = percentile(side[kind], p);
        console.log(`security_${kind}_p${p}_${side.name} ${value.toFixed(2)} ms`);
        console.log(
          `security_${kind}_p${p}_${side.name}_added ${((value / base - 1) * 100).toFixed(1)} %`,
        );
        console.log(`security_${kind}_p${p}_${side.name}_added_ms ${(value - base).toFixed(2)} ms`);
      }
    }
  }
} finally {
  for (const side of sides) {
    for (const p of side.processes.reverse()) await p.kill("SIGTERM");
    side.client.close();
  }
  await killProcessTasks(root).catch(() => {});
  await Deno.remove(root, { recursive: true }).catch(() => {});
}
