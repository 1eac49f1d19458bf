import assert from "node:assert/strict";
import { Hono } from "hono";
import { httpErrorHandler, plainText } from "./errors.ts";
import { requestLimits } from "./http_limits.ts";

/** A real server with the guard (100 bytes, 300 ms) in front of a route echoing its body. */
async function withServer(fn: (port: number) => Promise<void>): Promise<void> {
  const app = new Hono();
  app.use(requestLimits({ maxBytes: 100, deadlineMs: 300 }));
  app.onError(httpErrorHandler("test", plainText));
  app.post("/echo", async (c) => c.text(`got ${await c.req.text()}`));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

/** Sends `head` then, after `pauseMs`, `rest` on a raw connection; the whole answer. */
async function raw(port: number, head: string, pauseMs: number, rest = ""): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    if (rest) await conn.write(new TextEncoder().encode(rest)).catch(() => 0);
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
      if (/\r\n\r\n/.test(text) && /Content-Length: (\d+)/i.test(text)) {
        const length = Number(/Content-Length: (\d+)/i.exec(text)![1]);
        if (text.length - text.indexOf("\r\n\r\n") - 4 >= length) return text;
      }
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    conn.close();
  }
}

Deno.test("a body with a declared length reaches the route whole; over the limit is 413 unread", async () => {
  await withServer(async (port) => {
    const ok = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: "hello" });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "got hello");
    const big = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: "POST",
      body: "x".repeat(101),
    });
    assert.equal(big.status, 413);
    assert.match(await big.text(), /101 bytes exceeds the limit of 100/);
  });
});

Deno.test("a declared body that does not arrive within the deadline is 408", async () => {
  await withServer(async (port) => {
    const answer = await raw(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
      1000,
      "defghij",
    );
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /not received within 300 ms/);
    // In time, split in two writes, it is read whole.
    const late = await raw(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
      50,
      "defghij",
    );
    assert.match(late, /^HTTP\/1\.1 200/);
    assert.match(late, /got abcdefghij/);
  });
});

Deno.test("a chunked body is counted as it is read (413) and has the deadline too (408)", async () => {
  await withServer(async (port) => {
    const chunked = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n`;
    const big = await raw(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunked("x".repeat(60)) + chunked("y".repeat(60)) + "0\r\n\r\n",
      0,
    );
    assert.match(big, /^HTTP\/1\.1 413/);
    const slow = await raw(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("abc"),
      1000,
      "0\r\n\r\n",
    );
    assert.match(slow, /^HTTP\/1\.1 408/);
    const ok = await raw(
      port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
        chunked("abc") + "0\r\n\r\n",
      0,
    );
    assert.match(ok, /^HTTP\/1\.1 200/);
    assert.match(ok, /got abc/);
  });
});

Deno.test("a body cut short by the client is a 400 (not an unhandled error)", async () => {
  await withServer(async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(
        new TextEncoder().encode("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"),
      );
      await conn.closeWrite();
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      const answer = n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
      assert.match(answer, /^HTTP\/1\.1 400/);
      assert.match(answer, /ended before its declared Content-Length/);
    } finally {
      conn.close();
    }
  });
});
