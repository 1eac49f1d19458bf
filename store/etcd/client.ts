/**
 * A small client for etcd's v3 JSON gateway (etcd ≥ 3.4 serves it on the client port at `/v3/…`),
 * over plain HTTP with fetch. Every request has a deadline: a member without quorum lets requests
 * hang, and a master must fail with a clear error instead. Keys and values are `Bytes` in and
 * `Uint8Array` out (see wire.ts).
 */
import { z } from "zod";
import {
  type CallOptions,
  DEFAULT_TIMEOUT_MS,
  EtcdError,
  EtcdTransport,
  EtcdUnavailableError,
} from "./transport.ts";
import {
  b64,
  type Bytes,
  bytes,
  type Compare,
  compareJson,
  LeaseGrantSchema,
  LeaseKeepAliveSchema,
  LeaseTimeToLiveSchema,
  type Op,
  opJson,
  prefixEnd,
  type RangeResult,
  RangeResultSchema,
  type TxnResult,
  TxnResultSchema,
  type WatchEvent,
  WatchLineSchema,
} from "./wire.ts";

export { type CallOptions, DEFAULT_TIMEOUT_MS, EtcdError, EtcdUnavailableError };

/** etcd's default `--max-txn-ops`: compares, success ops and failure ops each count apart. */
export const MAX_TXN_OPS = 128;
/** etcd's default `--max-request-bytes`, of the gRPC request (raw bytes, not the base64 JSON). */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** Keys a page of `rangeAll()` holds unless told: far below gRPC's 4 MiB answer limit. */
export const DEFAULT_PAGE_SIZE = 500;

/** Options of `range()`: `[key, rangeEnd)`, or the key alone without `rangeEnd`. */
export interface RangeOptions extends CallOptions {
  rangeEnd?: Bytes;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Read at this revision (0: the latest). */
  revision?: number;
  /** Answer from the member's local state, without a quorum round (may be stale). */
  serializable?: boolean;
}

/** A client of one etcd cluster; fails over between its members' endpoints. */
export class EtcdClient {
  readonly #transport: EtcdTransport;

