import assert from "node:assert/strict";
import { fromBase64, MasterClient, parseEventRecord, toBase64 } from "./master_client.ts";

Deno.test("parseEventRecord() parses known events in Mesos' nested JSON form", () => {
  const record = parseEventRecord(
    JSON.stringify({ type: "RESCIND", rescind: { offer_id: { value: "o-1" } } }),
  );
  assert.deepEqual(record, {
    kind: "event",
    event: { type: "RESCIND", rescind: { offer_id: { value: "o-1" } } },
  });
});

Deno.test("parseEventRecord() marks newer event kinds unknown and bad records invalid", () => {
  assert.deepEqual(parseEventRecord(`{"type":"UPDATE_OPERATION_STATUS","status":{}}`), {
    kind: "unknown",
    type: "UPDATE_OPERATION_STATUS",
  });
  assert.equal(parseEventRecord("not json").kind, "invalid");
  assert.equal(parseEventRecord(`{"no":"type"}`).kind, "invalid");
  const bad = parseEventRecord(`{"type":"OFFERS","offers":[]}`); // the docs' flattened form
  assert.equal(bad.kind, "invalid");
  assert.match(bad.kind === "invalid" ? bad.message : "", /^an invalid OFFERS event: offers/);
});

Deno.test("toBase64() and fromBase64() round-trip any bytes", () => {
  const bytes = new Uint8Array([0, 1, 127, 128, 255]);
  assert.equal(toBase64(new TextEncoder().encode("hi")), "aGk=");
  assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
});

Deno.test("MasterClient keeps a path prefix of the master URL", () => {
  assert.equal(
    new MasterClient("http://127.0.0.1:5050").endpoint.href,
    "http://127.0.0.1:5050/api/v1/scheduler",
  );
  assert.equal(
    new MasterClient("http://h:1/mesos/").endpoint.href,
    "http://h:1/mesos/api/v1/scheduler",
  );
});
