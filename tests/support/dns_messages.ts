/** DNS messages and records as the DNS codec's tests and benchmark build them. */
import {
  CLASS_IN,
  type DnsMessage,
  type DnsRecord,
  RecordType,
} from "../../master/discovery/dns/message.ts";

/** A recursive query (id 0xbeef) for `name` of `type`, class IN, with no records. */
export function queryMessage(name: string, type: number): DnsMessage {
  return {
    header: {
      id: 0xbeef,
      qr: false,
      opcode: 0,
      aa: false,
      tc: false,
      rd: true,
      ra: false,
      rcode: 0,
    },
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

/** The zone's SOA record (`tender`, serial 4,000,000,000: past 2^31, to catch signed reads). */
export function soaRecord(): DnsRecord {
  return {
    name: "tender",
    type: RecordType.SOA,
    class: CLASS_IN,
    ttl: 60,
    data: {
      kind: "SOA",
      mname: "ns1.tender",
      rname: "hostmaster.tender",
      serial: 4_000_000_000,
      refresh: 60,
      retry: 30,
      expire: 86400,
      minimum: 5,
    },
  };
}

/** An A record: `name` is at `address`. */
export function aRecord(name: string, address: string, ttl = 60): DnsRecord {
  return { name, type: RecordType.A, class: CLASS_IN, ttl, data: { kind: "A", address } };
}
