/**
 * Mesos' fetcher: before a task's container starts, every `CommandInfo.uris` entry is fetched
 * into its sandbox. `http(s)://` is downloaded (redirects followed, with the agent's CA trust,
 * never its credentials), `file://` and absolute paths are copied when the task's user could
 * read them. `executable` makes the file 0755 and is never extracted; `extract` (default true)
 * unpacks archives into the sandbox (`fetcher_extract.ts`); `cache` keeps a copy per URI in the
 * agent's cache, evicted oldest-used first past its size. The sandbox is handed to the task's
 * user after, with everything fetched in it.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type Clock, systemClock } from "../base/mod.ts";
import type { CommandInfo } from "../protocol/mod.ts";
import { basicHeader } from "../security/mod.ts";
import { blockingDir, lookupUser, type UserAccount } from "./containerizer/user_account.ts";
import type { ContainerSpec } from "./containerizer/containerizer.ts";
import { archiveKind, extractArchive, unsafeEntry } from "./fetcher_extract.ts";

/** One `CommandInfo.uris` entry. */
export type CommandUri = NonNullable<CommandInfo["uris"]>[number];

/** Mesos' `--fetcher_cache_size` default: 2 GiB. */
export const DEFAULT_CACHE_BYTES = 2 * 2 ** 30;
/** The largest file one URI may bring (default 4 GiB). */
export const DEFAULT_MAX_BYTES = 4 * 2 ** 30;
/** How long one task's fetching may take (default 10 minutes). */
export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60_000;

/** Settings of a `Fetcher`. */
export interface FetcherOptions {
  /** The cache's directory (`<work dir>/fetcher_cache`); made when first used. */
  cacheDir: string;
  cacheBytes?: number;
  maxBytes?: number;
  timeoutMs?: number;
  /** The HTTP client with the agent's TLS trust (`--ca`); no credentials are ever sent. */
  httpClient?: Deno.HttpClient;
  clock?: Clock;
}

/**
 * Whose permissions a local file is read with: the task's host account; `agent` when the task
 * runs as the agent itself (and could read it anyway); `others` for a task in an image with no
 * host account (its root is not the host's), which reads only what anyone may.
 */
export type LocalReader = Pick<UserAccount, "uid" | "gid"> | "agent" | "others";

/** What one task needs fetched. */
export interface FetchRequest {
  taskId: string;
  /** Absolute; it exists. */
  sandbox: string;
  uris: readonly CommandUri[];
  reader: LocalReader;
  /** Stops the fetching (the task was killed). */
  signal?: AbortSignal;
}

/** What the fetcher did so far. */
export interface FetcherCounters {
  /** URIs fetched into sandboxes. */
  fetched: number;
  /** Of those, served from the cache. */
  cacheHits: number;
  /** Downloaded or copied for the cache. */
  cacheMisses: number;
  failures: number;
}

/** A URI with any password hidden, for messages. */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = "xxxxx";
    return url.password || url.username ? url.href : uri;
  } catch {
    return uri;
  }
}

/** The name a URI's file gets in the sandbox: `output_file`, else the URI's last segment. */
export function fetchedName(uri: CommandUri): string {
  if (uri.output_file !== undefined) {
    const name = uri.output_file.replace(/\/+$/, "");
    const why = name === "" ? "is empty" : unsafeEntry(name) ? `has ${unsafeEntry(name)}` : "";
    if (why) throw new Error(`output_file ${JSON.stringify(uri.output_file)} ${why}`);
    return name.replace(/^(\.\/)+/, "");
  }
  const path = uri.value.startsWith("/") ? uri.value : new URL(uri.value).pathname;
  let base = path.slice(path.lastIndexOf("/") + 1);
  try {
    base = decodeURIComponent(base);
  } catch { /* kept as written */ }
  if (base === "" || base === "." || base === ".." || base.includes("/") || base.includes("\0")) {
    throw new Error(`its name ${JSON.stringify(base)} is no file name: give output_file`);
  }
  return base;
}

/** Fetches tasks' URIs into their sandboxes, with a cache shared by the agent's tasks. */
export class Fetcher {
  readonly #options: FetcherOptions;
  readonly #clock: Clock;
  readonly #counters: FetcherCounters = { fetched: 0, cacheHits: 0, cacheMisses: 0, failures: 0 };
  /** Cache entries being filled, by key: the cached file, or undefined when too big to keep. */
  readonly #filling = new Map<string, Promise<string | undefined>>();
  #cleared = false;

