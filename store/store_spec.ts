/** The `--store` flag: where a component keeps its records. */

/** A parsed `--store`: a Deno KV file, or an etcd cluster and the key prefix Tender owns there. */
export type StoreSpec =
  | { kind: "deno-kv"; path: string }
  | { kind: "etcd"; endpoints: string[]; prefix: string };

/**
 * Parses `etcd://HOST:PORT[,HOST:PORT...][/prefix]` (the prefix defaults to `tender`) or a Deno
 * KV path. Throws an error naming the bad part.
 */
export function parseStoreSpec(spec: string): StoreSpec {
  if (!spec.startsWith("etcd://")) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
      throw new Error(
        `--store "${spec}": only etcd://HOST:PORT[,HOST:PORT...][/prefix] or a file path is supported`,
      );
    }
    return { kind: "deno-kv", path: spec };
  }
  const rest = spec.slice("etcd://".length);
  const slash = rest.indexOf("/");
  const hosts = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? "" : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, "") || "tender";
  const endpoints = hosts.split(",").map((h) => h.trim()).filter(Boolean).map((host) => {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i.test(host)) {
      throw new Error(`--store "${spec}": "${host}" is not HOST:PORT`);
    }
    return `http://${host}`;
  });
  if (endpoints.length === 0) throw new Error(`--store "${spec}": names no etcd endpoint`);
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix)) {
    throw new Error(`--store "${spec}": the prefix "${prefix}" may hold only A-Z a-z 0-9 . _ - /`);
  }
  return { kind: "etcd", endpoints, prefix };
}
