/**
 * What etcd's v3 JSON gateway sends and receives: bytes as base64, int64 as decimal strings,
 * field names as in the protobuf JSON mapping, default values left out. Replies are parsed here
 * once; past this file there are only `KeyValue`, `Compare` and `Op`.
 *
 * Keys and values: a caller passes `Bytes` (a `Uint8Array`, or a string, which is UTF-8 encoded);
 * what etcd returns is always a `Uint8Array` (`text()` decodes it).
 */
import { z } from "zod";

/** A key or value given to etcd: raw bytes, or a string stored as UTF-8. */
export type Bytes = Uint8Array | string;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `Bytes` as bytes. */
export function bytes(value: Bytes): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

/** Bytes read from etcd as a UTF-8 string. */
export function text(value: Uint8Array): string {
  return decoder.decode(value);
}

/** The range end that makes a range cover every key starting with `prefix` (etcd's rule). */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const end = bytes(prefix).slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]); // no key above the prefix: "\0" means "to the end of the keyspace"
}

/** Base64 of a key or value, as the gateway wants it. */
export function b64(value: Bytes): string {
  return bytes(value).toBase64();
}

/** An int64 field, sent as a decimal string, absent when 0. */
const int64 = z.union([z.string(), z.number()]).optional().transform((v) => Number(v ?? 0));
const base64 = z.string().optional().transform((v) => Uint8Array.fromBase64(v ?? ""));

/** One key as stored, at one revision. */
export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease id as a decimal string; "0" when the key has no lease. */
  lease: string;
}

export const KeyValueSchema: z.ZodType<KeyValue, z.ZodTypeDef, unknown> = z.object({
  key: base64,
  value: base64,
  create_revision: int64,
  mod_revision: int64,
  version: int64,
  lease: z.union([z.string(), z.number()]).optional(),
}).transform((kv) => ({
  key: kv.key,
  value: kv.value,
  createRevision: kv.create_revision,
  modRevision: kv.mod_revision,
  version: kv.version,
  lease: String(kv.lease ?? "0"),
}));

export const HeaderSchema = z.object({ revision: int64 }).optional()
  .transform((h) => ({ revision: h?.revision ?? 0 }));

/** What a range returns. `count` is the number of keys in the range, not only those returned. */
export interface RangeResult {
  kvs: KeyValue[];
  more: boolean;
  count: number;
  /** The store's revision the range was read at. */
  revision: number;
}

const RangeBody = z.object({
  header: HeaderSchema,
  kvs: z.array(KeyValueSchema).optional(),
  more: z.boolean().optional(),
  count: int64,
});
export const RangeResultSchema: z.ZodType<RangeResult, z.ZodTypeDef, unknown> = RangeBody
  .transform((r) => ({
    kvs: r.kvs ?? [],
    more: r.more ?? false,
    count: r.count,
    revision: r.header.revision,
  }));

/** How a compare relates the key's current target to the given one. */
export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";

/**
 * A condition of a transaction on one key. A key that does not exist has version, create and
 * mod revision 0 and lease "0"; a VALUE compare on it is false.
 */
export type Compare =
  & { key: Uint8Array; result: CompareResult }
  & (
    | { target: "VERSION"; version: number }
    | { target: "CREATE"; createRevision: number }
    | { target: "MOD"; modRevision: number }
    | { target: "VALUE"; value: Uint8Array }
    | { target: "LEASE"; lease: string }
  );

/** The key's version (number of puts since it was created; 0: absent) compared to `version`. */
export function compareVersion(key: Bytes, result: CompareResult, version: number): Compare {
  return { key: bytes(key), result, target: "VERSION", version };
}

/** The key's create revision (0: absent) compared to `revision`. */
export function compareCreate(key: Bytes, result: CompareResult, revision: number): Compare {
  return { key: bytes(key), result, target: "CREATE", createRevision: revision };
}

/** The key's last modification revision compared to `revision`. */
export function compareMod(key: Bytes, result: CompareResult, revision: number): Compare {
  return { key: bytes(key), result, target: "MOD", modRevision: revision };
}

/** The key's value compared to `value`. */
export function compareValue(key: Bytes, result: CompareResult, value: Bytes): Compare {
  return { key: bytes(key), result, target: "VALUE", value: bytes(value) };
}

/** The key's lease id compared to `lease` ("0": no lease). */
export function compareLease(key: Bytes, result: CompareResult, lease: string): Compare {
  return { key: bytes(key), result, target: "LEASE", lease };
}

/** One operation of a transaction branch. */
export type Op =
  | { type: "put"; key: Uint8Array; value: Uint8Array; lease?: string }
  | { type: "deleteRange"; key: Uint8Array; rangeEnd?: Uint8Array }
  | { type: "range"; key: Uint8Array; rangeEnd?: Uint8Array; limit?: number; keysOnly?: boolean };

/** Puts `value` at `key`, attached to `lease` when given (the key goes when the lease does). */
export function opPut(key: Bytes, value: Bytes, options: { lease?: string } = {}): Op {
  return { type: "put", key: bytes(key), value: bytes(value), lease: options.lease };
}

/** Deletes `key`, or every key in [key, rangeEnd). */
export function opDelete(key: Bytes, options: { rangeEnd?: Bytes } = {}): Op {
  const rangeEnd = options.rangeEnd === undefined ? undefined : bytes(options.rangeEnd);
  return { type: "deleteRange", key: bytes(key), rangeEnd };
}

