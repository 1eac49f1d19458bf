/**
 * DNS of a master with security on (credentials, view ACLs, every switch) and `--dns-host
 * 127.0.0.1`. DNS cannot authenticate and answers anyone who reaches it (docs/decisions.md, "DNS
 * answers anyone who reaches it"): what it may tell is the catalog — names of running tasks,
 * agent IPs, ports. So its promises here are: it listens where `--dns-host` says, changes no
 * state, answers no name outside the catalog (the owner's framework runs no task: its name, its
 * user and its principal are nowhere in DNS, though queried for by name), holds no secret, and
 * no packet (random, or a query with one byte changed) gets a failure or crash. Packets go over
 * TCP (a dropped one closes the connection); the queries for hidden names also over UDP.
 */
import dgram from "node:dgram";
import fc from "fast-check";
import { decodeMessage, type DnsRecord } from "../../master/discovery/dns/message.ts";
import { DEFAULT_MASTER_OPTIONS, lead } from "../../master/mod.ts";
import { MasterStore } from "../../master/store/master_store.ts";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { FORBIDDEN, OWNER, PRIVATE, security } from "./hostile_callers.ts";
import type { FuzzRequest } from "./inputs.ts";
import { dnsPackets, JSON_TYPE, kvDigest, type Outcome, query, type Target } from "./targets.ts";

const DNS_HOST = "127.0.0.1";

/** Names that hold what the view ACLs hide, as a resolver would ask for them. */
const hiddenQueries: fc.Arbitrary<FuzzRequest> = fc.tuple(
  fc.constantFrom(
    `${PRIVATE.framework}.tender`,
    `task.${PRIVATE.framework}.tender`,
    `_task._tcp.${PRIVATE.framework}.tender`,
    `${PRIVATE.user}.tender`,
    "owner.tender",
    "leader.tender",
    "master.tender",
    "tender",
  ),
  fc.constantFrom(1, 33, 255, 6), // A, SRV, ANY, SOA
  fc.constantFrom("DNS", "DNS/UDP"),
).map(([name, type, method]) => {
  const bytes = query(name);
  bytes[bytes.length - 3] = type;
  return { method, path: name, headers: {}, body: bytes };
});

/** The records of an answer as text (its question, which echoes the query, left out). */
function recordsText(reply: Uint8Array): string {
  const m = decodeMessage(reply);
  const text = (r: DnsRecord) =>
    `${r.name} ${
      r.data.kind === "raw"
        ? String.fromCharCode(...r.data.bytes.subarray(0, 4096))
        : JSON.stringify(r.data)
    }`;
  return [...m.answers, ...m.authorities, ...m.additionals].map(text).join("\n");
}

async function overTcp(port: number, packet: Uint8Array): Promise<Uint8Array | undefined> {
  const conn = await Deno.connect({ hostname: DNS_HOST, port });
  try {
    const framed = new Uint8Array([packet.length >> 8, packet.length & 0xff, ...packet]);
    for (let sent = 0; sent < framed.length;) sent += await conn.write(framed.subarray(sent));
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(...buf.subarray(0, n));
      const length = ((chunks[0] ?? 0) << 8) | (chunks[1] ?? 0);
      if (chunks.length >= 2 && chunks.length >= 2 + length) {
        return new Uint8Array(chunks.slice(2, 2 + length));
      }
    }
    return undefined; // dropped: the server closed the connection
  } finally {
    conn.close();
  }
}

function overUdp(port: number, packet: Uint8Array): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const done = (reply?: Uint8Array) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    // The hidden-name queries are well formed: a missing answer within 2 s is a drop.
    const timer = setTimeout(() => done(), 2000);
    socket.on("message", (msg) => done(new Uint8Array(msg)));
    socket.on("error", (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    socket.send(packet, port, DNS_HOST);
  });
}

/** The master's DNS with security on: callers without credentials, by protocol. */
export const DNS_SECURE_TARGET: Target = {
  name: "DNS (--dns-host, security on)",
  secure: {
    secrets: FORBIDDEN,
    hidden: [PRIVATE.framework, PRIVATE.user, "owner"],
    // Anyone who reaches DNS is answered (by design): only what it answers is checked.
    open: () => true,
  },
  inputs: fc.oneof(
    { weight: 3, arbitrary: dnsPackets },
    { weight: 1, arbitrary: hiddenQueries },
  ),
  async start(workDir) {
    const kv = await DenoKvStore.open(":memory:");
    const leading = await lead(new MasterStore(kv), { ...DEFAULT_MASTER_OPTIONS }, {
      workDir,
      clock: new FakeClock(Date.UTC(2026, 0, 1)),
      ids: new SequentialIds(),
      security: security(),
      authenticate: { frameworks: true, agents: true, httpReadonly: true, httpReadwrite: true },
      dnsPort: 0,
      dnsHost: DNS_HOST,
    });
    const port = leading.dnsPort;
    const violations = port === undefined ? ["DNS did not start on --dns-host"] : [];
    // The owner's framework, registered and connected, running no task.
    const subscribed = new AbortController();
    const res = await leading.app.request("/api/v1/scheduler", {
      method: "POST",
      headers: { ...JSON_TYPE, Authorization: OWNER },
      body: JSON.stringify({
        type: "SUBSCRIBE",
        subscribe: {
          framework_info: { user: PRIVATE.user, name: PRIVATE.framework, roles: ["*"] },
        },
      }),
      signal: subscribed.signal,
    });
    if (res.status !== 200 || !res.body) {
      throw new Error(`seeding the framework answered ${res.status}: ${await res.text()}`);
    }
    void res.body.pipeTo(new WritableStream()).catch(() => {});
    const state = async () => {
      await leading.runtime.read(() => {});
      return await kvDigest(kv, [["agents"], ["frameworks"], ["tasks"], ["removed_frameworks"]]);
    };
    return {
      violations,
      async send(req): Promise<Outcome> {
        const packet = req.body as Uint8Array;
        const reply = req.method === "DNS/UDP"
          ? await overUdp(port!, packet)
          : await overTcp(port!, packet);
        if (reply === undefined) return { status: 204 };
        if (reply.length < 12) return { status: 200, body: "" }; // a bare header, as sent back
        let body: string;
        try {
          body = recordsText(reply);
        } catch {
          return { status: 500 }; // an answer we cannot read back
        }
        return { status: 200, body };
      },
      state,
      async stop() {
        subscribed.abort();
        await leading.stop();
        kv.close();
      },
    };
  },
};
