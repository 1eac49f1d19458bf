/**
 * The mark Tender leaves on its etcd prefix: `<prefix>/format` holds `{"tender": 1}`. A prefix
 * that holds other keys and no mark (another system's data), or a mark of a newer format, is
 * refused before anything is read or written.
 */
import { TenderError } from "../../base/mod.ts";
import type { EtcdClient } from "./client.ts";
import { compareVersion, opPut, prefixEnd, text } from "./wire.ts";

/** The format of Tender's records on etcd that this code reads and writes. */
export const STORE_FORMAT = 1;

/**
 * Checks (and on an empty prefix, writes) the format mark under `prefix` (no trailing `/`).
 * Throws a `TenderError` that says what was found and what to do.
 */
export async function claimPrefix(client: EtcdClient, prefix: string): Promise<void> {
  const markKey = `${prefix}/format`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const { kvs } = await client.range(markKey);
    const mark = kvs[0];
    if (mark) return checkMark(prefix, text(mark.value));
    // No mark: the prefix must hold nothing but Tender's own election keys.
    const others = await client.range(`${prefix}/`, {
      rangeEnd: prefixEnd(`${prefix}/`),
      keysOnly: true,
      limit: 50,
    });
    // The mark itself may have been written meanwhile by another process claiming the prefix:
    // then the put below fails and the next round reads it.
    const foreign = others.kvs.map((kv) => text(kv.key))
      .find((key) => key !== markKey && !key.startsWith(`${prefix}/election/`));
    if (foreign !== undefined) {
      throw new TenderError(
        "conflict",
        `etcd prefix "${prefix}/" holds keys that are not Tender's (e.g. "${foreign}") and no ` +
          `Tender format mark: choose another prefix in --store etcd://…/PREFIX`,
      );
    }
    const claimed = await client.txn({
      compare: [compareVersion(markKey, "EQUAL", 0)],
      success: [opPut(markKey, JSON.stringify({ tender: STORE_FORMAT }))],
    });
    if (claimed.succeeded) return;
  }
  throw new TenderError("conflict", `etcd prefix "${prefix}/": its format mark keeps changing`);
}

function checkMark(prefix: string, value: string): void {
  let format: unknown;
  try {
    format = (JSON.parse(value) as { tender?: unknown }).tender;
  } catch { /* not JSON: not ours */ }
  if (typeof format !== "number") {
    throw new TenderError(
      "conflict",
      `etcd key "${prefix}/format" is not Tender's format mark (${value.slice(0, 80)}): ` +
        `choose another prefix in --store etcd://…/PREFIX`,
    );
  }
  if (format > STORE_FORMAT) {
    throw new TenderError(
      "conflict",
      `etcd prefix "${prefix}/" was written by a newer Tender (store format ${format}; this one ` +
        `reads format ${STORE_FORMAT}): upgrade this process, or choose another prefix`,
    );
  }
}
