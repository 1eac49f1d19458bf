/** Every Deno KV key of the registry, built in one place. */

const P = "registry";

/** Key builders; a `..Prefix` builder lists a family. */
export const keys = {
  /** A repository exists once anything was pushed to it. */
  repo: (name: string): Deno.KvKey => [P, "repo", name],
  repoPrefix: (): Deno.KvKey => [P, "repo"],
  /** A content-addressed file on disk: size and when it was last written or referenced. */
  blob: (digest: string): Deno.KvKey => [P, "blob", digest],
  blobPrefix: (): Deno.KvKey => [P, "blob"],
  /** A repository owns a blob (pushed or mounted there). */
  link: (name: string, digest: string): Deno.KvKey => [P, "link", name, digest],
  /** Reverse of `link`, so garbage collection finds every owner of a blob. */
  owner: (digest: string, name: string): Deno.KvKey => [P, "owner", digest, name],
  ownerPrefix: (digest: string): Deno.KvKey => [P, "owner", digest],
  /** A manifest revision in a repository. */
  manifest: (name: string, digest: string): Deno.KvKey => [P, "manifest", name, digest],
  manifestPrefix: (): Deno.KvKey => [P, "manifest"],
  /** A tag pointing at a manifest digest. */
  tag: (name: string, tag: string): Deno.KvKey => [P, "tag", name, tag],
  tagPrefix: (name: string): Deno.KvKey => [P, "tag", name],
  /** A manifest whose `subject` is another digest, for the referrers API. */
  referrer: (name: string, subject: string, digest: string): Deno.KvKey => [
    P,
    "referrer",
    name,
    subject,
    digest,
  ],
  referrerPrefix: (name: string, subject: string): Deno.KvKey => [P, "referrer", name, subject],
  /** An open upload session. */
  upload: (id: string): Deno.KvKey => [P, "upload", id],
  uploadPrefix: (): Deno.KvKey => [P, "upload"],
  /** Bumped by every garbage-collection deletion; manifest writes check it. */
  gcEpoch: (): Deno.KvKey => [P, "gc_epoch"],
};
