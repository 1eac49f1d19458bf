import assert from "node:assert/strict";
import { UpstreamError, UpstreamPool, type UpstreamResponse } from "./upstream_http.ts";

const enc = new TextEncoder();

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw TCP backend: each request head read gets `answer(n)` for the n-th request overall. */
function rawBackend(answer: (n: number) => string | null) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let n = 0;
  let accepted = 0;
  const heads: string[] = [];
  /** For each head, the ordinal (from 1) of the connection it came on. */
  const headConns: number[] = [];
  const closed: number[] = [];
  const serve = async (conn: Deno.Conn, ordinal: number) => {
    const buf = new Uint8Array(8192);
    let text = "";
    try {
      for (;;) {
        const got = await conn.read(buf);
        if (got === null) break;
        text += new TextDecoder().decode(buf.subarray(0, got));
        while (text.includes("\r\n\r\n")) {
          const at = text.indexOf("\r\n\r\n");
          heads.push(text.slice(0, at));
          headConns.push(ordinal);
          text = text.slice(at + 4);
          const reply = answer(n++);
          if (reply === null) return conn.close();
          await conn.write(enc.encode(reply));
          // An HTTP/1.0 answer ends its body by closing.
          if (reply.startsWith("HTTP/1.0") || /connection: close/i.test(reply)) {
            return conn.close();
          }
        }
      }
    } catch { /* closed */ }
    conns.delete(conn);
    closed.push(ordinal);
  };
  (async () => {
    try {
      for await (const conn of listener) {
        accepted += 1;
        conns.add(conn);
        serve(conn, accepted);
      }
    } catch { /* closed */ }
  })();
  return {
    port: listener.addr.port,
    heads,
    headConns,
    /** Ordinals of connections the client closed. */
    closed,
    accepted: () => accepted,
    /** Closes every open connection, as a server timing out idle ones does. */
    dropOpen() {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
    close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

async function text(body: UpstreamResponse["body"]): Promise<string> {
  return body === null ? "" : await new Response(body).text();
}

function send(pool: UpstreamPool, port: number, extra: { headersTimeoutMs?: number } = {}) {
  let doneCalls = 0;
  const sent = pool.send({
    ip: "127.0.0.1",
    port,
    method: "GET",
    target: "/p?q=1",
    headers: [["host", "web.test"]],
    connectTimeoutMs: 1000,
    headersTimeoutMs: extra.headersTimeoutMs ?? 5000,
    done: () => doneCalls++,
  });
  return { sent, done: () => doneCalls };
}

Deno.test("UpstreamPool.send() reuses a keep-alive connection and drops hop-by-hop headers", async () => {
  const backend = rawBackend(() =>
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\n\r\nhi"
  );
  const pool = new UpstreamPool();
  try {
    for (let i = 0; i < 3; i++) {
      const { sent, done } = send(pool, backend.port);
      const res = await sent;
      assert.equal(res.status, 200);
      assert.equal(await text(res.body), "hi");
      assert.equal(res.headers.get("x-a"), "1");
      assert.equal(res.headers.get("keep-alive"), null);
      assert.equal(done(), 1);
    }
    assert.equal(backend.accepted(), 1);
    assert.equal(backend.heads[0], "GET /p?q=1 HTTP/1.1\r\nhost: web.test");
  } finally {
    pool.close();
    backend.close();
  }
});

Deno.test("UpstreamPool.send() decodes a chunked body and streams a body ending at close", async () => {
  const backend = rawBackend((n) =>
    n === 0
      ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
      : "HTTP/1.0 200 OK\r\n\r\nuntil close"
  );
  const pool = new UpstreamPool();
  try {
    const first = send(pool, backend.port);
    const chunked = await first.sent;
    assert.equal(chunked.headers.get("transfer-encoding"), null);
    assert.equal(await text(chunked.body), "abcde");
    assert.equal(first.done(), 1);
    const second = send(pool, backend.port);
    const res = await second.sent;
    assert.equal(await text(res.body), "until close");
    assert.equal(second.done(), 1);
  } finally {
    pool.close();
    backend.close();
  }
});

Deno.test("UpstreamPool.send() retries on a new connection when an idle one was closed", async () => {
  const backend = rawBackend((n) =>
    n === 1 ? null : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
  );
  const pool = new UpstreamPool();
  try {
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.equal(backend.accepted(), 2);
  } finally {
    pool.close();
    backend.close();
  }
});

Deno.test("UpstreamPool.send() fails with kind connect or timeout", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = probe.addr.port;
  probe.close();
  const silent = rawBackend(() => "");
  const pool = new UpstreamPool();
  try {
    await assert.rejects(
      send(pool, closedPort).sent,
      (e) => e instanceof UpstreamError && e.kind === "connect",
    );
    const slow = send(pool, silent.port, { headersTimeoutMs: 100 });
    await assert.rejects(slow.sent, (e) => e instanceof UpstreamError && e.kind === "timeout");
    assert.equal(slow.done(), 0);
  } finally {
    pool.close();
    silent.close();
  }
});

Deno.test("UpstreamPool.retain() lets idle connections to backends that left go", async () => {
  const backend = rawBackend(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  const pool = new UpstreamPool();
  try {
    const key = `127.0.0.1:${backend.port}`;
    pool.retain(new Set([key]));
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.equal(backend.accepted(), 1);
    pool.retain(new Set());
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.equal(backend.accepted(), 3);
  } finally {
    pool.close();
    backend.close();
  }
});

Deno.test("UpstreamPool.send() goes out on a spare connection opened ahead to a backend that closes", async () => {
  const backend = rawBackend(() =>
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
  );
  const pool = new UpstreamPool({ spareMs: 300 });
  try {
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    // The first response closed its connection; a spare was opened for the next request.
    await until("the spare connection", () => backend.accepted() === 2);
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.deepEqual(backend.headConns, [1, 2]);
    // The spare opened after the second response is closed unused once spareMs passed.
    await until("the unused spare closed", () => backend.closed.includes(3));
    assert.equal(backend.heads.length, 2);
  } finally {
    pool.close();
    backend.close();
  }
});

Deno.test("UpstreamPool.send() sends on a new connection when the backend closed the spare", async () => {
  // Request 0 answers and closes; the spare (connection 2) is closed by the backend unused.
  const backend = rawBackend(() =>
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
  );
  const pool = new UpstreamPool();
  try {
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    await until("the spare connection", () => backend.accepted() === 2);
    backend.dropOpen();
    await until("the spare closed", () => backend.closed.includes(2));
    assert.equal(await text((await send(pool, backend.port).sent).body), "ok");
    assert.deepEqual(backend.headConns, [1, 3]);
  } finally {
    pool.close();
    backend.close();
  }
});
