/**
 * DNS wire codec: ours (`master/discovery/dns/message.ts`) against npm `dns-packet` behind the
 * same interface (`encodeMessage`/`decodeMessage`, adapted below), on the same inputs:
 * - `decode_query`: an SRV query with an EDNS OPT record, as `dig` sends it;
 * - `encode_answer`: the answer the resolver builds for it (10 SRV, 10 A glue, OPT), limited
 *   to 1,232 bytes as the server writes UDP answers;
 * - `decode_malformed`: 400 broken packets (every truncation of a valid answer, random bytes,
 *   flipped bytes, pointer loops), each of which must be refused.
 * Then behaviour: the answer's size, how many SRV records fit in 512 bytes, and the checks of
 * `master/discovery/dns/message_test.ts` run against both codecs (`*_checks_failed` names the
 * ones a codec fails). Rounds alternate the two codecs so load from elsewhere hits both alike;
 * each op's figure is the median over rounds. Prints `metric value unit` lines.
 *
 *   deno run -A tests/bench/dns_codec.ts [--rounds 15] [--iterations 2000]
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
// @ts-types="npm:@types/dns-packet@5.6.5"
import * as dnsPacketModule from "npm:dns-packet@5.6.1";
import {
  CLASS_IN,
  decodeHeader,
  decodeMessage,
  DnsFormatError,
  type DnsMessage,
  type DnsRecord,
  encodeFitting,
  encodeMessage,
  type RData,
  RecordType,
} from "../../master/discovery/dns/message.ts";
import { aRecord, queryMessage, soaRecord } from "../support/dns_messages.ts";

// ---- dns-packet behind our interface -----------------------------------------------------------

/** The part of dns-packet's packet shape the adapter reads and writes (types as strings). */
interface LibRecord {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flags?: number;
  options?: unknown[];
}
interface LibPacket {
  id?: number;
  type?: "query" | "response";
  flags?: number;
  questions?: { name: string; type: string; class?: string }[];
  answers?: LibRecord[];
  authorities?: LibRecord[];
  additionals?: LibRecord[];
}
interface LibCodec {
  encode(p: LibPacket): Buffer;
  decode(b: Buffer): LibPacket;
}
// @types/dns-packet has no UNKNOWN_<n> types nor a loose record: one cast, here at the edge.
const lib = dnsPacketModule as unknown as LibCodec;

const TYPE_NAMES = new Map<number, string>(
  Object.entries(RecordType).map(([k, v]) => [v, k] as [number, string]),
);
const typeName = (t: number) => TYPE_NAMES.get(t) ?? `UNKNOWN_${t}`;
const typeNumber = (t: string) =>
  (RecordType as Record<string, number>)[t] ?? Number(t.replace(/^UNKNOWN_/, ""));
const className = (c: number) => c === CLASS_IN ? "IN" : `UNKNOWN_${c}`;
const classNumber = (c: string | undefined) => c === "IN" ? CLASS_IN : Number(c?.slice(8));

function toLibRecord(r: DnsRecord): LibRecord {
  if (r.type === RecordType.OPT) {
    return {
      name: ".",
      type: "OPT",
      udpPayloadSize: r.class,
      extendedRcode: r.ttl >>> 24,
      ednsVersion: (r.ttl >>> 16) & 0xff,
      flags: r.ttl & 0xffff,
      options: [],
    };
  }
  const d = r.data;
  const base = { name: r.name, type: typeName(r.type), class: className(r.class), ttl: r.ttl };
  if (d.kind === "A") {
    const parts = d.address.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new DnsFormatError(`"${d.address}" is not an IPv4 address`);
    }
    return { ...base, data: d.address };
  }
  if (d.kind === "SRV") {
    return {
      ...base,
      data: { priority: d.priority, weight: d.weight, port: d.port, target: d.target },
    };
  }
  if (d.kind === "SOA") {
    const { kind: _, ...soa } = d;
    return { ...base, data: soa };
  }
  return { ...base, data: Buffer.from(d.bytes) };
}

function fromLibRecord(r: LibRecord): DnsRecord {
  if (r.type === "OPT") {
    const ttl = (((r.extendedRcode ?? 0) << 24) | ((r.ednsVersion ?? 0) << 16) | (r.flags ?? 0)) >>>
      0;
    const data: RData = { kind: "raw", bytes: new Uint8Array() };
    return { name: "", type: RecordType.OPT, class: r.udpPayloadSize ?? 0, ttl, data };
  }
  const type = typeNumber(r.type);
  const name = r.name === "." ? "" : r.name;
  const base = { name, type, class: classNumber(r.class), ttl: r.ttl ?? 0 };
  const d = r.data;
  if (r.type === "A" && typeof d === "string") return { ...base, data: { kind: "A", address: d } };
  if (r.type === "SRV" && typeof d === "object" && d !== null && "port" in d) {
    const s = d as { priority: number; weight: number; port: number; target: string };
    return { ...base, data: { kind: "SRV", ...s } };
  }
  if (r.type === "SOA" && typeof d === "object" && d !== null && "mname" in d) {
    const s = d as Omit<Extract<RData, { kind: "SOA" }>, "kind">;
    return { ...base, data: { kind: "SOA", ...s } };
  }
  if (d instanceof Uint8Array) return { ...base, data: { kind: "raw", bytes: new Uint8Array(d) } };
  throw new DnsFormatError(`record type ${r.type} not mapped`);
}

