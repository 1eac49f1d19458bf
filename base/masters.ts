/**
 * Finding the leading master among several. A `--master` flag names either a comma-separated
 * list of master URLs (`http://m1:5050,m2:5050`) or an etcd election
 * (`etcd://e1:2379,e2:2379/prefix`). `Masters` keeps the last known leader, asks the candidates
 * (`GET /master/redirect`: a standby answers 307 to the leader, 503 while none is elected) when
 * it knows none, and sends requests there, following 307s and moving on when a master is gone.
 */
import type { Clock } from "./clock.ts";
import { badRequest, TenderError } from "./errors.ts";

/** A list of master base URLs (`http(s)://host:port[/prefix]`, no trailing slash). */
export interface MasterUrlsSpec {
  kind: "urls";
  urls: string[];
  /** The list as written back, `http://m1:5050,http://m2:5050`. */
  text: string;
}

/** An etcd election to read the leader from (`etcd://e1:2379,e2:2379/prefix`). */
export interface EtcdMasterSpec {
  kind: "etcd";
  /** The etcd endpoints, `http://e1:2379`. */
  endpoints: string[];
  /** The key prefix after the endpoints (`/prefix`), or "" when the spec names none. */
  prefix: string;
  /** The spec as given. */
  text: string;
}

/** What a `--master` flag names. */
export type MasterSpec = MasterUrlsSpec | EtcdMasterSpec;

/**
 * Reads the leading master's base URL from an etcd election; undefined while none leads.
 * Plugged in where processes are assembled (store/etcd's `readLeader(client, prefix)`).
 */
export type EtcdLeaderReader = (
  spec: EtcdMasterSpec,
  signal: AbortSignal,
) => Promise<string | undefined>;

/** Effects of `Masters`. */
export interface MastersDeps {
  fetch?: typeof fetch;
  /** Reads the leader of an `etcd://` spec; without it such a spec is refused. */
  etcd?: EtcdLeaderReader;
  /** Deadline of each leader probe, ms (default 2000). */
  probeTimeoutMs?: number;
}

/** A request `Masters.fetch()` can send again elsewhere: its body, if any, is not a stream. */
export type MasterRequestInit = Omit<RequestInit, "body" | "redirect"> & {
  body?: string | Uint8Array<ArrayBuffer> | ArrayBuffer;
};

const MAX_REDIRECTS = 5;
const USE = "use http://HOST:PORT, a comma-separated list of them, or etcd://HOST:PORT,.../PREFIX";

/** Parses a `--master` value; throws a `bad_request` naming the entry that is not a URL. */
export function parseMasterSpec(text: string): MasterSpec {
  const trimmed = text.trim();
  const etcd = /^etcd:\/\/([^/]*)(\/.*)?$/i.exec(trimmed);
  if (etcd) {
    const endpoints = entries(etcd[1] ?? "", trimmed).map((e) => baseUrl(e, trimmed));
    return { kind: "etcd", endpoints, prefix: (etcd[2] ?? "").replace(/\/+$/, ""), text: trimmed };
  }
  const urls = entries(trimmed, trimmed).map((e) => baseUrl(e, trimmed));
  return { kind: "urls", urls, text: urls.join(",") };
}

function entries(list: string, text: string): string[] {
  const parts = list.split(",").map((p) => p.trim());
  const empty = parts.findIndex((p) => p === "");
  if (empty >= 0) {
    throw badRequest(
      `Invalid master list "${text}": entry ${empty + 1} is empty; ${USE}`,
    );
  }
  return parts;
}

