/**
 * `--tls-cert/--tls-key` on the last two servers (issue 15, item 3), as real processes with a dev
 * CA's certificate: the router terminates TLS on its HTTP port (an app's virtual host and
 * `/_router/state` over https; the backend is reached over plain HTTP and told
 * `X-Forwarded-Proto: https`), and the autoscaler serves its API over https. A client with the CA
 * gets through; one without it is refused with a certificate error; a lone `--tls-cert` exits 2
 * naming the flags.
 */
import assert from "node:assert/strict";
import { makeCerts } from "./support/certs.ts";
import { freePort, TenderProcess, waitFor } from "./support/cluster.ts";
import { startCatalogServer, task } from "./discovery_harness.ts";

const certificateError = (e: Error) => /certificate|UnknownIssuer/i.test(`${e.message} ${e.cause}`);

Deno.test("router and autoscaler with --tls-cert/--tls-key serve https: trusted with the CA, refused without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-tls-router-autoscaler-" });
  const catalog = startCatalogServer();
  // The backend answers with the scheme the router says the client used.
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(`proto=${req.headers.get("x-forwarded-proto")}`),
  );
  let router: TenderProcess | undefined;
  let autoscaler: TenderProcess | undefined;
  let trusted: Deno.HttpClient | undefined;
  try {
    const certs = await makeCerts(`${dir}/certs`);
    trusted = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    const client = trusted;
    catalog.store.update([
      task("/web", { name: "web-1", port: backend.addr.port }, { TENDER_VHOST: "localhost" }),
    ]);
    const routerPort = freePort();
    router = new TenderProcess("router", "router/main.ts", [
      "--master",
      catalog.url,
      "--http-port",
      String(routerPort),
      "--poll-ms",
      "200",
      "--tls-cert",
      certs.cert,
      "--tls-key",
      certs.key,
    ]);
    const apiPort = freePort();
    autoscaler = new TenderProcess("autoscaler", "autoscaler/main.ts", [
      "--marathon",
      "http://127.0.0.1:1", // never answers: only the API is exercised
      "--port",
      String(apiPort),
      "--interval",
      "3600",
      "--tls-cert",
      certs.cert,
      "--tls-key",
      certs.key,
    ]);
    router.start();
    autoscaler.start();
    const routerUrl = `https://localhost:${routerPort}`;
    const apiUrl = `https://localhost:${apiPort}`;

    await waitFor("the router to route localhost over https", async () => {
      const res = await fetch(`${routerUrl}/_router/state`, { client });
      const state = await res.json();
      return state.vhosts.length === 1;
    }, 60_000).catch((e) => {
      throw new Error(`${e}\n${router!.log.join("")}`);
    });
    const proxied = await fetch(`${routerUrl}/`, { client });
    assert.equal(proxied.status, 200);
    assert.equal(await proxied.text(), "proto=https", "app traffic over https, told to the app");

    await waitFor("the autoscaler's API over https", async () => {
      const res = await fetch(`${apiUrl}/ping`, { client });
      await res.body?.cancel();
      return res.ok;
    }, 60_000).catch((e) => {
      throw new Error(`${e}\n${autoscaler!.log.join("")}`);
    });
    const status = await fetch(`${apiUrl}/status`, { client });
    assert.equal(status.status, 200);
    await status.body?.cancel();

    for (const url of [`${routerUrl}/`, `${routerUrl}/_router/state`, `${apiUrl}/ping`]) {
      await assert.rejects(() => fetch(url), certificateError, `${url} without the CA`);
    }
  } finally {
    trusted?.close();
    await router?.kill("SIGTERM");
    await autoscaler?.kill("SIGTERM");
    await backend.shutdown();
    await catalog.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("router and autoscaler exit 2 naming the flags when --tls-cert comes without --tls-key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-tls-lone-cert-" });
  try {
    const certs = await makeCerts(dir);
    for (
      const [script, args] of [
        ["router/main.ts", ["--master", "http://127.0.0.1:1", "--http-port", "0"]],
        ["autoscaler/main.ts", ["--marathon", "http://127.0.0.1:1", "--port", "0"]],
      ] as const
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, ...args, "--tls-cert", certs.cert],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 2, `${script}: ${text}`);
      assert.match(text, /--tls-cert and --tls-key go together/, script);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