function encodeWholeLib(m: DnsMessage): Uint8Array {
  for (const name of [...m.questions, ...m.answers, ...m.authorities].map((x) => x.name)) {
    for (const label of name.split(".")) {
      const n = new TextEncoder().encode(label).length;
      if (name !== "" && (n === 0 || n > 63)) {
        throw new DnsFormatError(`label "${label}" must be 1 to 63 bytes`);
      }
    }
  }
  const h = m.header;
  const flags = ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.rcode & 0xf);
  const buf = lib.encode({
    id: h.id,
    type: h.qr ? "response" : "query",
    flags,
    questions: m.questions.map((q) => ({
      name: q.name,
      type: typeName(q.type),
      class: className(q.class),
    })),
    answers: m.answers.map(toLibRecord),
    authorities: m.authorities.map(toLibRecord),
    additionals: m.additionals.map(toLibRecord),
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** `encodeMessage()` with dns-packet writing the bytes; truncation as ours (the library has none). */
export function encodeMessageLib(message: DnsMessage, maxSize?: number): Uint8Array {
  return encodeFitting(message, maxSize, encodeWholeLib);
}

/** `decodeMessage()` with dns-packet reading the bytes; its errors become `DnsFormatError`. */
export function decodeMessageLib(bytes: Uint8Array): DnsMessage {
  let p: LibPacket;
  try {
    p = lib.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new DnsFormatError(e instanceof Error ? e.message : String(e));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(2);
  return {
    // dns-packet reads the flags as names; the header's word is ours to read.
    header: { ...decodeHeader(p.id ?? 0, flags), qr: p.type === "response" },
    questions: (p.questions ?? []).map((q) => ({
      name: q.name === "." ? "" : q.name,
      type: typeNumber(q.type),
      class: classNumber(q.class),
    })),
    answers: (p.answers ?? []).map(fromLibRecord),
    authorities: (p.authorities ?? []).map(fromLibRecord),
    additionals: (p.additionals ?? []).map(fromLibRecord),
  };
}

interface Codec {
  encode(m: DnsMessage, maxSize?: number): Uint8Array;
  decode(b: Uint8Array): DnsMessage;
}
const CODECS: Record<"ours" | "dns_packet", Codec> = {
  ours: { encode: encodeMessage, decode: decodeMessage },
  dns_packet: { encode: encodeMessageLib, decode: decodeMessageLib },
};

// ---- inputs ------------------------------------------------------------------------------------

const message = queryMessage;

const OPT: DnsRecord = {
  name: "",
  type: RecordType.OPT,
  class: 1232,
  ttl: 0,
  data: { kind: "raw", bytes: new Uint8Array() },
};

function srvAnswer(count: number): DnsMessage {
  const m = message("_web._tcp.marathon.tender", RecordType.SRV);
  m.header = { ...m.header, qr: true, aa: true };
  for (let i = 0; i < count; i++) {
    const target = `web-${(0x1000_0000 + i).toString(16)}.marathon.tender`;
    m.answers.push({
      name: "_web._tcp.marathon.tender",
      type: RecordType.SRV,
      class: CLASS_IN,
      ttl: 5,
      data: { kind: "SRV", priority: 0, weight: 1, port: 31000 + i, target },
    });
    m.additionals.push(aRecord(target, `10.0.${i >> 8}.${i & 0xff}`, 5));
  }
  m.additionals.push(OPT);
  return m;
}

function malformed(): Uint8Array[] {
  const valid = encodeMessage(srvAnswer(10));
  const out: Uint8Array[] = [];
  // Every cut of a valid answer short of its end.
  for (let n = 0; n < valid.length && out.length < 200; n += Math.max(1, valid.length / 200 | 0)) {
    out.push(valid.slice(0, n));
  }
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  while (out.length < 300) {
    out.push(Uint8Array.from({ length: 12 + (rand() * 100 | 0) }, () => rand() * 256 | 0));
  }
  // Pointer loops: a name pointing at itself, and two names pointing at each other.
  const head = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  while (out.length < 350) out.push(new Uint8Array([...head, 0xc0, 12, 0, 1, 0, 1]));
  while (out.length < 400) out.push(new Uint8Array([...head, 1, 97, 0xc0, 12, 0, 1, 0, 1]));
  return out;
}

// ---- behaviour -------------------------------------------------------------------------------

/** The checks of message_test.ts, against one codec; returns the names of those that fail. */
function conformance(c: Codec): string[] {
  const failed: string[] = [];
  const check = (name: string, ok: () => boolean) => {
    try {
      if (!ok()) failed.push(name);
    } catch {
      failed.push(name);
    }
  };
  const throwsFormat = (f: () => unknown) => {
    try {
      f();
      return false;
    } catch (e) {
      return e instanceof DnsFormatError;
    }
  };
  check("query_bytes", () =>
    JSON.stringify([...c.encode(message("a.bc", RecordType.A))]) ===
      JSON.stringify([0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 2, 98, 99, 0, 0, 1, 0, 1]));
  check("round_trip_a_srv_soa_opt", () => {
    const m = srvAnswer(2);
    m.authorities = [soaRecord()];
    return JSON.stringify(c.decode(c.encode(m))) === JSON.stringify(m);
  });
  check("name_compression", () => {
    const m = message("a.marathon.tender", RecordType.A);
    m.answers = ["b", "c"].map((l) => aRecord(`${l}.marathon.tender`, "1.2.3.4", 1));
    return new TextDecoder().decode(c.encode(m)).split("marathon").length - 1 === 1;
  });
  check("follows_pointers", () => {
    const head = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    // A pointer forward (to 20), which RFC 1035 does not forbid and our decoder reads.
    const bytes = new Uint8Array([...head, 1, 120, 0xc0, 20, 0, 1, 0, 1, 1, 121, 0]);
    return c.decode(bytes).questions[0]?.name === "x.y";
  });
  check(
    "rejects_loops_and_short",
    () =>
      throwsFormat(() =>
        c.decode(new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12]))
      ) &&
      throwsFormat(() => c.decode(new Uint8Array([0, 1, 0]))),
  );
  check("truncation_tc_bit", () => {
    const cut = c.decode(c.encode(srvAnswer(40), 512));
    return cut.header.tc && cut.answers.length === 0 && cut.additionals.length === 1;
  });
  check("rejects_long_label_and_bad_ipv4", () => {
    const bad = message("a.tender", 1);
    bad.answers = [{
      name: "a.tender",
      type: 1,
      class: 1,
      ttl: 1,
      data: { kind: "A", address: "1.2" },
    }];
    return throwsFormat(() => c.encode(message(`${"a".repeat(64)}.tender`, 1))) &&
      throwsFormat(() => c.encode(bad));
  });
  check("refuses_all_malformed", () => malformed().every((b) => throwsFormat(() => c.decode(b))));
  return failed;
}

/** How many SRV answers (with their A glue) fit in `limit` bytes before truncation. */
function srvFit(c: Codec, limit: number): number {
  let n = 0;
  while (c.encode(srvAnswer(n + 1)).length <= limit) n++;
  return n;
}

// ---- timing ----------------------------------------------------------------------------------

function nsPerOp(iterations: number, op: () => void): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) op();
  return (performance.now() - start) * 1e6 / iterations;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "15" },
      iterations: { type: "string", default: "2000" },
    },
  });
  const rounds = Number(args.values.rounds);
  const iterations = Number(args.values.iterations);
  const queryMessage = message("_web._tcp.marathon.tender", RecordType.SRV);
  queryMessage.additionals = [OPT];
  const query = encodeMessage(queryMessage);
  const answer = srvAnswer(10);
  const broken = malformed();
  const ops = {
    decode_query: (c: Codec) => () => c.decode(query),
    encode_answer: (c: Codec) => () => c.encode(answer, 1232),
    decode_malformed: (c: Codec) => () => {
      for (const b of broken) {
        try {
          c.decode(b);
        } catch { /* expected */ }
      }
    },
  };
  const times = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [op, make] of Object.entries(ops)) {
      const n = op === "decode_malformed" ? Math.max(1, iterations / 100 | 0) : iterations;
      for (
        const [codec, c] of r % 2 === 0 ? Object.entries(CODECS) : Object.entries(CODECS).reverse()
      ) {
        const t = nsPerOp(n, make(c));
        const key = `${op}_${codec}`;
        times.set(key, [
          ...(times.get(key) ?? []),
          op === "decode_malformed" ? t / broken.length : t,
        ]);
      }
    }
  }
  for (const op of Object.keys(ops)) {
    const ours = median(times.get(`${op}_ours`)!);
    const theirs = median(times.get(`${op}_dns_packet`)!);
    console.log(`dns_${op}_ours ${ours.toFixed(0)} ns/op`);
    console.log(`dns_${op}_dns_packet ${theirs.toFixed(0)} ns/op`);
    console.log(`dns_${op}_dns_packet_vs_ours ${(theirs / ours).toFixed(2)} ratio`);
  }
  for (const [codec, c] of Object.entries(CODECS)) {
    console.log(`dns_answer10_bytes_${codec} ${c.encode(answer).length} bytes`);
    console.log(`dns_srv_fit_512_${codec} ${srvFit(c, 512)} records`);
    console.log(`dns_srv_fit_1232_${codec} ${srvFit(c, 1232)} records`);
    const failed = conformance(c);
    console.log(
      `dns_checks_failed_${codec} ${failed.length} checks${
        failed.length ? ` # ${failed.join(" ")}` : ""
      }`,
    );
  }
}
