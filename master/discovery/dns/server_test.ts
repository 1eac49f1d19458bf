import assert from "node:assert/strict";
import { CatalogStore } from "../catalog_store.ts";
import { CLASS_IN, decodeMessage, encodeMessage, Rcode, RecordType } from "./message.ts";
import { respond, startDnsServer } from "./server.ts";

const settings = { source: new CatalogStore(), domain: "tender", ttl: 5, udp: true };

Deno.test("respond() answers FORMERR to a malformed query and ignores runts and responses", () => {
  const garbage = new Uint8Array([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 63, 1, 2]);
  const reply = respond(garbage, settings);
  assert.ok(reply);
  const parsed = decodeMessage(reply);
  assert.equal(parsed.header.id, 0x1234);
  assert.equal(parsed.header.qr, true);
  assert.equal(parsed.header.rd, true);
  assert.equal(parsed.header.rcode, Rcode.FORMERR);
  assert.equal(respond(new Uint8Array([1, 2, 3]), settings), undefined);
  const response = encodeMessage({
    header: { id: 1, qr: true, opcode: 0, aa: true, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name: "a.tender", type: RecordType.A, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  });
  assert.equal(respond(response, settings), undefined);
});

Deno.test("startDnsServer().close() may be called again while closing, and frees the port", async () => {
  const server = await startDnsServer({ source: new CatalogStore(), port: 0 });
  await Promise.all([server.close(), server.close()]);
  await server.close();
  const again = Deno.listen({ hostname: "127.0.0.1", port: server.port });
  again.close();
});