  constructor(options: FetcherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** A copy of the counters. */
  counters(): FetcherCounters {
    return { ...this.#counters };
  }

  /**
   * Fetches every URI of the request, in order, within the time limit. Rejects at the first
   * failure with a message naming the URI and the cause.
   */
  async fetchAll(request: FetchRequest): Promise<void> {
    if (request.uris.length === 0) return;
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    const timeout = new AbortController();
    const done = new AbortController();
    this.#clock.sleep(timeoutMs, done.signal).then(
      () => timeout.abort(new Error("timed out")),
      () => undefined,
    );
    const signal = request.signal
      ? AbortSignal.any([timeout.signal, request.signal])
      : timeout.signal;
    try {
      await this.#fetchEach(request, signal, { timeout: timeout.signal, timeoutMs });
    } finally {
      done.abort();
    }
  }

  async #fetchEach(
    request: FetchRequest,
    signal: AbortSignal,
    limit: { timeout: AbortSignal; timeoutMs: number },
  ): Promise<void> {
    const { timeout, timeoutMs } = limit;
    for (const uri of request.uris) {
      try {
        await this.#fetchOne(uri, request, signal);
        this.#counters.fetched += 1;
      } catch (e) {
        this.#counters.failures += 1;
        const cause = timeout.aborted
          ? `timed out after ${timeoutMs / 1000} s`
          : request.signal?.aborted
          ? String(request.signal.reason?.message ?? request.signal.reason)
          : e instanceof Error
          ? e.message
          : String(e);
        throw new Error(
          `Cannot fetch "${redactUri(uri.value)}" for task "${request.taskId}": ${cause}`,
        );
      }
    }
  }

  async #fetchOne(uri: CommandUri, request: FetchRequest, signal: AbortSignal): Promise<void> {
    const scheme = schemeOf(uri.value);
    if (!uri.value.startsWith("/") && !["http:", "https:", "file:"].includes(scheme ?? "")) {
      throw new Error(
        `Tender fetches http, https and file URIs and absolute paths, not ${
          scheme ? `"${scheme}"` : "relative paths"
        }`,
      );
    }
    const name = fetchedName(uri);
    const dest = `${request.sandbox}/${name}`;
    await Deno.mkdir(dirname(dest), { recursive: true });
    // Never write through a link left in the sandbox.
    const there = await Deno.lstat(dest).catch(() => undefined);
    if (there?.isSymlink) await Deno.remove(dest);
    const local = localPath(uri.value);
    if (local !== undefined) await checkReadable(local, request.reader);
    if (uri.cache) {
      const cached = await this.#cached(uri.value, signal);
      if (cached !== undefined) await Deno.copyFile(cached, dest);
      else await this.#download(uri.value, dest, signal);
    } else {
      await this.#download(uri.value, dest, signal);
    }
    const mode = (await Deno.stat(dest)).mode ?? 0o644;
    if (uri.executable) await Deno.chmod(dest, 0o755);
    else if (mode & 0o6000) await Deno.chmod(dest, mode & 0o1777);
    if (!uri.executable && (uri.extract ?? true) && archiveKind(name) !== undefined) {
      const maxBytes = this.#options.maxBytes ?? DEFAULT_MAX_BYTES;
      await extractArchive(dest, request.sandbox, { signal, maxBytes }).catch((e) => {
        throw new Error(`cannot extract ${name}: ${e instanceof Error ? e.message : e}`);
      });
    }
  }

  /** The cached file of a URI (filled now when missing), or undefined when too big to keep. */
  async #cached(uri: string, signal: AbortSignal): Promise<string | undefined> {
    const dir = this.#options.cacheDir;
    const key = await cacheKey(uri);
    const path = `${dir}/${key}`;
    const filling = this.#filling.get(key);
    if (filling) {
      const got = await filling;
      if (got !== undefined) this.#counters.cacheHits += 1;
      return got;
    }
    if (await Deno.stat(path).then((s) => s.isFile, () => false)) {
      this.#counters.cacheHits += 1;
      const now = new Date(this.#clock.now());
      await Deno.utime(path, now, now).catch(() => undefined);
      return path;
    }
    const fill = this.#fill(uri, key, signal);
    this.#filling.set(key, fill);
    try {
      return await fill;
    } finally {
      this.#filling.delete(key);
    }
  }

  async #fill(uri: string, key: string, signal: AbortSignal): Promise<string | undefined> {
    const dir = this.#options.cacheDir;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    if (!this.#cleared) {
      this.#cleared = true;
      for await (const e of Deno.readDir(dir)) {
        if (e.name.endsWith(".partial")) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
      }
    }
    const partial = `${dir}/${key}.partial`;
    this.#counters.cacheMisses += 1;
    try {
      await this.#download(uri, partial, signal);
      const size = (await Deno.stat(partial)).size;
      const cap = this.#options.cacheBytes ?? DEFAULT_CACHE_BYTES;
      if (size > cap) {
        await Deno.remove(partial);
        return undefined;
      }
      await this.#evict(cap - size);
      await Deno.rename(partial, `${dir}/${key}`);
      return `${dir}/${key}`;
    } catch (e) {
      await Deno.remove(partial).catch(() => undefined);
      throw e;
    }
  }

  /** Removes the least recently used entries until the cache holds at most `keep` bytes. */
  async #evict(keep: number): Promise<void> {
    const dir = this.#options.cacheDir;
    const entries: { path: string; size: number; used: number }[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || e.name.endsWith(".partial")) continue;
      const info = await Deno.stat(`${dir}/${e.name}`).catch(() => undefined);
      if (info) {
        entries.push({
          path: `${dir}/${e.name}`,
          size: info.size,
          used: info.mtime?.getTime() ?? 0,
        });
      }
    }
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= keep) break;
      await Deno.remove(e.path).catch(() => undefined);
      total -= e.size;
    }
  }

  /** Brings one URI's bytes to `dest`: downloaded, or copied from this host. */
  async #download(uri: string, dest: string, signal: AbortSignal): Promise<void> {
    const max = this.#options.maxBytes ?? DEFAULT_MAX_BYTES;
    const local = localPath(uri);
    if (local !== undefined) {
      const info = await Deno.stat(local).catch((e) => {
        throw new Error(e instanceof Deno.errors.NotFound ? `${local} does not exist` : String(e));
      });
      if (!info.isFile) throw new Error(`${local} is not a regular file`);
      if (info.size > max) {
        throw new Error(`it is ${info.size} bytes, over the limit of ${max} bytes`);
      }
      await Deno.copyFile(local, dest);
      return;
    }
    const client = this.#options.httpClient;
    // Credentials in the URI (`https://user:secret@host/…`) go as Basic authentication, as curl
    // (Mesos' fetcher) sends them: fetch() refuses a URL that carries them.
    const url = new URL(uri);
    const headers = new Headers();
    if (url.username || url.password) {
      headers.set(
        "authorization",
        basicHeader(decodeURIComponent(url.username), decodeURIComponent(url.password)),
      );
      url.username = "";
      url.password = "";
    }
    const response = await fetch(url, {
      signal,
      headers,
      redirect: "follow",
      ...(client ? { client } : {}),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
    }
    const length = Number(response.headers.get("content-length") ?? NaN);
    if (length > max) {
      await response.body?.cancel();
      throw new Error(`it is ${length} bytes, over the limit of ${max} bytes`);
    }
    const file = await Deno.open(dest, { write: true, create: true, truncate: true, mode: 0o644 });
    let seen = 0;
    const cap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) throw new Error(`it is over the limit of ${max} bytes`);
        controller.enqueue(chunk);
      },
    });
    await (response.body ?? new ReadableStream()).pipeThrough(cap).pipeTo(file.writable, {
      signal,
    });
  }
}

