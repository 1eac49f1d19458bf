import assert from "node:assert/strict";
import { parseStoreSpec } from "./store_spec.ts";

Deno.test("parseStoreSpec() reads etcd endpoints and prefix, and a Deno KV path", () => {
  assert.deepEqual(parseStoreSpec("etcd://h1:2379,h2:2379/tender/prod/"), {
    kind: "etcd",
    endpoints: ["http://h1:2379", "http://h2:2379"],
    prefix: "tender/prod",
  });
  assert.deepEqual(parseStoreSpec("etcd://127.0.0.1:2379"), {
    kind: "etcd",
    endpoints: ["http://127.0.0.1:2379"],
    prefix: "tender",
  });
  assert.deepEqual(parseStoreSpec("/var/lib/tender/master.kv"), {
    kind: "deno-kv",
    path: "/var/lib/tender/master.kv",
  });
});

Deno.test("parseStoreSpec() names the bad part of a spec", () => {
  assert.throws(() => parseStoreSpec("etcd://h1"), /"h1" is not HOST:PORT/);
  assert.throws(() => parseStoreSpec("etcd:///x"), /names no etcd endpoint/);
  assert.throws(() => parseStoreSpec("zk://h:2181/x"), /only etcd:\/\//);
  assert.throws(() => parseStoreSpec("etcd://h:1/a b"), /prefix "a b" may hold only/);
});
