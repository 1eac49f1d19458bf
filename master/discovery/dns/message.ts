/**
 * DNS messages (RFC 1035 §4): header, questions and resource records, read with name
 * compression and written with it, and truncated (TC bit) to fit a UDP payload limit.
 */

/** Record types this server knows by name. */
export const RecordType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

/** Response codes (RFC 1035 §4.1.1). */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

/** The class IN. */
export const CLASS_IN = 1;

/** Message header, flags unpacked. `counts` are implied by the sections. */
export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

/** One question: name without trailing dot. */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** Record data: decoded for A, SRV and SOA, raw bytes otherwise. */
export type RData =
  | { kind: "A"; address: string }
  | { kind: "SRV"; priority: number; weight: number; port: number; target: string }
  | {
    kind: "SOA";
    mname: string;
    rname: string;
    serial: number;
    refresh: number;
    retry: number;
    expire: number;
    minimum: number;
  }
  | { kind: "raw"; bytes: Uint8Array };

/** A resource record. For OPT, `class` is the UDP payload size (RFC 6891). */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RData;
}

/** A whole DNS message. */
export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** Thrown when bytes are not a well-formed DNS message. */
export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DnsFormatError";
  }
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** A label's text: ASCII byte by byte (the common case), anything else as UTF-8. */
function label(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return utf8Decoder.decode(bytes);
    text += String.fromCharCode(b);
  }
  return text;
}

class Reader {
  readonly view: DataView;
  offset = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, at = this.offset): void {
    if (at + n > this.bytes.length) throw new DnsFormatError(`message ends early at byte ${at}`);
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  /** Reads a possibly compressed name; follows at most 64 pointers. */
  name(): string {
    const labels: string[] = [];
    let at = this.offset;
    let jumped = false;
    for (let hops = 0;; hops++) {
      if (hops > 64) throw new DnsFormatError("name compression loop");
      this.need(1, at);
      const len = this.bytes[at] ?? 0;
      if ((len & 0xc0) === 0xc0) {
        this.need(2, at);
        const target = ((len & 0x3f) << 8) | (this.bytes[at + 1] ?? 0);
        if (!jumped) this.offset = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new DnsFormatError(`bad label length byte ${len}`);
      if (len === 0) {
        if (!jumped) this.offset = at + 1;
        return labels.join(".");
      }
      this.need(1 + len, at);
      labels.push(label(this.bytes.subarray(at + 1, at + 1 + len)));
      at += 1 + len;
    }
  }
}

function ipv4(bytes: Uint8Array): string {
  return [...bytes].join(".");
}

function readRecord(r: Reader): DnsRecord {
  const name = r.name();
  const type = r.u16();
  const klass = r.u16();
  const ttl = r.u32();
  const length = r.u16();
  r.need(length);
  const end = r.offset + length;
  let data: RData;
  if (type === RecordType.A && length === 4) {
    data = { kind: "A", address: ipv4(r.bytes.subarray(r.offset, end)) };
  } else if (type === RecordType.SRV) {
    data = { kind: "SRV", priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
  } else if (type === RecordType.SOA) {
    data = {
      kind: "SOA",
      mname: r.name(),
      rname: r.name(),
      serial: r.u32(),
      refresh: r.u32(),
      retry: r.u32(),
      expire: r.u32(),
      minimum: r.u32(),
    };
  } else {
    data = { kind: "raw", bytes: r.bytes.slice(r.offset, end) };
  }
  r.offset = end;
  return { name, type, class: klass, ttl, data };
}

/** A header from its id and its 16 bits of flags (the second word of a message). */
export function decodeHeader(id: number, flags: number): DnsHeader {
  return {
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
  };
}

/** Parses a DNS message. Throws `DnsFormatError` on malformed input. */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const r = new Reader(bytes);
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()] as const;
  const header = decodeHeader(id, flags);
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  }
  const section = (n: number) => {
    const records: DnsRecord[] = [];
    for (let i = 0; i < n; i++) records.push(readRecord(r));
    return records;
  };
  return {
    header,
    questions,
    answers: section(counts[1]),
    authorities: section(counts[2]),
    additionals: section(counts[3]),
  };
}

