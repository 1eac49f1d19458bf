/**
 * `--master etcd://HOST:PORT[,…][/prefix]` for the masters' clients: the leading master's URL
 * read from the masters' election in the same etcd and prefix their `--store` names.
 */
import type { EtcdLeaderReader } from "../../base/mod.ts";
import { parseStoreSpec } from "../store_spec.ts";
import { EtcdClient } from "./client.ts";
import { readLeader } from "./election.ts";

/** A reader of the leading master for `Masters` (one etcd client per spec, kept). */
export function etcdMasterLeader(options: { timeoutMs?: number } = {}): EtcdLeaderReader {
  const clients = new Map<string, Promise<EtcdClient>>();
  return async (spec) => {
    const parsed = parseStoreSpec(spec.text);
    if (parsed.kind !== "etcd") throw new Error(`"${spec.text}" is not an etcd:// spec`);
    let client = clients.get(spec.text);
    if (!client) {
      client = EtcdClient.connect(parsed.endpoints, { timeoutMs: options.timeoutMs ?? 2000 });
      clients.set(spec.text, client);
      client.catch(() => clients.delete(spec.text));
    }
    return await readLeader(await client, `${parsed.prefix}/election/master`);
  };
}
