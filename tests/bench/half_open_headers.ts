/**
 * What half-sent requests cost a master, and that it closes them: a client opens connections,
 * sends part of a request's headers (`GET / HTTP/1.1\r\nHost: x\r\n`) and nothing more. Starts a
 * real master process, measures its RSS and the latency of `GET /master/state` (p50, p99 of 200
 * requests), then holds N such connections and measures again, and says how many of them the
 * master closed by the end of the hold. The master closes a connection that has not finished
 * its headers within `--http-header-timeout` (default 10 s; `--header-timeout S` passes it), and
 * keeps at most 256 waiting connections per client address (this bench's connections all come
 * from 127.0.0.1, so beyond 256 the oldest are closed at once).
 *
 * With `--nofile N` the master runs with that many file descriptors (`ulimit -n`; 1024 is the
 * usual default soft limit), to see what happens once held connections use them up.
 *
 *   deno run -A --unstable-kv tests/bench/half_open_headers.ts [--counts 200,2000] [--hold-s 35]
 *     [--header-timeout S] [--nofile 1024]
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    counts: { type: "string", default: "200,2000" },
    "hold-s": { type: "string" },
    "header-timeout": { type: "string" },
    nofile: { type: "string" },
  },
});
const counts = values.counts.split(",").map(Number);
const holdMs = Number(values["hold-s"] ?? "35") * 1000;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** p50 and p99 of 200 requests, each given 5 s; `failed` counts those that got no answer. */
async function latency(url: string): Promise<{ p50: number; p99: number; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      ms.push(performance.now() - t);
    } catch {
      failed++;
    }
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * q))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), failed };
}

const port = freePort();
const workDir = await Deno.makeTempDir({ prefix: "tender-half-open-" });
const main = new URL("../../master/main.ts", import.meta.url).pathname;
const limit = values.nofile ? `ulimit -n ${Number(values.nofile)}; ` : "";
const child = new Deno.Command("sh", {
  args: [
    "-c",
    `${limit}exec "$0" "$@"`,
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-kv",
    main,
    "--port",
    String(port),
    "--work-dir",
    workDir,
    "--dns-port",
    "off",
    "--registry-port",
    "off",
    ...(values["header-timeout"] ? ["--http-header-timeout", values["header-timeout"]] : []),
  ],
  stdout: "null",
  stderr: "null",
}).spawn();
const base = `http://127.0.0.1:${port}`;
const held: Deno.Conn[] = [];
/** Connections the master answered or closed (one read is kept pending on each). */
let ended = 0;
try {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${base}/health`).then(
      (r) => r.body?.cancel().then(() => r.ok),
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error("the master did not answer /health within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const state = `${base}/master/state`;
  await latency(state); // warm-up
  const before = { rss: await rssMiB(child.pid), ...(await latency(state)) };
  console.log(
    `baseline: RSS ${before.rss.toFixed(1)} MiB, /master/state p50 ${before.p50.toFixed(2)} ms, ` +
      `p99 ${before.p99.toFixed(2)} ms` + (values.nofile ? ` (ulimit -n ${values.nofile})` : ""),
  );
  const partial = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n");
  for (const n of counts) {
    while (held.length < n) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
      if (!conn) break;
      const sent = await conn.write(partial).then(() => true, () => false);
      if (!sent) {
        conn.close();
        break;
      }
      held.push(conn);
      conn.read(new Uint8Array(64)).then(() => ended++, () => ended++);
    }
    if (held.length < n) console.log(`only ${held.length} connections could be made`);
    const exited = await Promise.race([
      child.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
    ]);
    if (exited) {
      console.log(`the master exited (code ${exited.code}, signal ${exited.signal})`);
      break;
    }
    const opened = performance.now();
    const during = { rss: await rssMiB(child.pid), ...(await latency(state)) };
    await new Promise((r) => setTimeout(r, Math.max(0, holdMs - (performance.now() - opened))));
    console.log(
      `${n} half-sent connections: RSS ${during.rss.toFixed(1)} MiB ` +
        `(+${(during.rss - before.rss).toFixed(1)}), /master/state p50 ${
          during.p50.toFixed(2)
        } ms, ` +
        `p99 ${
          during.p99.toFixed(2)
        } ms, ${during.failed}/200 unanswered within 5 s; answered or closed by the master after ${
          holdMs / 1000
        } s: ${ended}`,
    );
  }
} finally {
  for (const conn of held) {
    try {
      conn.close();
    } catch { /* closed by the peer */ }
  }
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
  await Deno.remove(workDir, { recursive: true });
}
