/** DNS queries as the DNS tests and benchmarks send them. */
import { CLASS_IN, type DnsMessage } from "../../master/discovery/dns/message.ts";

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
