/**
 * RecordIO framing as Mesos streams use it: `<decimal length>\n<bytes>` repeated, no separator.
 */

import { LIMITS } from "../base/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Frames one JSON-encodable record. */
export function encodeRecord(record: unknown): Uint8Array {
  const data = encoder.encode(JSON.stringify(record));
  const header = encoder.encode(`${data.length}\n`);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/**
 * Splits a byte stream into records (each the JSON text of one record), across any chunking. A
 * record longer than `maxRecordBytes` (default `LIMITS.streamRecordBytes`), or a length line
 * that never ends, fails the stream rather than growing the buffer without bound.
 */
export async function* decodeRecords(
  stream: ReadableStream<Uint8Array>,
  maxRecordBytes: number = LIMITS.streamRecordBytes,
): AsyncGenerator<string> {
  let buffer: Uint8Array = new Uint8Array(0);
  for await (const chunk of stream) {
    buffer = concat(buffer, chunk);
    while (true) {
      const newline = buffer.indexOf(10);
      if (newline < 0) {
        if (buffer.length > 20) throw new Error("RecordIO: record length line too long");
        break;
      }
      const header = decoder.decode(buffer.subarray(0, newline));
      if (!/^[1-9][0-9]*$/.test(header)) {
        throw new Error(`RecordIO: invalid record length "${header.slice(0, 20)}"`);
      }
      const length = Number(header);
      if (length > maxRecordBytes) {
        throw new Error(`RecordIO: a record of ${length} bytes exceeds ${maxRecordBytes}`);
      }
      if (buffer.length < newline + 1 + length) break;
      yield decoder.decode(buffer.subarray(newline + 1, newline + 1 + length));
      buffer = buffer.slice(newline + 1 + length);
    }
  }
  if (buffer.length > 0) throw new Error("RecordIO: stream ended inside a record");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
