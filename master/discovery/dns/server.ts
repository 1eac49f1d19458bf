/**
 * The DNS server: UDP and TCP (2-byte length prefix) on one port, answering from a
 * `CatalogSource`. UDP uses `node:dgram`, which works in Deno 2 without `--unstable-net`.
 */
import dgram from "node:dgram";
import type { CatalogSource } from "../catalog_store.ts";
import { answerQuery } from "./resolver.ts";
import {
  decodeMessage,
  DnsFormatError,
  type DnsMessage,
  encodeMessage,
  Rcode,
  RecordType,
} from "./message.ts";

/** Options of `startDnsServer()`. */
export interface DnsServerOptions {
  source: CatalogSource;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Default 8053; 0 picks a port free for both UDP and TCP. */
  port?: number;
  /** Default `tender`. */
  domain?: string;
  /** Record TTL in seconds. Default 5. */
  ttl?: number;
}

/** A running DNS server. */
export interface DnsServer {
  hostname: string;
  port: number;
  /** Stops both listeners and closes open TCP connections; closing again waits for the first. */
  close(): Promise<void>;
}

const UDP_LIMIT = 512;
const EDNS_LIMIT = 1232;

/** Answers raw query bytes; `undefined` when the bytes are not worth an answer. */
export function respond(
  bytes: Uint8Array,
  options: { source: CatalogSource; domain: string; ttl: number; udp: boolean },
): Uint8Array | undefined {
  let query: DnsMessage;
  try {
    query = decodeMessage(bytes);
  } catch (e) {
    if (!(e instanceof DnsFormatError) || bytes.length < 12) return undefined;
    const formErr = new Uint8Array(bytes.subarray(0, 12));
    formErr[2] = 0x80 | (formErr[2] ?? 0) & 0x79; // QR, keep opcode and RD
    formErr[3] = Rcode.FORMERR;
    formErr.fill(0, 4, 12);
    return formErr;
  }
  if (query.header.qr) return undefined;
  const { catalog, version } = options.source.current();
  const answer = answerQuery(query, catalog, {
    domain: options.domain,
    ttl: options.ttl,
    serial: version,
  });
  const opt = query.additionals.find((r) => r.type === RecordType.OPT);
  const limit = opt ? Math.min(EDNS_LIMIT, Math.max(UDP_LIMIT, opt.class)) : UDP_LIMIT;
  try {
    return encodeMessage(answer, options.udp ? limit : undefined);
  } catch {
    // A catalog value that cannot be written (an over-long name): fail this query only.
    const header = { ...answer.header, rcode: Rcode.SERVFAIL };
    return encodeMessage({ ...answer, header, answers: [], authorities: [], additionals: [] });
  }
}

function bindUdp(hostname: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", reject);
    socket.bind(port, hostname, () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

async function readExact(conn: Deno.Conn, n: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) return undefined;
    got += read;
  }
  return out;
}

async function serveTcp(conn: Deno.Conn, answer: (b: Uint8Array) => Uint8Array | undefined) {
  try {
    for (;;) {
      const prefix = await readExact(conn, 2);
      if (prefix === undefined) return;
      const body = await readExact(conn, ((prefix[0] ?? 0) << 8) | (prefix[1] ?? 0));
      if (body === undefined) return;
      const reply = answer(body);
      if (reply === undefined) return;
      const framed = new Uint8Array(2 + reply.length);
      framed[0] = reply.length >> 8;
      framed[1] = reply.length & 0xff;
      framed.set(reply, 2);
      for (let sent = 0; sent < framed.length;) sent += await conn.write(framed.subarray(sent));
    }
  } catch {
    // A client that resets its connection is not the server's failure.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Binds UDP and TCP on one port; with port 0, retries until a port is free for both. */
async function bindBoth(hostname: string, port: number) {
  for (let attempt = 0;; attempt++) {
    const socket = await bindUdp(hostname, port);
    try {
      const listener = Deno.listen({ hostname, port: socket.address().port, transport: "tcp" });
      return { socket, listener };
    } catch (e) {
      socket.close();
      if (!(e instanceof Deno.errors.AddrInUse) || port !== 0 || attempt > 20) throw e;
    }
  }
}

/** Starts the DNS server on UDP and TCP. */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const settings = {
    source: options.source,
    domain: (options.domain ?? "tender").toLowerCase().replace(/^\.|\.$/g, ""),
    ttl: options.ttl ?? 5,
  };
  const { socket, listener } = await bindBoth(hostname, options.port ?? 8053);
  socket.on("message", (msg, rinfo) => {
    try {
      const reply = respond(new Uint8Array(msg), { ...settings, udp: true });
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    } catch {
      // One bad datagram must never take the server (and the master with it) down.
    }
  });
  socket.on("error", () => {});
  const conns = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      serveTcp(conn, (b) => respond(b, { ...settings, udp: false }))
        .finally(() => conns.delete(conn));
    }
  })().catch(() => {});
  // Closing twice (two signals while a master stops) must not close the listener twice: that
  // throws BadResource. The second close waits for the first.
  let closing: Promise<void> | undefined;
  const close = async () => {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    await accepting;
  };
  return {
    hostname,
    port: listener.addr.port,
    close: () => closing ??= close(),
  };
}
