/**
 * Answers one DNS query from the catalog, with Mesos-DNS names under a domain (`tender`):
 * `<name>.<framework>.<domain>` A, `_<name>._<tcp|udp>.<framework>.<domain>` SRV, and
 * `<name>-<task>.<framework>.<domain>` A for each SRV target. Pure: no I/O.
 */
import type { Catalog, Endpoint, Service } from "../catalog.ts";
import {
  CLASS_IN,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  Rcode,
  RecordType,
} from "./message.ts";

/** Options of `answerQuery()`. */
export interface ResolverOptions {
  /** Zone served, without dots at either end. Default `tender`. */
  domain?: string;
  /** TTL of every record, in seconds. */
  ttl: number;
  /** SOA serial: the catalog version. */
  serial: number;
}

/** The DNS label of one task, used as an SRV target: `<name>-<8 hex of the task id>`. */
export function taskLabel(serviceName: string, taskId: string): string {
  // FNV-1a: stable across processes, so a target name outlives a master restart.
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(taskId)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return `${serviceName.slice(0, 54).replace(/-+$/, "")}-${h.toString(16).padStart(8, "0")}`;
}

type Lookup =
  | { kind: "service"; service: Service }
  | { kind: "srv"; service: Service; protocol: "tcp" | "udp"; portName?: string }
  | { kind: "task"; service: Service; endpoints: Endpoint[] }
  | { kind: "zone" }
  | { kind: "none" };

function lookup(catalog: Catalog, labels: string[]): Lookup {
  if (labels.length <= 1) {
    const known = labels.length === 0 || catalog.services.some((s) => s.framework === labels[0]);
    return known ? { kind: "zone" } : { kind: "none" };
  }
  const framework = labels[labels.length - 1];
  const inFramework = catalog.services.filter((s) => s.framework === framework);
  if (labels.length === 2) {
    const [name] = labels;
    const service = inFramework.find((s) => s.name === name);
    if (service) return { kind: "service", service };
    for (const s of inFramework) {
      const endpoints = s.endpoints.filter((e) => taskLabel(s.name, e.taskId) === name);
      if (endpoints.length > 0) return { kind: "task", service: s, endpoints };
    }
    return { kind: "none" };
  }
  // `_<name>._<proto>` or, for a named port, `_<port>._<name>._<proto>` (as Mesos-DNS).
  const proto = labels[labels.length - 2];
  const name = labels[labels.length - 3];
  const port = labels.length === 4 ? labels[0] : undefined;
  if (labels.length !== 3 && labels.length !== 4) return { kind: "none" };
  if (proto !== "_tcp" && proto !== "_udp") return { kind: "none" };
  if (!name?.startsWith("_") || (port !== undefined && !port.startsWith("_"))) {
    return { kind: "none" };
  }
  const service = inFramework.find((s) => s.name === name.slice(1));
  if (service === undefined) return { kind: "none" };
  const protocol = proto === "_tcp" ? "tcp" : "udp";
  if (port === undefined) return { kind: "srv", service, protocol };
  const portName = port.slice(1);
  const known = service.endpoints.some((e) => e.portName?.toLowerCase() === portName);
  return known ? { kind: "srv", service, protocol, portName } : { kind: "none" };
}

/** Whether `ip` is a dotted IPv4 address (only those make A records). */
export function isIpv4(ip: string): boolean {
  const parts = ip.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function uniqueIps(endpoints: readonly Endpoint[]): string[] {
  return [...new Set(endpoints.map((e) => e.ip).filter(isIpv4))].sort();
}

/** Builds the response to `query` (which must be a parsed request). */
export function answerQuery(
  query: DnsMessage,
  catalog: Catalog,
  options: ResolverOptions,
): DnsMessage {
  const domain = (options.domain ?? "tender").toLowerCase();
  const response: DnsMessage = {
    header: {
      id: query.header.id,
      qr: true,
      opcode: query.header.opcode,
      aa: false,
      tc: false,
      rd: query.header.rd,
      ra: false,
      rcode: Rcode.NOERROR,
    },
    questions: query.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (query.additionals.some((r) => r.type === RecordType.OPT)) {
    response.additionals.push({
      name: "",
      type: RecordType.OPT,
      class: 1232,
      ttl: 0,
      data: { kind: "raw", bytes: new Uint8Array() },
    });
  }
  const question: DnsQuestion | undefined = query.questions[0];
  if (query.header.opcode !== 0) return { ...response, header: { ...response.header, rcode: 4 } };
  if (question === undefined || query.questions.length > 1) {
    response.header.rcode = Rcode.FORMERR;
    return response;
  }
  const qname = question.name.toLowerCase().replace(/\.$/, "");
  if (qname !== domain && !qname.endsWith(`.${domain}`)) {
    response.header.rcode = Rcode.REFUSED;
    return response;
  }
  response.header.aa = true;
  const ttl = options.ttl;
  const rr = (name: string, type: number, data: DnsRecord["data"]): DnsRecord => ({
    name,
    type,
    class: CLASS_IN,
    ttl,
    data,
  });
  const soa = rr(domain, RecordType.SOA, {
    kind: "SOA",
    mname: `ns1.${domain}`,
    rname: `hostmaster.${domain}`,
    serial: options.serial >>> 0,
    refresh: 60,
    retry: 30,
    expire: 86400,
    minimum: ttl,
  });
  const labels = qname === domain ? [] : qname.slice(0, -domain.length - 1).split(".");
  const found = lookup(catalog, labels);
  const wants = (type: number) => question.type === type || question.type === RecordType.ANY;
  const aRecords = (name: string, ips: string[]) =>
    ips.map((address) => rr(name, RecordType.A, { kind: "A", address }));

  switch (found.kind) {
    case "none":
      response.header.rcode = Rcode.NXDOMAIN;
      break;
    case "zone":
      if (labels.length === 0 && wants(RecordType.SOA)) response.answers.push(soa);
      break;
    case "service":
      if (wants(RecordType.A)) {
        response.answers.push(...aRecords(question.name, uniqueIps(found.service.endpoints)));
      }
      break;
    case "task":
      if (wants(RecordType.A)) {
        response.answers.push(...aRecords(question.name, uniqueIps(found.endpoints)));
      }
      break;
    case "srv": {
      if (!wants(RecordType.SRV)) break;
      const { service, protocol } = found;
      const targets = new Map<string, string>();
      const matching = service.endpoints.filter((e) =>
        e.protocol === protocol &&
        (found.portName === undefined || e.portName?.toLowerCase() === found.portName)
      );
      for (const e of matching) {
        const target = `${taskLabel(service.name, e.taskId)}.${service.framework}.${domain}`;
        if (isIpv4(e.ip)) targets.set(target, e.ip);
        response.answers.push(rr(question.name, RecordType.SRV, {
          kind: "SRV",
          priority: 0,
          weight: Math.min(65535, Math.max(0, Math.round(e.weight))),
          port: e.port,
          target,
        }));
      }
      const glue = [...targets].flatMap(([target, ip]) => aRecords(target, [ip]));
      response.additionals.unshift(...glue);
      break;
    }
  }
  if (response.answers.length === 0) response.authorities.push(soa);
  return response;
}
