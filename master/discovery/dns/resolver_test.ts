import assert from "node:assert/strict";
import { type CatalogTask, deriveCatalog } from "../catalog.ts";
import { CLASS_IN, type DnsMessage, Rcode, RecordType } from "./message.ts";
import { answerQuery, isIpv4, taskLabel } from "./resolver.ts";

function task(id: string, ip: string, port: number, over: Partial<CatalogTask> = {}): CatalogTask {
  return {
    frameworkName: "marathon",
    taskId: id,
    taskName: "web.prod",
    state: "TASK_RUNNING",
    hasHealthCheck: false,
    agentHostname: `host-${ip}`,
    agentIp: ip,
    hostPorts: [port],
    labels: { MARATHON_APP_ID: "/prod/web" },
    ...over,
  };
}

const catalog = deriveCatalog([
  task("t1", "10.0.0.1", 31001, { labels: { MARATHON_APP_ID: "/prod/web", TENDER_WEIGHT: "3" } }),
  task("t2", "10.0.0.2", 31002),
  task("t3", "10.0.0.1", 31003),
  task("sick", "10.0.0.9", 31009, { hasHealthCheck: true, healthy: false }),
  task("db1", "10.0.0.5", 31005, { labels: {}, taskName: "db", state: "TASK_STAGING" }),
]);

function ask(name: string, type: number): DnsMessage {
  const q: DnsMessage = {
    header: { id: 7, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  return answerQuery(q, catalog, { ttl: 30, serial: 9 });
}

Deno.test("answerQuery() answers A with the unique agent IPs of healthy endpoints", () => {
  const r = ask("Web-Prod.marathon.tender.", RecordType.A);
  assert.equal(r.header.rcode, Rcode.NOERROR);
  assert.equal(r.header.aa, true);
  assert.equal(r.header.id, 7);
  assert.deepEqual(r.answers.map((a) => a.data), [
    { kind: "A", address: "10.0.0.1" },
    { kind: "A", address: "10.0.0.2" },
  ]);
  assert.ok(r.answers.every((a) => a.ttl === 30));
});

Deno.test("answerQuery() answers SRV with one target per endpoint and glue A records", () => {
  const r = ask("_web-prod._tcp.marathon.tender", RecordType.SRV);
  const srv = r.answers.map((a) => a.data.kind === "SRV" ? [a.data.port, a.data.weight] : []);
  assert.deepEqual(srv, [[31001, 3], [31002, 1], [31003, 1]]);
  const targets = r.answers.map((a) => a.data.kind === "SRV" ? a.data.target : "");
  assert.equal(targets[0], `${taskLabel("web-prod", "t1")}.marathon.tender`);
  assert.deepEqual(
    r.additionals.map((a) => [a.name, a.data.kind === "A" ? a.data.address : ""]),
    targets.map((t, i) => [t, i === 1 ? "10.0.0.2" : "10.0.0.1"]),
  );
  const target = ask(targets[1] ?? "", RecordType.A);
  assert.deepEqual(target.answers.map((a) => a.data), [{ kind: "A", address: "10.0.0.2" }]);
  assert.equal(ask("_web-prod._udp.marathon.tender", RecordType.SRV).answers.length, 0);
});

Deno.test("answerQuery() says NXDOMAIN for unknown names and NODATA for known ones", () => {
  const nx = ask("nope.marathon.tender", RecordType.A);
  assert.equal(nx.header.rcode, Rcode.NXDOMAIN);
  assert.equal(nx.authorities[0]?.type, RecordType.SOA);
  const noData = ask("db.marathon.tender", RecordType.A);
  assert.equal(noData.header.rcode, Rcode.NOERROR);
  assert.equal(noData.answers.length, 0);
  assert.equal(noData.authorities[0]?.type, RecordType.SOA);
  assert.equal(ask("web-prod.marathon.tender", RecordType.AAAA).answers.length, 0);
  assert.equal(ask("tender", RecordType.SOA).answers[0]?.type, RecordType.SOA);
  assert.equal(ask("a.b.c.marathon.tender", RecordType.A).header.rcode, Rcode.NXDOMAIN);
});

Deno.test("answerQuery() refuses names outside its domain", () => {
  const r = ask("example.com", RecordType.A);
  assert.equal(r.header.rcode, Rcode.REFUSED);
  assert.equal(r.header.aa, false);
  assert.equal(ask("xtender", RecordType.A).header.rcode, Rcode.REFUSED);
});

Deno.test("taskLabel() is a valid DNS label of at most 63 bytes, stable per task id", () => {
  const label = taskLabel("a".repeat(63), "task-1");
  assert.ok(label.length <= 63);
  assert.match(label, /^a+-[0-9a-f]{8}$/);
  assert.equal(taskLabel("web", "x"), taskLabel("web", "x"));
  assert.notEqual(taskLabel("web", "x"), taskLabel("web", "y"));
});

Deno.test("answerQuery() leaves agents without an IPv4 address out of A records", () => {
  const odd = deriveCatalog([
    task("v6", "::1", 31001, { labels: { MARATHON_APP_ID: "/odd" } }),
    task("named", "localhost", 31002, { labels: { MARATHON_APP_ID: "/odd" } }),
  ]);
  const q: DnsMessage = {
    header: { id: 1, qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name: "_odd._tcp.marathon.tender", type: RecordType.SRV, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  const r = answerQuery(q, odd, { ttl: 1, serial: 1 });
  assert.equal(r.answers.length, 2);
  assert.equal(r.additionals.length, 0);
  assert.equal(isIpv4("10.0.0.300"), false);
  assert.equal(isIpv4("127.0.0.1"), true);
});

Deno.test("answerQuery() answers SRV for a named port as _<port>._<name>._tcp", () => {
  const named = deriveCatalog([task("n1", "10.0.0.3", 31010, {
    labels: { MARATHON_APP_ID: "/api" },
    hostPorts: [31010, 31011],
    discovery: {
      visibility: "FRAMEWORK",
      ports: { ports: [{ number: 31010, name: "http" }, { number: 31011, name: "admin" }] },
    },
  })]);
  const q = (name: string): DnsMessage => ({
    header: { id: 1, qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name, type: RecordType.SRV, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  });
  const ports = (name: string) =>
    answerQuery(q(name), named, { ttl: 1, serial: 1 }).answers.map((a) =>
      a.data.kind === "SRV" ? a.data.port : 0
    );
  assert.deepEqual(ports("_api._tcp.marathon.tender"), [31010, 31011]);
  assert.deepEqual(ports("_admin._api._tcp.marathon.tender"), [31011]);
  assert.equal(
    answerQuery(q("_nope._api._tcp.marathon.tender"), named, { ttl: 1, serial: 1 }).header.rcode,
    Rcode.NXDOMAIN,
  );
});
