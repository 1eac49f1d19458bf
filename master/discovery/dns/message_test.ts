import assert from "node:assert/strict";
import { CLASS_IN, decodeMessage, DnsFormatError, encodeMessage, RecordType } from "./message.ts";
import { aRecord, queryMessage, soaRecord } from "../../../tests/support/dns_messages.ts";

const query = queryMessage;

Deno.test("encodeMessage() writes a query byte-for-byte as RFC 1035 lays it out", () => {
  const bytes = encodeMessage(query("a.bc", RecordType.A));
  assert.deepEqual(
    [...bytes],
    [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 2, 98, 99, 0, 0, 1, 0, 1],
  );
});

Deno.test("decodeMessage() reads back A, SRV and SOA records written by encodeMessage()", () => {
  const m = query("web.marathon.tender", RecordType.SRV);
  m.header = { ...m.header, qr: true, aa: true, rcode: 3 };
  m.answers = [{
    name: "_web._tcp.marathon.tender",
    type: RecordType.SRV,
    class: CLASS_IN,
    ttl: 60,
    data: { kind: "SRV", priority: 0, weight: 5, port: 31000, target: "web-1.marathon.tender" },
  }];
  m.authorities = [soaRecord()];
  m.additionals = [aRecord("web-1.marathon.tender", "10.0.0.7")];
  assert.deepEqual(decodeMessage(encodeMessage(m)), m);
});

Deno.test("encodeMessage() compresses repeated name suffixes into pointers", () => {
  const m = query("a.marathon.tender", RecordType.A);
  m.answers = ["b", "c"].map((l) => aRecord(`${l}.marathon.tender`, "1.2.3.4", 1));
  const bytes = encodeMessage(m);
  // "marathon.tender" is written once; later names are 1-byte label + pointer.
  const text = new TextDecoder().decode(bytes);
  assert.equal(text.split("marathon").length - 1, 1);
  assert.deepEqual(decodeMessage(bytes).answers.map((a) => a.name), [
    "b.marathon.tender",
    "c.marathon.tender",
  ]);
});

Deno.test("decodeMessage() follows compression pointers and rejects pointer loops", () => {
  // Question at 12: label "x", then a pointer to 20 where label "y" and the root end the name.
  const header = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  const bytes = new Uint8Array([...header, 1, 120, 0xc0, 20, 0, 1, 0, 1, 1, 121, 0]);
  assert.equal(decodeMessage(bytes).questions[0]?.name, "x.y");
  const loop = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.throws(() => decodeMessage(loop), DnsFormatError);
  assert.throws(() => decodeMessage(new Uint8Array([0, 1, 0])), DnsFormatError);
});

Deno.test("encodeMessage() with a size limit drops records and sets the TC bit", () => {
  const m = query("_web._tcp.marathon.tender", RecordType.SRV);
  m.header.qr = true;
  m.answers = Array.from({ length: 40 }, (_, i) => ({
    name: "_web._tcp.marathon.tender",
    type: RecordType.SRV,
    class: CLASS_IN,
    ttl: 5,
    data: {
      kind: "SRV" as const,
      priority: 0,
      weight: 1,
      port: 31000 + i,
      target: `web-${i}.marathon.tender`,
    },
  }));
  assert.ok(encodeMessage(m).length > 512);
  const cut = decodeMessage(encodeMessage(m, 512));
  assert.equal(cut.header.tc, true);
  assert.equal(cut.answers.length, 0);
  assert.equal(cut.questions[0]?.name, "_web._tcp.marathon.tender");
  assert.equal(decodeMessage(encodeMessage(m, 65535)).header.tc, false);
});

Deno.test("encodeMessage() rejects labels longer than 63 bytes and bad IPv4 addresses", () => {
  assert.throws(() => encodeMessage(query(`${"a".repeat(64)}.tender`, 1)), DnsFormatError);
  const m = query("a.tender", 1);
  m.answers = [{
    name: "a.tender",
    type: 1,
    class: 1,
    ttl: 1,
    data: { kind: "A", address: "1.2" },
  }];
  assert.throws(() => encodeMessage(m), DnsFormatError);
});

Deno.test("encodeMessage() and decodeMessage() carry non-ASCII labels as UTF-8", () => {
  const m = query("café.marathon.tender", RecordType.A);
  const bytes = encodeMessage(m);
  assert.deepEqual([...bytes.subarray(12, 18)], [5, 0x63, 0x61, 0x66, 0xc3, 0xa9]);
  assert.equal(decodeMessage(bytes).questions[0]?.name, "café.marathon.tender");
  assert.throws(() => encodeMessage(query(`${"é".repeat(32)}.tender`, 1)), DnsFormatError);
});
