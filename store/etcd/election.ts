/**
 * Leader election by etcd's election recipe: each candidate puts `<prefix>/election/<lease-hex>`
 * under its own lease; the key with the lowest create revision leads; the others each wait for
 * the deletion of the key just before theirs. A leader fences its writes with its key's create
 * revision, and stops acting once its lease is known lost (`LeaseKeeper`).
 */
import { systemClock } from "../../base/mod.ts";
import { type EtcdClient, EtcdError } from "./client.ts";
import { type EtcdLog, LeaseKeeper } from "./lease_keeper.ts";
import {
  type Compare,
  compareCreate,
  type KeyValue,
  opPut,
  opRange,
  prefixEnd,
  text,
  type WatchEvent,
} from "./wire.ts";

/** A TTL short enough that a standby takes over within 3 s of a leader's end. */
export const DEFAULT_ELECTION_TTL_SECONDS = 2;
/** How long to wait before reading again after a watch or a read failed. */
const RETRY_MS = 200;

/** Options of an election among the processes of one component. */
export interface ElectionOptions {
  /** The component's prefix; candidates' keys are `<prefix>/election/…`. */
  prefix: string;
  ttlSeconds?: number;
  log?: EtcdLog;
}

/** This candidate's term as leader. */
export interface Leadership {
  /**
   * A compare to put in every write transaction: true only while this leadership holds (its key
   * exists with its create revision).
   */
  readonly fence: Compare;
  /**
   * Aborted the moment leadership is known lost (keepalives failed for the TTL, key deleted,
   * lease expired, resign). Reading it checks the clock, so a process that wakes from a pause
   * sees the loss before it acts.
   */
  readonly signal: AbortSignal;
  /** Ends the term now: the next candidate leads without waiting for the TTL. */
  resign(): Promise<void>;
}

/** The leader's value under `prefix` (the candidate key with the lowest create revision). */
export async function readLeader(client: EtcdClient, prefix: string): Promise<string | undefined> {
  const { kvs } = await client.rangeAll(candidatesPrefix(prefix));
  const leader = lowest(kvs);
  return leader && text(leader.value);
}

/** One component's election on etcd; any number of candidates may campaign. */
export class Election {
  readonly #client: EtcdClient;
  readonly #prefix: string;
  readonly #dir: string;
  readonly #ttlSeconds: number;
  readonly #log: EtcdLog;
  #troubleListeners: ((trouble: string | undefined) => void)[] = [];

  constructor(client: EtcdClient, options: ElectionOptions) {
    this.#client = client;
    this.#prefix = options.prefix;
    this.#dir = candidatesPrefix(options.prefix);
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_ELECTION_TTL_SECONDS;
    this.#log = options.log ?? (() => {});
  }

  /**
   * Calls `listen` with why campaigning fails (etcd unreachable, no quorum) each time it does,
   * and with undefined once it gets through again.
   */
  onTrouble(listen: (trouble: string | undefined) => void): void {
    this.#troubleListeners.push(listen);
  }

  #trouble(trouble: string | undefined): void {
    for (const listen of this.#troubleListeners) listen(trouble);
  }

  /**
   * Resolves once this candidate leads. value: what followers read as the leader (a URL). Keeps
   * trying through etcd's failures (logging them) and rejects only when `signal` aborts.
   */
  async campaign(value: string, signal?: AbortSignal): Promise<Leadership> {
    for (let failures = 0;; failures++) {
      signal?.throwIfAborted();
      let lease: LeaseKeeper | undefined;
      try {
        lease = await LeaseKeeper.grant(this.#client, this.#ttlSeconds, { log: this.#log, signal });
        const key = `${this.#dir}${BigInt(lease.id).toString(16)}`;
        // Put-if-absent, reading the key back otherwise: a put retried on another member
        // must not give us a create revision that is not our key's.
        const put = await this.#client.txn({
          compare: [compareCreate(key, "EQUAL", 0)],
          success: [opPut(key, value, { lease: lease.id })],
          failure: [opRange(key)],
        }, { signal });
        const read = put.responses[0];
        const createRevision = put.succeeded
          ? put.revision
          : (read?.type === "range" && read.kvs[0]?.createRevision) || 0;
        this.#trouble(undefined);
        const until = AbortSignal.any([lease.signal, ...(signal ? [signal] : [])]);
        await this.#waitForTurn(key, createRevision, until, lease);
        if (lease.signal.aborted) throw lease.signal.reason;
        this.#log("Elected leader", { key, createRevision });
        return new HeldLeadership(this.#client, { lease, key, createRevision, log: this.#log });
      } catch (e) {
        await lease?.end("campaign abandoned");
        if (signal?.aborted) throw signal.reason;
        this.#trouble(e instanceof Error ? e.message : String(e));
        const retryMs = Math.min(RETRY_MS * 2 ** failures, 2000);
        this.#log("Campaign failed; trying again", { error: String(e), retryMs });
        await systemClock.sleep(retryMs, signal);
      }
    }
  }

