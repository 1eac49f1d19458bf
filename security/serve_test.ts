import assert from "node:assert/strict";
import { makeDevCerts } from "./dev_certs.ts";
import { serveNodeHttps } from "./node_https_server.ts";
import { serveHttp } from "./serve.ts";
import { setListenerNoDelay } from "./tcp_sockets.ts";
import { WaitingConnections } from "./waiting_connections.ts";

/** Sends raw bytes over TLS and returns the response, read until the server closes. */
async function rawTls(port: number, caCert: string, text: string): Promise<string> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [caCert] });
  try {
    await conn.write(new TextEncoder().encode(text));
    return await new Response(conn.readable).text();
  } finally {
    try {
      conn.close();
    } catch { /* closed with its readable */ }
  }
}

/** The `node:https` fallback, started as `serveHttp` would start it. */
const nodeHttps: typeof serveHttp = (options, handler) =>
  serveNodeHttps(options, options.tls!, handler, new WaitingConnections({ timeoutMs: 10_000 }));

for (const [server, serve] of [["Deno's server", serveHttp], ["node:https", nodeHttps]] as const) {
  Deno.test(`serveHttp() over TLS (${server}) hands the handler the request, streams the answer without Nagle stalls, and aborts on disconnect`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tender-serve-" });
    const certs = await makeDevCerts({ out: dir });
    const caCert = await Deno.readTextFile(certs.caCert);
    const client = Deno.createHttpClient({ caCerts: [caCert] });
    let aborted = Promise.withResolvers<void>();
    const server = await serve({
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
}

/** Resolves with the time until the server closes `conn` (EOF or reset) since `since` (default: now), or rejects after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number, since?: number): Promise<number> {
  const start = since ?? performance.now();
  const buf = new Uint8Array(1024);
  const deadline = AbortSignal.timeout(ms);
  const gone = new Promise<never>((_, reject) =>
    deadline.addEventListener("abort", () => reject(new Error(`still open after ${ms} ms`)))
  );
  for (;;) {
    const n = await Promise.race([conn.read(buf).catch(() => null), gone]);
    if (n === null) return performance.now() - start;
  }
}

async function withCerts<T>(fn: (tls: { cert: string; key: string }, ca: string) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "tender-serve-" });
  try {
    const certs = await makeDevCerts({ out: dir });
    return await fn(
      { cert: await Deno.readTextFile(certs.cert), key: await Deno.readTextFile(certs.key) },
      await Deno.readTextFile(certs.caCert),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PARTIAL = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n");

for (const scheme of ["http", "https"] as const) {
  Deno.test(`serveHttp() over ${scheme} closes a connection that does not finish its headers within the header timeout, and answers the others`, async () => {
    await withCerts(async (tls, ca) => {
      const server = await serveHttp({
        hostname: "127.0.0.1",
        port: 0,
        tls: scheme === "https" ? tls : undefined,
        headerTimeoutMs: 300,
      }, () => new Response("ok"));
      const connect = () =>
        scheme === "https"
          ? Deno.connectTls({ hostname: "127.0.0.1", port: server.addr.port, caCerts: [ca] })
          : Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      const conns: Deno.Conn[] = [];
      const client = Deno.createHttpClient({ caCerts: [ca] });
      try {
        const opened = performance.now(); // the bound runs from the server's accept, after this
        const half = await connect();
        conns.push(half);
        await half.write(PARTIAL);
        const silent = await connect(); // sends nothing at all
        conns.push(silent);
        if (scheme === "https") await (silent as Deno.TlsConn).handshake();
        // Over TLS, also one that never starts its handshake, and one speaking plain HTTP.
        const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
        conns.push(raw);
        const [a, b, c] = await Promise.all([
          closedWithin(half, 10_000, opened),
          closedWithin(silent, 10_000, opened),
          closedWithin(raw, 10_000, opened),
        ]);
        assert.ok(a >= 250 && b >= 250, `closed after ${a} and ${b} ms, before the bound`);
        assert.ok(c >= 250, `closed after ${c} ms, before the bound`);
        if (scheme === "https") {
          const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
          conns.push(plain);
          await plain.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
          assert.ok(await closedWithin(plain, 10_000) < 250, "plain HTTP to TLS not refused");
        }
        // A request that is sent in time is answered, also on a kept-alive connection.
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`${scheme}://127.0.0.1:${server.addr.port}/`, { client });
          assert.equal(await r.text(), "ok");
        }
        assert.ok(server.waiting!.timedOut >= 3);
      } finally {
        for (const c of conns) {
          try {
            c.close();
          } catch { /* closed by the server */ }
        }
        client.close();
        await server.shutdown();
      }
    });
  });
}

