import assert from "node:assert/strict";
import { CallSchema, EventSchema } from "./mesos.ts";
import { fromMesosJson, parseMesosJson } from "./mesos_json.ts";

Deno.test("fromMesosJson() drops null fields at every depth, in arrays of objects too", () => {
  const read = fromMesosJson(CallSchema, {
    type: "SUBSCRIBE",
    framework_id: null,
    subscribe: {
      framework_info: { user: "u", name: "n", id: null, capabilities: [{ type: "X", y: null }] },
      suppressed_roles: null,
    },
  });
  assert.deepEqual(read, {
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "n", capabilities: [{ type: "X" }] } },
  });
});

Deno.test("fromMesosJson() reads numeric strings for number fields only", () => {
  const parsed = parseMesosJson(CallSchema, {
    type: "DECLINE",
    framework_id: { value: "f" },
    decline: { offer_ids: [{ value: "123" }], filters: { refuse_seconds: " 2.5 " } },
  });
  assert.ok(parsed.success);
  assert.equal(parsed.data.type === "DECLINE" && parsed.data.decline.filters?.refuse_seconds, 2.5);
  assert.equal(parsed.data.type === "DECLINE" && parsed.data.decline.offer_ids[0]!.value, "123");
  for (const bad of ["", "5s", "0x10", "NaN"]) {
    const refused = parseMesosJson(CallSchema, {
      type: "DECLINE",
      framework_id: { value: "f" },
      decline: { offer_ids: [{ value: "o" }], filters: { refuse_seconds: bad } },
    });
    assert.equal(refused.success, false, JSON.stringify(bad));
  }
});

Deno.test("parseMesosJson() keeps what Mesos refuses refused: enums as numbers, nulls for required fields", () => {
  const enumNumber = parseMesosJson(EventSchema, {
    type: "UPDATE",
    update: { status: { task_id: { value: "t" }, state: 1 } },
  });
  assert.equal(enumNumber.success, false);
  const required = parseMesosJson(CallSchema, { type: "TEARDOWN", framework_id: null });
  assert.equal(required.success, false);
  assert.equal(parseMesosJson(CallSchema, null).success, false);
});
