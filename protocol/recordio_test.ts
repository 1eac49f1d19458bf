import assert from "node:assert/strict";
import { decodeRecords, encodeRecord } from "./recordio.ts";

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      c.close();
    },
  });

Deno.test("decodeRecords() refuses a record over the limit and a length line that never ends", async () => {
  const out: string[] = [];
  for await (
    const r of decodeRecords(
      new ReadableStream({
        start(c) {
          c.enqueue(encodeRecord({ a: 1 }));
          c.close();
        },
      }),
    )
  ) out.push(r);
  assert.deepEqual(out, ['{"a":1}']);
  await assert.rejects(async () => {
    for await (const _ of decodeRecords(streamOf("99999999999\n{"), 1024)) { /* */ }
  }, /exceeds 1024/);
  await assert.rejects(async () => {
    for await (const _ of decodeRecords(streamOf("1".repeat(100)))) { /* */ }
  }, /length line too long/);
});
