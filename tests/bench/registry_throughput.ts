/**
 * Registry benchmark: pushes and pulls the same image (3 random layers, 60 MiB by default) with
 * skopeo to Tender's registry and, in the same run, to Debian's `docker-registry` (the reference
 * implementation), each as its own process on loopback with a fresh store per run, warmed up by
 * an untimed push and pull of a small image of other random layers. Also times a
 * raw HTTP blob upload (POST + PUT with the body) and download against both.
 * Prints `metric value unit` lines: MB/s (10^6 bytes) for each, and Tender/reference ratios.
 *
 *   deno run -A --unstable-kv tests/bench/registry_throughput.ts [--layer-mib 20] [--layers 3] [--runs 3]
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "layer-mib": { type: "string", default: "20" },
    layers: { type: "string", default: "3" },
    runs: { type: "string", default: "3" },
  },
});
const LAYER_BYTES = Number(values["layer-mib"]) * 1024 * 1024;
const LAYERS = Number(values.layers);
const RUNS = Number(values.runs);
const MAIN = new URL("../../registry/main.ts", import.meta.url).pathname;

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(i + 65536, n)));
  }
  return out;
}

/** Writes an OCI layout whose layers are stored-gzip (level 0) of random bytes: valid gzip, so
 * skopeo does not recompress them, and incompressible. Returns the total bytes of its blobs. */
async function writeLayout(dir: string, layerBytes = LAYER_BYTES): Promise<number> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const hex = sha256(bytes);
    await Deno.writeFile(`${dir}/blobs/sha256/${hex}`, bytes);
    return { digest: `sha256:${hex}`, size: bytes.byteLength };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < LAYERS; i++) {
    const raw = randomBytes(layerBytes);
    diffIds.push(`sha256:${sha256(raw)}`);
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      ...(await put(gzipSync(raw, { level: 0 }))),
    });
  }
  const config = await put(new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: diffIds },
  })));
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers,
  }));
  const m = await put(manifest);
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...m,
        annotations: { "org.opencontainers.image.ref.name": "bench" },
      }],
    }),
  );
  return layers.reduce((n, l) => n + l.size, config.size + m.size);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitUp(url: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`registry at ${url} did not come up`);
}

interface Server {
  url: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

async function startTender(dir: string): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", MAIN, "serve", "--port", String(port), "--work-dir", dir],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child);
  return {
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => (child.kill("SIGTERM"), void await child.status),
  };
}

async function startReference(dir: string): Promise<Server> {
  const port = freePort();
  const config = `${dir}/config.yml`;
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  await Deno.writeTextFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", config],
    stdout: "null",
    stderr: "null",
  })
    .spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child);
  return {
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => (child.kill("SIGTERM"), void await child.status),
  };
}

async function timed(cmd: string[]): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(cmd[0] ?? "", {
    args: cmd.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (out.code !== 0) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return seconds;
}

/** Raw HTTP with curl: POST an upload, PUT the whole blob file in one body, then GET it back. */
async function rawHttp(
  url: string,
  file: string,
  digest: string,
): Promise<{ put: number; get: number }> {
  let start = performance.now();
  const post = await fetch(`${url}/v2/raw/blob/blobs/uploads/`, { method: "POST" });
  await post.body?.cancel();
  const location = new URL(post.headers.get("location") ?? "", url);
  location.searchParams.set("digest", digest);
  const put = await new Deno.Command("curl", {
    args: [
      "-sf",
      "-o",
      "/dev/null",
      "-X",
      "PUT",
      "-H",
      "Expect:",
      "-H",
      "Content-Type: application/octet-stream",
      "-T",
      file,
      location.href,
    ],
  }).output();
  if (put.code !== 0) throw new Error(`raw PUT failed: ${new TextDecoder().decode(put.stderr)}`);
  const putSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  const get = await new Deno.Command("curl", {
    args: ["-sf", "-o", "/dev/null", `${url}/v2/raw/blob/blobs/${digest}`],
  }).output();
  if (get.code !== 0) throw new Error("raw GET failed");
  return { put: putSeconds, get: (performance.now() - start) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const work = await Deno.makeTempDir({ prefix: "tender-registry-bench-" });
try {
  const totalBytes = await writeLayout(`${work}/layout`);
  // A smaller image of other random layers warms each fresh server up (JIT, first requests)
  // before the timed runs; its blobs differ, so nothing of it can be reused by the timed push.
  await writeLayout(`${work}/warmup`, 2 * 1024 * 1024);
  const blob = randomBytes(LAYERS * LAYER_BYTES);
  const blobDigest = `sha256:${sha256(blob)}`;
  await Deno.writeFile(`${work}/blob`, blob);
  const results: Record<string, Record<string, number[]>> = { tender: {}, reference: {} };
  const record = (who: string, what: string, seconds: number, bytes: number) =>
    ((results[who] ??= {})[what] ??= []).push(bytes / 1e6 / seconds);
  for (let run = 0; run < RUNS; run++) {
    for (const who of run % 2 === 0 ? ["tender", "reference"] : ["reference", "tender"]) {
      const dir = `${work}/${who}-${run}`;
      await Deno.mkdir(dir, { recursive: true });
      const server = who === "tender" ? await startTender(dir) : await startReference(dir);
      try {
        const warm = `docker://${server.host}/warmup/image:${run}`;
        await timed([
          "skopeo",
          "copy",
          "--dest-tls-verify=false",
          `oci:${work}/warmup:bench`,
          warm,
        ]);
        await timed(["skopeo", "copy", "--src-tls-verify=false", warm, `dir:${dir}/warm`]);
        const ref = `docker://${server.host}/bench/image:${run}`;
        const push = await timed([
          "skopeo",
          "copy",
          "--dest-tls-verify=false",
          `oci:${work}/layout:bench`,
          ref,
        ]);
        record(who, "push", push, totalBytes);
        const pull = await timed([
          "skopeo",
          "copy",
          "--src-tls-verify=false",
          ref,
          `dir:${dir}/pulled`,
        ]);
        record(who, "pull", pull, totalBytes);
        const raw = await rawHttp(server.url, `${work}/blob`, blobDigest);
        record(who, "raw_put", raw.put, blob.byteLength);
        record(who, "raw_get", raw.get, blob.byteLength);
      } finally {
        await server.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  }
  console.log(
    `# image ${(totalBytes / 1048576).toFixed(1)} MiB in ${LAYERS} layers, raw blob ${
      (blob.byteLength / 1048576).toFixed(0)
    } MiB, median of ${RUNS} runs`,
  );
  for (const what of ["push", "pull", "raw_put", "raw_get"]) {
    const tender = median(results.tender?.[what] ?? []);
    const reference = median(results.reference?.[what] ?? []);
    console.log(`tender_${what}_mbps ${tender.toFixed(1)} MB/s`);
    console.log(`reference_${what}_mbps ${reference.toFixed(1)} MB/s`);
    console.log(`${what}_ratio ${(tender / reference).toFixed(2)} x`);
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