  private constructor(endpoints: readonly string[], options: { timeoutMs?: number }) {
    this.#transport = new EtcdTransport(endpoints, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** A client whose cluster answered a quorum read; throws `EtcdUnavailableError` if none did. */
  static async connect(
    endpoints: string[],
    options: { timeoutMs?: number } = {},
  ): Promise<EtcdClient> {
    const client = new EtcdClient(endpoints.map((e) => e.replace(/\/+$/, "")), options);
    try {
      await client.range(new Uint8Array([0]), { countOnly: true });
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** The endpoint that answered last; requests try it first. */
  get preferredEndpoint(): string {
    return this.#transport.preferredEndpoint;
  }

  /** The members' client URLs, as given to `connect()`. */
  get endpoints(): readonly string[] {
    return this.#transport.endpoints;
  }

  /** Reads one key, or the keys in `[key, rangeEnd)` (at most `limit`, 0: all). */
  async range(key: Bytes, options: RangeOptions = {}): Promise<RangeResult> {
    const body = {
      key: b64(key),
      ...(options.rangeEnd !== undefined && { range_end: b64(options.rangeEnd) }),
      ...(options.limit && { limit: String(options.limit) }),
      ...(options.revision && { revision: String(options.revision) }),
      ...(options.keysOnly && { keys_only: true }),
      ...(options.countOnly && { count_only: true }),
      ...(options.serializable && { serializable: true }),
    };
    return RangeResultSchema.parse(await this.#transport.call("/v3/kv/range", body, options));
  }

  /**
   * Reads every key under `prefix` in pages of `pageSize`, all at one revision, so that a large
   * state loads without hitting gRPC's 4 MiB answer limit. `revision` is the one it was read at.
   */
  async rangeAll(
    prefix: Bytes,
    options: Omit<RangeOptions, "rangeEnd" | "limit" | "countOnly"> & { pageSize?: number } = {},
  ): Promise<{ kvs: RangeResult["kvs"]; revision: number }> {
    const start = bytes(prefix);
    const end = prefixEnd(start);
    let key = start.length === 0 ? new Uint8Array([0]) : start;
    let revision = options.revision ?? 0;
    const kvs: RangeResult["kvs"] = [];
    for (;;) {
      const page = await this.range(key, {
        ...options,
        rangeEnd: end,
        limit: options.pageSize ?? DEFAULT_PAGE_SIZE,
        revision,
      });
      revision ||= page.revision; // later pages read where the first did
      kvs.push(...page.kvs);
      const last = page.kvs.at(-1);
      if (!page.more || !last) return { kvs, revision };
      key = new Uint8Array([...last.key, 0]); // the smallest key after the last one read
    }
  }

  /** Puts `value` at `key` (with `lease`: the key goes when the lease does). */
  async put(
    key: Bytes,
    value: Bytes,
    options: CallOptions & { lease?: string } = {},
  ): Promise<{ revision: number }> {
    const body = {
      key: b64(key),
      value: b64(value),
      ...(options.lease && { lease: options.lease }),
    };
    return ResponseHeader.parse(await this.#transport.call("/v3/kv/put", body, options));
  }

  /** Deletes `key`, or the keys in `[key, rangeEnd)`. */
  async deleteRange(
    key: Bytes,
    options: CallOptions & { rangeEnd?: Bytes } = {},
  ): Promise<{ deleted: number; revision: number }> {
    const body = {
      key: b64(key),
      ...(options.rangeEnd !== undefined && { range_end: b64(options.rangeEnd) }),
    };
    return DeleteResult.parse(await this.#transport.call("/v3/kv/deleterange", body, options));
  }

  /**
   * Runs `success` if every compare holds, else `failure`, as one atomic step. At most
   * `MAX_TXN_OPS` compares, and as many ops per branch, on a default etcd.
   */
  async txn(
    request: { compare: Compare[]; success: Op[]; failure?: Op[] },
    options: CallOptions = {},
  ): Promise<TxnResult> {
    const body = {
      compare: request.compare.map(compareJson),
      success: request.success.map(opJson),
      failure: (request.failure ?? []).map(opJson),
    };
    return TxnResultSchema.parse(await this.#transport.call("/v3/kv/txn", body, options));
  }

  /** A new lease; `ttl` is what etcd granted (it raises TTLs below its minimum). */
  async leaseGrant(
    ttlSeconds: number,
    options: CallOptions = {},
  ): Promise<{ id: string; ttl: number }> {
    return LeaseGrantSchema.parse(
      await this.#transport.call("/v3/lease/grant", { TTL: ttlSeconds }, options),
    );
  }

  /** Refreshes a lease; the TTL it has now, or 0 when it is gone. */
  async leaseKeepAlive(id: string, options: CallOptions = {}): Promise<number> {
    // A streaming endpoint; one request in the body gets one answer, then the stream ends.
    const answer = LeaseKeepAliveSchema.parse(
      await this.#transport.call("/v3/lease/keepalive", { ID: id }, options),
    );
    return Math.max(0, answer.result?.TTL ?? 0);
  }

  /** Ends a lease and deletes its keys. Revoking a lease that is gone is not an error. */
  async leaseRevoke(id: string, options: CallOptions = {}): Promise<void> {
    try {
      await this.#transport.call("/v3/lease/revoke", { ID: id }, options);
    } catch (e) {
      if (!(e instanceof EtcdError && e.grpcCode === 5)) throw e; // 5: lease not found
    }
  }

  /** A lease's remaining TTL (-1: gone), granted TTL, and the keys attached to it. */
  async leaseTimeToLive(
    id: string,
    options: CallOptions = {},
  ): Promise<{ ttl: number; grantedTtl: number; keys: Uint8Array[] }> {
    const body = { ID: id, keys: true };
    return LeaseTimeToLiveSchema.parse(
      await this.#transport.call("/v3/lease/timetolive", body, options),
    );
  }

  /**
   * The changes to `key` (or `[key, rangeEnd)`) from `startRevision` (default: the next one),
   * until `signal` aborts, when iteration ends. Throws when the stream breaks or etcd cancels
   * it (`grpcCode` 11: the start revision was compacted); the caller watches again.
   */
  async *watch(
    key: Bytes,
    options: { rangeEnd?: Bytes; startRevision?: number },
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent> {
    const request = {
      create_request: {
        key: b64(key),
        ...(options.rangeEnd !== undefined && { range_end: b64(options.rangeEnd) }),
        ...(options.startRevision && { start_revision: String(options.startRevision) }),
      },
    };
    // The deadline covers the stream's opening (up to its `created` answer), not its life.
    const { endpoint, first, rest: lines } = await this.#transport.stream("/v3/watch", request, {
      signal,
      until: signal,
    });
    if (!WatchLineSchema.parse(first).result?.created) {
      await lines.return(undefined);
      throw new EtcdError(`etcd at ${endpoint} did not open a watch: ${JSON.stringify(first)}`, 2);
    }
    try {
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await lines.next();
        } catch (e) {
          if (signal.aborted || this.#transport.closed.aborted) return;
          throw new EtcdUnavailableError(`The watch stream from etcd at ${endpoint} broke: ${e}`);
        }
        if (signal.aborted || this.#transport.closed.aborted) return;
        if (next.done) throw new EtcdUnavailableError(`etcd at ${endpoint} ended a watch stream`);
        const { result, error } = WatchLineSchema.parse(next.value);
        if (error) throw new EtcdError(error.message ?? "watch failed", error.grpc_code ?? 2);
        if (result?.canceled) {
          const compacted = result.compact_revision > 0;
          throw new EtcdError(
            `etcd canceled a watch: ${
              compacted
                ? `revision compacted up to ${result.compact_revision}`
                : result.cancel_reason
            }`,
            compacted ? 11 : 1,
          );
        }
        for (const e of result?.events ?? []) {
          yield { type: e.type ?? "PUT", kv: e.kv, revision: result?.header.revision ?? 0 };
        }
      }
    } finally {
      await lines.return(undefined).catch(() => {});
    }
  }

  /** Ends every call under way and releases the connections. Idempotent. */
  close(): void {
    this.#transport.close();
  }
}

const ResponseHeader = z.object({ header: z.object({ revision: z.string() }) })
  .transform((r) => ({ revision: Number(r.header.revision) }));
const DeleteResult = z.object({
  header: z.object({ revision: z.string() }),
  deleted: z.string().optional(),
}).transform((r) => ({ deleted: Number(r.deleted ?? 0), revision: Number(r.header.revision) }));