class Writer {
  bytes = new Uint8Array(512);
  length = 0;
  readonly names = new Map<string, number>();
  grow(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
  u8(v: number): void {
    this.grow(1);
    this.bytes[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.u8(v >> 8);
    this.u8(v);
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 0x10000) & 0xffff);
    this.u16(v & 0xffff);
  }
  raw(b: Uint8Array): void {
    this.grow(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }
  /** Writes a name, pointing at an earlier copy of its longest known suffix. */
  name(name: string): void {
    if (name === "") return this.u8(0);
    const lower = name.toLowerCase();
    for (let start = 0; start <= name.length;) {
      const suffix = start === 0 ? lower : lower.slice(start);
      const at = this.names.get(suffix);
      if (at !== undefined) return this.u16(0xc000 | at);
      if (this.length < 0x4000) this.names.set(suffix, this.length);
      const dot = name.indexOf(".", start);
      const end = dot === -1 ? name.length : dot;
      this.label(name.slice(start, end));
      start = end + 1;
    }
    this.u8(0);
  }
  /** Writes one label: 1 to 63 bytes, ASCII without a round trip through an encoder. */
  label(text: string): void {
    let ascii = true;
    for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
    const bytes = ascii ? undefined : utf8Encoder.encode(text);
    const length = bytes?.length ?? text.length;
    if (length === 0 || length > 63) {
      throw new DnsFormatError(`label "${text}" must be 1 to 63 bytes`);
    }
    this.u8(length);
    if (bytes !== undefined) return this.raw(bytes);
    this.grow(length);
    for (let i = 0; i < length; i++) this.bytes[this.length++] = text.charCodeAt(i);
  }
}

function writeRecord(w: Writer, rr: DnsRecord): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const lengthAt = w.length;
  w.u16(0);
  const d = rr.data;
  if (d.kind === "A") {
    const parts = d.address.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new DnsFormatError(`"${d.address}" is not an IPv4 address`);
    }
    for (const p of parts) w.u8(p);
  } else if (d.kind === "SRV") {
    w.u16(d.priority);
    w.u16(d.weight);
    w.u16(d.port);
    w.name(d.target);
  } else if (d.kind === "SOA") {
    w.name(d.mname);
    w.name(d.rname);
    for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(v);
  } else {
    w.raw(d.bytes);
  }
  const length = w.length - lengthAt - 2;
  w.bytes[lengthAt] = length >> 8;
  w.bytes[lengthAt + 1] = length & 0xff;
}

function encodeWhole(m: DnsMessage): Uint8Array {
  const w = new Writer();
  const h = m.header;
  w.u16(h.id);
  w.u16(
    (h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) |
      (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.rcode & 0xf),
  );
  for (const n of [m.questions, m.answers, m.authorities, m.additionals]) w.u16(n.length);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of [...m.answers, ...m.authorities, ...m.additionals]) writeRecord(w, rr);
  return w.bytes.slice(0, w.length);
}

/**
 * Serialises a message. With `maxSize` (a UDP payload limit), a message that does not fit
 * loses its additional, authority, then answer records and gets the TC bit, so the client
 * retries over TCP (RFC 1035 §4.2.1, RFC 2181 §9). An OPT record is kept when it fits.
 */
export function encodeMessage(message: DnsMessage, maxSize?: number): Uint8Array {
  return encodeFitting(message, maxSize, encodeWhole);
}

/**
 * What `encodeMessage` does past the bytes: `encodeWhole` writes a message, and one over
 * `maxSize` is written again truncated (a benchmark passes another library's writer).
 */
export function encodeFitting(
  message: DnsMessage,
  maxSize: number | undefined,
  encodeWhole: (message: DnsMessage) => Uint8Array,
): Uint8Array {
  const whole = encodeWhole(message);
  if (maxSize === undefined || whole.length <= maxSize) return whole;
  const opt = message.additionals.filter((r) => r.type === RecordType.OPT);
  const truncated: DnsMessage = {
    header: { ...message.header, tc: true },
    questions: message.questions,
    answers: [],
    authorities: [],
    additionals: opt,
  };
  const small = encodeWhole(truncated);
  return small.length <= maxSize ? small : encodeWhole({ ...truncated, additionals: [] });
}