/** Reads `key`, or the keys in [key, rangeEnd), inside the transaction. */
export function opRange(
  key: Bytes,
  options: { rangeEnd?: Bytes; limit?: number; keysOnly?: boolean } = {},
): Op {
  const rangeEnd = options.rangeEnd === undefined ? undefined : bytes(options.rangeEnd);
  return {
    type: "range",
    key: bytes(key),
    rangeEnd,
    limit: options.limit,
    keysOnly: options.keysOnly,
  };
}

/** A compare in the gateway's JSON. */
export function compareJson(c: Compare): Record<string, unknown> {
  const base = { key: b64(c.key), result: c.result, target: c.target };
  switch (c.target) {
    case "VERSION":
      return { ...base, version: String(c.version) };
    case "CREATE":
      return { ...base, create_revision: String(c.createRevision) };
    case "MOD":
      return { ...base, mod_revision: String(c.modRevision) };
    case "VALUE":
      return { ...base, value: b64(c.value) };
    case "LEASE":
      return { ...base, lease: c.lease };
  }
}

/** An op in the gateway's JSON. */
export function opJson(op: Op): Record<string, unknown> {
  const rangeEnd = "rangeEnd" in op && op.rangeEnd ? { range_end: b64(op.rangeEnd) } : {};
  switch (op.type) {
    case "put":
      return {
        request_put: {
          key: b64(op.key),
          value: b64(op.value),
          ...(op.lease && { lease: op.lease }),
        },
      };
    case "deleteRange":
      return { request_delete_range: { key: b64(op.key), ...rangeEnd } };
    case "range":
      return {
        request_range: {
          key: b64(op.key),
          ...rangeEnd,
          ...(op.limit && { limit: String(op.limit) }),
          ...(op.keysOnly && { keys_only: true }),
        },
      };
  }
}

/** What one op of a transaction returned, in the order of the branch that ran. */
export type OpResponse =
  | { type: "range"; kvs: KeyValue[]; more: boolean; count: number }
  | { type: "put" }
  | { type: "deleteRange"; deleted: number };

const OpResponseSchema = z.union([
  z.object({ response_range: RangeBody }).transform((r): OpResponse => ({
    type: "range",
    kvs: r.response_range.kvs ?? [],
    more: r.response_range.more ?? false,
    count: r.response_range.count,
  })),
  z.object({ response_put: z.unknown() }).transform((): OpResponse => ({ type: "put" })),
  z.object({ response_delete_range: z.object({ deleted: int64 }) })
    .transform((r): OpResponse => ({
      type: "deleteRange",
      deleted: r.response_delete_range.deleted,
    })),
]);

/** What a transaction returned: whether its compares held, and the ops' responses. */
export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the transaction (unchanged when it wrote nothing). */
  revision: number;
  responses: OpResponse[];
}

export const TxnResultSchema: z.ZodType<TxnResult, z.ZodTypeDef, unknown> = z.object({
  header: HeaderSchema,
  succeeded: z.boolean().optional(),
  responses: z.array(OpResponseSchema).optional(),
}).transform((t) => ({
  succeeded: t.succeeded ?? false,
  revision: t.header.revision,
  responses: t.responses ?? [],
}));

/** A change seen by a watch. */
export interface WatchEvent {
  type: "PUT" | "DELETE";
  /** The key after the change; for a DELETE only key and modRevision are set. */
  kv: KeyValue;
  /** The revision of the watch response that carried the event. */
  revision: number;
}

/** One line of the watch stream: its first answer (`created`), events, or its end. */
export const WatchLineSchema = z.object({
  result: z.object({
    header: HeaderSchema,
    created: z.boolean().optional(),
    canceled: z.boolean().optional(),
    cancel_reason: z.string().optional(),
    compact_revision: int64,
    events: z.array(z.object({
      type: z.enum(["PUT", "DELETE"]).optional(),
      kv: KeyValueSchema,
    })).optional(),
  }).optional(),
  error: z.object({ message: z.string().optional(), grpc_code: z.number().optional() })
    .optional(),
});

/** A lease as granted: its id (a decimal string, as int64 ids may exceed 2^53) and TTL. */
export const LeaseGrantSchema = z.object({ ID: z.string(), TTL: int64 })
  .transform((l) => ({ id: l.ID, ttl: l.TTL }));

/** One answer of the keepalive stream; TTL absent (0) or negative when the lease is gone. */
export const LeaseKeepAliveSchema = z.object({ result: z.object({ TTL: int64 }).optional() });

/** A lease's remaining and granted TTL; `ttl` -1 when the lease is gone. */
export const LeaseTimeToLiveSchema = z.object({
  TTL: int64,
  grantedTTL: int64,
  keys: z.array(z.string()).optional(),
}).transform((l) => ({
  ttl: l.TTL,
  grantedTtl: l.grantedTTL,
  keys: (l.keys ?? []).map((k) => Uint8Array.fromBase64(k)),
}));

/**
 * An error answer: `{"error": "...", "message": "...", "code": 5}`, or on a streaming endpoint
 * `{"error": {"grpc_code": 14, "message": "..."}}`; `code` is the gRPC status code.
 */
export const ErrorBodySchema = z.object({
  error: z.union([
    z.string(),
    z.object({ message: z.string().optional(), grpc_code: z.number().optional() }),
  ]),
  message: z.string().optional(),
  code: z.number().optional(),
}).transform((b) =>
  typeof b.error === "string"
    ? { message: b.message ?? b.error, code: b.code ?? 2 }
    : { message: b.error.message ?? b.message ?? "etcd failed", code: b.error.grpc_code ?? 2 }
);
