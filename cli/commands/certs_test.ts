import assert from "node:assert/strict";
import { join } from "node:path";
import type { Io } from "../io.ts";
import { runCli } from "../run.ts";

function io() {
  const out: string[] = [], err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    env: () => undefined,
    fetch: () => Promise.reject(new Error("no network in this test")),
    signal: new AbortController().signal,
    isTerminal: () => false,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

async function mode(path: string): Promise<string> {
  return ((await Deno.stat(path)).mode! & 0o777).toString(8);
}

Deno.test("tender certs makes a CA and a server certificate a TLS server and client agree on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-certs-" });
  const controller = new AbortController();
  let server: Deno.HttpServer | undefined;
  try {
    const out = join(dir, "certs");
    const first = io();
    const code = await runCli(
      ["certs", "--out", out, "--hosts", "127.0.0.1,localhost,node-1.example", "--days", "30"],
      first.io,
    );
    assert.equal(code, 0, first.err());
    assert.match(first.out(), /made CA/);
    assert.match(first.out(), /--tls-cert .*server\.crt --tls-key .*server\.key/);
    assert.equal(await mode(join(out, "server.key")), "600");
    assert.equal(await mode(join(out, "ca.key")), "600");
    assert.equal(await mode(join(out, "server.crt")), "644");

    const caCert = await Deno.readTextFile(join(out, "ca.crt"));
    server = Deno.serve({
      port: 0,
      hostname: "127.0.0.1",
      cert: await Deno.readTextFile(join(out, "server.crt")),
      key: await Deno.readTextFile(join(out, "server.key")),
      signal: controller.signal,
      onListen: () => {},
    }, () => new Response("ok"));
    const { port } = server.addr as Deno.NetAddr;
    const client = Deno.createHttpClient({ caCerts: [caCert] });
    try {
      const r = await fetch(`https://127.0.0.1:${port}/`, { client });
      assert.equal(await r.text(), "ok");
      await assert.rejects(fetch(`https://127.0.0.1:${port}/`));
    } finally {
      client.close();
    }

    // A second certificate reuses the CA; an existing one is not overwritten without --force.
    const again = io();
    assert.equal(await runCli(["certs", "--out", out], again.io), 1);
    assert.match(again.err(), /exists already \(--force replaces them\)/);
    const second = io();
    assert.equal(await runCli(["certs", "--out", out, "--name", "node-2"], second.io), 0);
    assert.match(second.out(), /reused CA/);
    assert.equal(await Deno.readTextFile(join(out, "ca.crt")), caCert);
  } finally {
    controller.abort();
    await server?.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tender certs refuses a bad host, bad days, and its flags after other commands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-certs-" });
  try {
    for (
      const [argv, message] of [
        [
          ["certs", "--out", dir, "--hosts", "a b"],
          /"a b" is neither an IP address nor a DNS name/,
        ],
        [["certs", "--out", dir, "--hosts", "x\nsubjectAltName=DNS:evil"], /neither an IP/],
        [["certs", "--out", dir, "--days", "0"], /--days: "0" must be a whole number/],
        [["certs", "--out", dir, "--name", "../x"], /--name: "\.\.\/x" must be a plain file name/],
        [["status", "--out", dir], /--out is not an option of `tender status`/],
      ] as const
    ) {
      const run = io();
      const code = await runCli([...argv], run.io);
      assert.ok(code === 2 || code === 1, `${argv.join(" ")}: exit ${code}`);
      assert.match(run.err(), message);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => !e.name.startsWith(".")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
