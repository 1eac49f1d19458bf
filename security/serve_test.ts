import assert from "node:assert/strict";
import { makeDevCerts } from "./dev_certs.ts";
import { serveHttp } from "./serve.ts";

/** Sends raw bytes over TLS and returns the response head. */
async function rawTls(port: number, caCert: string, text: string): Promise<string> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [caCert] });
  try {
    await conn.write(new TextEncoder().encode(text));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

Deno.test("serveHttp() over TLS hands the handler the request, streams the answer without Nagle stalls, and aborts on disconnect", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tender-serve-" });
  const certs = await makeDevCerts({ out: dir });
  const caCert = await Deno.readTextFile(certs.caCert);
  const client = Deno.createHttpClient({ caCerts: [caCert] });
  let aborted = Promise.withResolvers<void>();
  const server = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: await Deno.readTextFile(certs.cert), key: await Deno.readTextFile(certs.key) },
  }, async (request, info) => {
    const url = new URL(request.url);
    if (url.pathname === "/stream") {
      request.signal.addEventListener("abort", () => aborted.resolve());
      return new Response(
        new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("first\n")) }),
      );
    }
    const body = request.body ? await request.text() : "";
    return Response.json({
      method: request.method,
      path: url.pathname + url.search,
      header: request.headers.get("x-test"),
      body,
      remote: info.remoteAddr.hostname,
      big: "x".repeat(20_000),
    }, { headers: { "set-cookie": "a=1" } });
  });
  try {
    const base = `https://127.0.0.1:${server.addr.port}`;
    const r = await fetch(`${base}/echo?q=1`, {
      method: "POST",
      body: "hello",
      headers: { "x-test": "yes" },
      client,
    });
    const json = await r.json();
    assert.deepEqual(
      { ...json, big: json.big.length },
      {
        method: "POST",
        path: "/echo?q=1",
        header: "yes",
        body: "hello",
        remote: "127.0.0.1",
        big: 20_000,
      },
    );
    assert.equal(r.headers.get("set-cookie"), "a=1");

    // A 20 KB answer, again and again on one connection: no ~40 ms delayed-ACK stall.
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await (await fetch(`${base}/echo`, { client })).arrayBuffer();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    assert.ok(times[10]! < 30, `median ${times[10]} ms`);

    // A Host holding a '/' does not move the path; an absolute-form target is a 400.
    const moved = await rawTls(
      server.addr.port,
      caCert,
      "GET /echo HTTP/1.1\r\nHost: evil/admin\r\nConnection: close\r\n\r\n",
    );
    assert.match(moved, /"path":"\/echo"/);
    const absolute = await rawTls(
      server.addr.port,
      caCert,
      "GET http://elsewhere/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert.match(absolute, /^HTTP\/1\.1 400/);

    // A client that goes away mid-stream: the handler's request is aborted.
    aborted = Promise.withResolvers<void>();
    const controller = new AbortController();
    const stream = await fetch(`${base}/stream`, { client, signal: controller.signal });
    const reader = stream.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "first\n");
    controller.abort();
    await aborted.promise;
  } finally {
    client.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