/** `host:port` gets `http://`; the result has no trailing slash. */
function baseUrl(entry: string, text: string): string {
  const full = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `http://${entry}`;
  let url: URL | undefined;
  try {
    url = new URL(full);
  } catch {
    url = undefined;
  }
  if (
    !url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "" ||
    url.search !== "" || url.hash !== "" || /\s/.test(entry)
  ) {
    const where = entry === text ? "" : ` in "${text}"`;
    throw badRequest(`Invalid master "${entry}"${where}: ${USE}`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * The base URL of the leader a 3xx points at. `Location` is the leader's base URL followed by
 * the path that was asked (`http://m2:5050/api/v1/agent` for `/api/v1/agent`), or the bare base
 * URL (`/master/redirect`); `//host:port/...` keeps the request's scheme.
 */
export function leaderFromLocation(
  location: string,
  request: { base: string; path: string },
): string {
  const target = new URL(location, `${request.base}${request.path}`);
  const asked = new URL(request.path, "http://asked").pathname;
  let path = target.pathname;
  for (const suffix of [asked, "/master/redirect"]) {
    if (suffix !== "/" && path.endsWith(suffix)) {
      path = path.slice(0, -suffix.length);
      break;
    }
  }
  return `${target.origin}${path.replace(/\/+$/, "")}`;
}

/**
 * What one probe of a candidate said: who leads (`named` when a 3xx said so, rather than a
 * master without the route taken at its word), or why it could not say.
 */
type Probe =
  | { leads: true; leader: string; named: boolean }
  | { leads: false; why: string };

/**
 * The masters a client may talk to, and which of them leads. Shared by every call of one
 * process (probes are not repeated while one is under way); safe to use concurrently.
 */
export class Masters {
  readonly spec: MasterSpec;
  readonly #deps: MastersDeps;
  #leader: string | undefined;
  /** The last candidate that failed, asked last at the next probe. */
  #lastFailed: string | undefined;
  #probing: Promise<string> | undefined;

  /** `master` is a `--master` value or its parsed spec. Throws on an etcd spec without reader. */
  constructor(master: string | MasterSpec, deps: MastersDeps = {}) {
    this.spec = typeof master === "string" ? parseMasterSpec(master) : master;
    this.#deps = deps;
    if (this.spec.kind === "etcd" && !deps.etcd) {
      throw badRequest(
        `Cannot follow the masters of "${this.spec.text}": reading the leader from etcd is not ` +
          `supported yet; list the masters instead (http://m1:5050,http://m2:5050)`,
      );
    }
  }

  /** A `Masters` as is, or one built from a `--master` value. */
  static from(master: string | Masters, deps: MastersDeps = {}): Masters {
    return master instanceof Masters ? master : new Masters(master, deps);
  }

  /** The spec as written (for logs and state pages). */
  get text(): string {
    return this.spec.text;
  }

  /** The candidates' base URLs (none for an etcd spec). */
  get candidates(): readonly string[] {
    return this.spec.kind === "urls" ? this.spec.urls : [];
  }

  /** The last known leader, if any. */
  get leader(): string | undefined {
    return this.#leader;
  }

  /** The leader, else the first candidate, else the spec: where requests go next, for messages. */
  get current(): string {
    return this.#leader ?? this.candidates[0] ?? this.spec.text;
  }

  /**
   * The leader's base URL: the last known one, else what the candidates (or etcd) say. A single
   * candidate is asked too: a standby answers reads such as `/master/state` itself. Throws an
   * `unavailable` TenderError saying what each candidate answered when none leads.
   */
  resolve(signal?: AbortSignal): Promise<string> {
    if (this.#leader) return Promise.resolve(this.#leader);
    this.#probing ??= this.#find().finally(() => (this.#probing = undefined));
    return signal ? raceAbort(this.#probing, signal) : this.#probing;
  }

  /** Reports the leader a master redirected to (see `leaderFromLocation`). */
  redirected(leader: string): void {
    this.#leader = leader;
  }

  /** Reports that `base` failed (refused, timed out, knows no leader): it is not the leader. */
  failed(base: string): void {
    if (this.#leader === base) this.#leader = undefined;
    this.#lastFailed = base;
  }

  /**
   * Sends `path` to the leader: follows 3xx answers (remembering the leader they name), and when
   * the connection fails moves on to the leader the others name, for GET and HEAD whatever the
   * failure and for other methods only when the connection was refused (the request was not
   * delivered). A 503 (no leader elected yet, still recovering) is returned, the master marked
   * failed so that the next call asks again. Throws the fetch error, or `unavailable` when no
   * master leads.
   */
  async fetch(path: string, init: MasterRequestInit = {}): Promise<Response> {
    const send = this.#deps.fetch ?? fetch;
    const tried = new Set<string>();
    const idempotent = ["GET", "HEAD"].includes((init.method ?? "GET").toUpperCase());
    let base = await this.resolve(init.signal ?? undefined);
    for (let hops = 0;;) {
      let response: Response;
      try {
        response = await send(`${base}${path}`, { ...init, redirect: "manual" });
      } catch (e) {
        if (init.signal?.aborted) throw e;
        this.failed(base);
        tried.add(base);
        if (!idempotent && !refused(e)) throw e;
        const next = await this.resolve(init.signal ?? undefined);
        if (tried.has(next)) throw e;
        base = next;
        continue;
      }
      const location = response.headers.get("Location");
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        if (++hops > MAX_REDIRECTS) {
          throw new TenderError("unavailable", `Too many redirects from ${base}${path}`);
        }
        base = leaderFromLocation(location, { base, path });
        this.redirected(base);
        continue;
      }
      if (response.status === 503) this.failed(base);
      return response;
    }
  }

  /**
   * Resolves with the new leader once `base` (the master the caller streams from) no longer
   * leads. A paused or cut-off leader does not know it was deposed and keeps its streams open;
   * so every `everyMs` (default 5 s) the other candidates (or etcd) are asked, and a leader they
   * name that is not `base` and confirms it leads (its `/master/redirect` names itself) ends the
   * wait and becomes the known leader. Resolves undefined once `signal` aborts; with a single
   * candidate there is nobody to ask, so it only waits for the signal.
   */
  async deposed(
    base: string,
    options: { clock: Clock; signal: AbortSignal; everyMs?: number },
  ): Promise<string | undefined> {
    const { clock, signal } = options;
    const others = this.candidates.filter((c) => c !== base);
    if (this.spec.kind === "urls" && others.length === 0) {
      await new Promise((resolve) => {
        if (signal.aborted) resolve(undefined);
        else signal.addEventListener("abort", resolve, { once: true });
      });
      return undefined;
    }
    while (!signal.aborted) {
      try {
        await clock.sleep(options.everyMs ?? 5000, signal);
      } catch {
        break;
      }
      const leader = await this.#leaderElsewhere(base, others, signal);
      if (leader && !signal.aborted) return (this.#leader = leader);
    }
    return undefined;
  }

  /** A confirmed leader other than `base`, as `others` (or etcd) name it; never throws. */
  async #leaderElsewhere(
    base: string,
    others: readonly string[],
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const deadline = () => AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]);
    if (this.spec.kind === "etcd") {
      const named = await this.#deps.etcd!(this.spec, deadline()).catch(() => undefined);
      try {
        const leader = named === undefined ? undefined : baseUrl(named, named);
        return leader !== base ? leader : undefined;
      } catch {
        return undefined; // not a URL: ask again next time
      }
    }
    const probes = await Promise.all(others.map((o) => this.#probe(o, deadline())));
    const named = new Set(probes.flatMap((p) => p.leads && p.named ? [p.leader] : []));
    named.delete(base);
    for (const leader of named) {
      const probe = await this.#probe(leader, deadline());
      if (probe.leads && probe.named && probe.leader === leader) return leader;
    }
    return undefined;
  }

  get #timeoutMs(): number {
    return this.#deps.probeTimeoutMs ?? 2000;
  }

  async #find(): Promise<string> {
    const timeoutMs = this.#timeoutMs;
    if (this.spec.kind === "etcd") {
      const leader = await this.#deps.etcd!(this.spec, AbortSignal.timeout(timeoutMs));
      if (!leader) {
        throw new TenderError("unavailable", `No leading master elected yet (${this.spec.text})`);
      }
      return (this.#leader = baseUrl(leader, leader));
    }
    const ordered = [
      ...this.spec.urls.filter((u) => u !== this.#lastFailed),
      ...this.spec.urls.filter((u) => u === this.#lastFailed),
    ];
    const done = new AbortController();
    const answers: string[] = [];
    try {
      const leader = await new Promise<string | undefined>((resolve) => {
        let pending = ordered.length;
        for (const base of ordered) {
          this.#probe(base, AbortSignal.any([done.signal, AbortSignal.timeout(timeoutMs)]))
            .then((probe) => {
              if (probe.leads) resolve(probe.leader);
              else answers.push(`${base} ${probe.why}`);
              if (--pending === 0) resolve(undefined);
            });
        }
      });
      if (!leader) {
        throw new TenderError(
          "unavailable",
          `No leading master among ${ordered.join(", ")}: ${answers.join("; ")}`,
        );
      }
      return (this.#leader = leader);
    } finally {
      done.abort();
    }
  }

  /** Asks one candidate who leads; never throws. */
  async #probe(base: string, signal: AbortSignal): Promise<Probe> {
    const path = "/master/redirect";
    try {
      const response = await (this.#deps.fetch ?? fetch)(`${base}${path}`, {
        redirect: "manual",
        signal,
      });
      if (response.status === 503) {
        const text = await response.text().catch(() => "");
        return { leads: false, why: `answered "${messageOf(text)}" (503)` };
      }
      await response.body?.cancel();
      const location = response.headers.get("Location");
      if (response.status >= 300 && response.status < 400 && location) {
        return { leads: true, leader: leaderFromLocation(location, { base, path }), named: true };
      }
      // A master that answers but redirects nowhere (one without the route) is taken at its word.
      return { leads: true, leader: base, named: false };
    } catch (e) {
      return {
        leads: false,
        why: signal.aborted ? "did not answer in time" : `failed: ${errorText(e)}`,
      };
    }
  }
}

/** Whether a fetch failed before the request reached anyone (so it may go elsewhere). */
function refused(e: unknown): boolean {
  for (let cause = e, i = 0; cause instanceof Error && i < 5; cause = cause.cause, i++) {
    if (/connection refused|ECONNREFUSED|os error 111/i.test(cause.message)) return true;
  }
  return false;
}

function messageOf(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null && "message" in body) return String(body.message);
  } catch { /* plain text */ }
  return text.trim().slice(0, 200) || "unavailable";
}

function errorText(e: unknown): string {
  let text = String(e);
  for (let cause = e, i = 0; cause instanceof Error && i < 5; cause = cause.cause, i++) {
    text = cause.message;
  }
  return text;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
