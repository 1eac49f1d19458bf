/**
 * State stores of the control plane: one interface (`StateStore`), two backends — Deno KV, the
 * embedded default, and etcd, for masters and Marathons that must survive the loss of a machine
 * — and leader election on etcd.
 *
 * @module
 * @example
 * ```ts
 * import { DenoKvStore } from "./store/mod.ts";
 * const store = await DenoKvStore.open(":memory:");
 * await store.set(["apps", "/web"], { instances: 3 });
 * console.log((await store.get(["apps", "/web"])).value);
 * store.close();
 * ```
 */
export * from "./state_store.ts";
export { DenoKvStore } from "./deno_kv_store.ts";
export { JournaledStore, type JournaledStoreOptions } from "./journaled_store.ts";
export { parseStoreSpec, type StoreSpec } from "./store_spec.ts";
export { EtcdConnection } from "./etcd/etcd_connection.ts";
export { EtcdStateStore } from "./etcd/etcd_store.ts";
export { EtcdClient, EtcdUnavailableError } from "./etcd/client.ts";
export { Election, type Leadership, readLeader } from "./etcd/election.ts";
export { Candidacy, type Term } from "./etcd/candidacy.ts";
export { etcdMasterLeader } from "./etcd/master_leader.ts";