Deno.test("serveHttp() keeps at most waitingPerAddress waiting connections per client address, closing the oldest", async () => {
  const server = await serveHttp(
    { hostname: "127.0.0.1", port: 0, headerTimeoutMs: 60_000, waitingPerAddress: 3 },
    () => new Response("ok"),
  );
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      conns.push(conn);
      await conn.write(PARTIAL);
    }
    // The two oldest are closed long before the 60 s bound; the newest three stay.
    await closedWithin(conns[0]!, 10_000);
    await closedWithin(conns[1]!, 10_000);
    await assert.rejects(closedWithin(conns[4]!, 300), /still open/);
    assert.equal(server.waiting!.overShare, 2);
    const r = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await r.text(), "ok");
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed by the server */ }
    }
    await server.shutdown();
  }
});

Deno.test("serveHttp() over TLS sends a response streamed in several writes without a delayed-ACK stall", async () => {
  await withCerts(async (tls, ca) => {
    const chunk = new Uint8Array(8_000).fill(120);
    const streamed = () => {
      let left = 4;
      return new Response(
        new ReadableStream({
          async pull(c) {
            await new Promise((r) => setTimeout(r, 1)); // each chunk is its own write
            if (left-- > 0) c.enqueue(chunk);
            else c.close();
          },
        }),
      );
    };
    const https = await serveHttp({ hostname: "127.0.0.1", port: 0, tls }, streamed);
    const http = await serveHttp({ hostname: "127.0.0.1", port: 0 }, streamed);
    const client = Deno.createHttpClient({ caCerts: [ca] });
    const time = async (url: string) => {
      const start = performance.now();
      const r = await fetch(url, { client });
      assert.equal((await r.arrayBuffer()).byteLength, 32_000);
      return performance.now() - start;
    };
    try {
      const overTls: number[] = [], plain: number[] = [];
      for (let i = 0; i < 21; i++) {
        overTls.push(await time(`https://127.0.0.1:${https.addr.port}/`));
        plain.push(await time(`http://127.0.0.1:${http.addr.port}/`));
      }
      const median = (a: number[]) => a.sort((x, y) => x - y)[10]!;
      // Nagle would hold each write back ~40 ms behind the unacknowledged one before it; the
      // chunks' own pauses (timers, slow on a loaded machine) weigh on both alike.
      const added = median(overTls) - median(plain);
      assert.ok(added < 30, `TLS median ${median(overTls)} ms, plain ${median(plain)} ms`);
    } finally {
      client.close();
      await https.shutdown();
      await http.shutdown();
    }
  });
});

Deno.test("serveHttp() gives a kept-alive connection the idle timeout after a response, not the header timeout", async () => {
  const server = await serveHttp(
    { hostname: "127.0.0.1", port: 0, headerTimeoutMs: 300, idleTimeoutMs: 1500 },
    () => new Response("ok"),
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const request = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const answer = async () => {
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n\r\nok")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`closed after ${JSON.stringify(text)}`);
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  };
  try {
    await conn.write(request);
    assert.match(await answer(), /^HTTP\/1.1 200/);
    // Idle for longer than the header timeout: a client's pool reuses such a connection.
    await new Promise((r) => setTimeout(r, 700));
    await conn.write(request);
    assert.match(await answer(), /^HTTP\/1.1 200/);
    const after = await closedWithin(conn, 10_000);
    assert.ok(after >= 1200, `closed after ${after} ms idle, before the idle timeout`);
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
    await server.shutdown();
  }
});

Deno.test("setListenerNoDelay() sets TCP_NODELAY on a TLS listener's socket, on Linux", async () => {
  await withCerts((tls) => {
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
    try {
      assert.equal(setListenerNoDelay(listener.addr.port), Deno.build.os === "linux");
    } finally {
      listener.close();
    }
    return Promise.resolve();
  });
});
