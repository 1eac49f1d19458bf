/**
 * Big-blob memory check: streams a 1 GiB blob into the registry (one streamed PATCH, then PUT)
 * and back out, with the registry in its own process, and reports that process's peak resident
 * memory (`VmHWM` from /proc) before and after. Memory should stay flat: it must not grow with
 * the blob. Prints `metric value unit` lines.
 *
 *   deno run -A --unstable-kv tests/bench/registry_big_blob.ts [--mib 1024]
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { mib: { type: "string", default: "1024" } },
});
const MIB = Number(values.mib);
const MAIN = new URL("../../registry/main.ts", import.meta.url).pathname;

async function memory(pid: number): Promise<{ hwm: number; rss: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? NaN);
  return { hwm: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const workDir = await Deno.makeTempDir({ prefix: "tender-registry-big-" });
const port = freePort();
const url = `http://127.0.0.1:${port}`;
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    "--unstable-kv",
    MAIN,
    "serve",
    "--port",
    String(port),
    "--work-dir",
    workDir,
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn();
try {
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const before = await memory(child.pid);

  // The blob is written to a file first and sent by curl as one streamed (chunked) PATCH, the
  // way docker and skopeo send layers; curl also reads it back. Both ends stream.
  const file = `${workDir}/blob.bin`;
  const hash = createHash("sha256");
  const out = await Deno.open(file, { write: true, create: true });
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.byteLength; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  for (let i = 0; i < MIB; i++) {
    new DataView(block.buffer).setUint32(0, i);
    hash.update(block);
    let written = 0;
    while (written < block.byteLength) written += await out.write(block.subarray(written));
  }
  out.close();
  const digest = `sha256:${hash.digest("hex")}`;
  const curl = async (args: string[]) => {
    const r = await new Deno.Command("curl", { args: ["-sS", "-f", ...args], stdout: "piped" })
      .output();
    if (r.code !== 0) {
      throw new Error(`curl ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
    }
    return new TextDecoder().decode(r.stdout);
  };

  let start = performance.now();
  const post = await fetch(`${url}/v2/big/blob/blobs/uploads/`, { method: "POST" });
  await post.body?.cancel();
  const location = post.headers.get("location") ?? "";
  await curl([
    "-o",
    "/dev/null",
    "-X",
    "PATCH",
    "-H",
    "Expect:",
    "-H",
    "Transfer-Encoding: chunked",
    "-T",
    file,
    `${url}${location}`,
  ]);
  const put = await fetch(`${url}${location}?digest=${digest}`, { method: "PUT" });
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
  const pushSeconds = (performance.now() - start) / 1000;
  const afterPush = await memory(child.pid);

  start = performance.now();
  await curl(["-o", `${workDir}/pulled.bin`, `${url}/v2/big/blob/blobs/${digest}`]);
  const pullSeconds = (performance.now() - start) / 1000;
  const afterPull = await memory(child.pid);
  const check = createHash("sha256");
  for await (const chunk of (await Deno.open(`${workDir}/pulled.bin`)).readable) {
    check.update(chunk);
  }
  if (`sha256:${check.digest("hex")}` !== digest) {
    throw new Error("pulled blob differs from the pushed one");
  }

  const bytes = MIB * 1024 * 1024;
  console.log(`# ${MIB} MiB blob, registry pid ${child.pid}`);
  console.log(`big_blob_push_mbps ${(bytes / 1e6 / pushSeconds).toFixed(1)} MB/s`);
  console.log(`big_blob_pull_mbps ${(bytes / 1e6 / pullSeconds).toFixed(1)} MB/s`);
  console.log(`registry_peak_rss_before_mib ${before.hwm.toFixed(1)} MiB`);
  console.log(`registry_peak_rss_after_push_mib ${afterPush.hwm.toFixed(1)} MiB`);
  console.log(`registry_peak_rss_after_pull_mib ${afterPull.hwm.toFixed(1)} MiB`);
  console.log(`registry_peak_rss_growth_mib ${(afterPull.hwm - before.hwm).toFixed(1)} MiB`);
} finally {
  child.kill("SIGTERM");
  await child.status;
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}
