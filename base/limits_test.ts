import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkRecordSize,
  fitsStoredRecord,
  LIMITS,
  storedSize,
  storedSizeBound,
} from "./limits.ts";
import { TenderError } from "./errors.ts";

Deno.test("storedSizeBound is never under the serialised size of plain data", () => {
  fc.assert(
    fc.property(
      fc.jsonValue({ maxDepth: 6 }),
      fc.string({ unit: "binary" }),
      (value, text) => {
        for (const v of [value, { text, value }, [text, value, undefined, null, -1.5, 2 ** 40]]) {
          const bound = storedSizeBound(v);
          assert(bound >= storedSize(v), `bound ${bound} < ${storedSize(v)} for ${text}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("storedSizeBound gives up on what is not plain data, and past stopAt", () => {
  assert.equal(storedSizeBound({ data: new Uint8Array(4) }), Infinity);
  assert.equal(storedSizeBound(new Map()), Infinity);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(storedSizeBound(cyclic), Infinity);
  assert.equal(storedSizeBound({ text: "x".repeat(1000) }, 100), Infinity);
});

Deno.test("a record over the limit is refused, one under it passes, typed arrays measured exactly", () => {
  const big = { note: "é".repeat(LIMITS.recordBytes) };
  assert.throws(
    () => checkRecordSize('Task "t"', big),
    (e) => e instanceof TenderError && e.code === "payload_too_large",
  );
  assert(!fitsStoredRecord(big));
  // Between the exact size and the bound: ASCII takes one byte a character, the bound two.
  const near = { note: "a".repeat(LIMITS.recordBytes - 100) };
  assert(storedSizeBound(near) > LIMITS.recordBytes);
  checkRecordSize('Task "t"', near);
  assert(fitsStoredRecord(near));
  assert(fitsStoredRecord({ bytes: new Uint8Array(1000) }));
  assert(!fitsStoredRecord({ bytes: new Uint8Array(LIMITS.recordBytes + 1) }));
});