function schemeOf(uri: string): string | undefined {
  return /^([a-zA-Z][a-zA-Z0-9+.-]*:)/.exec(uri)?.[1]?.toLowerCase();
}

/** The host path of a `file://` URI or an absolute path; undefined for other URIs. */
export function localPath(uri: string): string | undefined {
  if (uri.startsWith("/")) return uri;
  if (schemeOf(uri) === "file:") return fileURLToPath(uri);
  return undefined;
}

async function cacheKey(uri: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(uri));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Throws unless the task's reader may pass to `path` and read it. */
async function checkReadable(path: string, reader: LocalReader): Promise<void> {
  if (reader === "agent") return;
  const who = reader === "others" ? { uid: -1, gid: -1 } : reader;
  const account = { name: "", home: "/", ...who };
  const blocked = await blockingDir(dirname(path), account).catch(() => undefined);
  const info = await Deno.stat(path).catch(() => undefined);
  const mode = info?.mode ?? 0;
  const bit = info?.uid === who.uid ? 0o400 : info?.gid === who.gid ? 0o040 : 0o004;
  if (blocked || !info || (mode & bit) === 0) {
    throw new Error(
      reader === "others"
        ? `${path} is not readable by everyone, and the task has no user on this host to read it as`
        : `${path} is not readable by the task's user (uid ${who.uid})`,
    );
  }
}

/**
 * Whose permissions a task's local files are read with (see `LocalReader`): a task in an image
 * reads as the host account of the user it names, else as anyone; a process task as its user's
 * account, or as the agent when it runs as the agent.
 */
export async function localReader(spec: ContainerSpec): Promise<LocalReader> {
  const inImage = spec.container?.docker?.image !== undefined ||
    spec.container?.mesos?.image !== undefined;
  const name = spec.user && (!inImage || spec.user.fromTask) ? spec.user.name : undefined;
  const account = name === undefined ? undefined : await lookupUser(name);
  if (account && account.uid !== Deno.uid()) return { uid: account.uid, gid: account.gid };
  return inImage && !account ? "others" : "agent";
}