  /** The current leader's value, or undefined when none. */
  leader(): Promise<string | undefined> {
    return readLeader(this.#client, this.#prefix);
  }

  /** Calls back with each change of leader (undefined: none) until the signal aborts. */
  async observe(
    onLeader: (value: string | undefined) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let reported: { value: string | undefined } | undefined;
    const report = (candidates: Map<string, KeyValue>) => {
      const leader = lowest([...candidates.values()]);
      const value = leader && text(leader.value);
      if (reported && reported.value === value) return;
      reported = { value };
      onLeader(value);
    };
    while (!signal.aborted) {
      try {
        const { kvs, revision } = await this.#client.rangeAll(this.#dir, { signal });
        const candidates = new Map(kvs.map((kv) => [text(kv.key), kv]));
        report(candidates);
        const range = { rangeEnd: prefixEnd(this.#dir), startRevision: revision + 1 };
        for await (const event of this.#watchAWhile(this.#dir, range, signal)) {
          if (event.type === "DELETE") candidates.delete(text(event.kv.key));
          else candidates.set(text(event.kv.key), event.kv);
          report(candidates);
        }
      } catch (e) {
        if (signal.aborted) return;
        this.#log("Watching the election failed; reading it again", { error: String(e) });
        await systemClock.sleep(RETRY_MS, signal).catch(() => {});
      }
    }
  }

  /**
   * A watch that ends after a TTL, so that the caller reads again: a member that went silent
   * (paused, partitioned) keeps a watch stream open but sends nothing, while the range that
   * follows has a deadline and fails over.
   */
  async *#watchAWhile(
    key: string | Uint8Array,
    options: { rangeEnd?: Uint8Array; startRevision: number },
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent> {
    const expired = new AbortController();
    const timer = setTimeout(() => expired.abort(), this.#ttlSeconds * 1000);
    try {
      yield* this.#client.watch(key, options, AbortSignal.any([signal, expired.signal]));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until no candidate key older than ours is left; etcd's failures are retried. */
  async #waitForTurn(key: string, mine: number, until: AbortSignal, lease: LeaseKeeper) {
    for (;;) {
      until.throwIfAborted();
      try {
        const { kvs, revision } = await this.#client.rangeAll(this.#dir, { signal: until });
        if (!kvs.some((kv) => kv.createRevision === mine && text(kv.key) === key)) {
          return lease.lose(`its candidate key ${key} is gone`);
        }
        const ahead = kvs.filter((kv) => kv.createRevision < mine)
          .sort((a, b) => b.createRevision - a.createRevision)[0];
        if (!ahead) return;
        const watched = { startRevision: revision + 1 };
        for await (const event of this.#watchAWhile(ahead.key, watched, until)) {
          if (event.type === "DELETE") break;
        }
      } catch (e) {
        until.throwIfAborted();
        this.#log("Waiting for the leader to go failed; reading again", { error: String(e) });
        await systemClock.sleep(RETRY_MS, until).catch(() => {});
      }
    }
  }
}

/** A term won by `campaign()`, ended by its lease's loss, its key's deletion or `resign()`. */
class HeldLeadership implements Leadership {
  readonly fence: Compare;
  readonly #lease: LeaseKeeper;
  readonly #watching: Promise<void>;

  constructor(
    client: EtcdClient,
    term: { lease: LeaseKeeper; key: string; createRevision: number; log: EtcdLog },
  ) {
    this.fence = compareCreate(term.key, "EQUAL", term.createRevision);
    this.#lease = term.lease;
    this.#watching = watchKey(client, term);
  }

  get signal(): AbortSignal {
    return this.#lease.signal;
  }

  async resign(): Promise<void> {
    await this.#lease.end("resigned");
    await this.#watching;
  }
}

/** Marks the lease lost when the leader's key is deleted (by its expiry, or by hand). */
async function watchKey(
  client: EtcdClient,
  term: { lease: LeaseKeeper; key: string; createRevision: number; log: EtcdLog },
): Promise<void> {
  const { lease, key } = term;
  const lost = lease.signal;
  let from = term.createRevision + 1;
  while (!lost.aborted) {
    try {
      for await (const event of client.watch(key, { startRevision: from }, lost)) {
        if (event.type === "DELETE") return lease.lose(`its key ${key} was deleted`);
        from = event.kv.modRevision + 1;
      }
    } catch (e) {
      if (lost.aborted) return;
      if (e instanceof EtcdError && e.grpcCode === 11) { // compacted: read what is there now
        const { kvs, revision } = await client.range(key, { signal: lost }).catch(() => ({
          kvs: undefined,
          revision: from - 1,
        }));
        if (kvs && kvs[0]?.createRevision !== term.createRevision) {
          return lease.lose(`its key ${key} was replaced`);
        }
        from = revision + 1;
      }
      term.log("Watching the leader key failed; watching again", { key, error: String(e) });
      await systemClock.sleep(RETRY_MS, lost).catch(() => {});
    }
  }
}

function candidatesPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, "")}/election/`;
}

/** The candidate that leads: the lowest create revision. */
function lowest(kvs: KeyValue[]): KeyValue | undefined {
  return kvs.reduce<KeyValue | undefined>(
    (min, kv) => (min && min.createRevision <= kv.createRevision ? min : kv),
    undefined,
  );
}
